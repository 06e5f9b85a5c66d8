// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Poseidon2} from "../../src/generated/Poseidon2.sol";

/// @notice Reference tree: stores every leaf and recomputes the root from scratch by the definition
/// (pairs hashed level by level, a missing right child is the zero hash of its level). Leaves are added
/// one at a time. Slow on purpose; only for differential tests.
contract NaiveTree {
    uint256 public immutable depth;
    uint256[] public leaves;

    constructor(uint256 depth_) {
        depth = depth_;
    }

    function add(uint256 leaf) external {
        leaves.push(leaf);
    }

    function count() external view returns (uint256) {
        return leaves.length;
    }

    function root() external view returns (uint256) {
        uint256[] memory level = leaves;
        uint256 zero; // Z_0 = 0
        for (uint256 l; l < depth; ++l) {
            uint256 m = (level.length + 1) / 2;
            if (m == 0) m = 1; // empty level: one empty node
            uint256[] memory next = new uint256[](m);
            for (uint256 j; j < m; ++j) {
                uint256 left = 2 * j < level.length ? level[2 * j] : zero;
                uint256 right = 2 * j + 1 < level.length ? level[2 * j + 1] : zero;
                next[j] = Poseidon2.hashNode(left, right);
            }
            level = next;
            zero = Poseidon2.hashNode(zero, zero);
        }
        return level[0];
    }
}
