// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {BatchIncrementalMerkleTree} from "../../src/BatchIncrementalMerkleTree.sol";

/// @notice BatchIncrementalMerkleTree of any depth (small depths make `TreeFull` reachable in tests).
contract TreeHarness is BatchIncrementalMerkleTree {
    constructor(uint256 depth_) BatchIncrementalMerkleTree(depth_) {}

    function insert(uint256[] calldata leaves) external returns (uint256 startIndex, uint256 newRoot) {
        return _insertBatch(leaves);
    }

    function root() external view returns (uint256) {
        return _currentRoot();
    }

    function leafCount() external view returns (uint256) {
        return _leafCount();
    }

    function isKnownRoot(uint256 r) external view returns (bool) {
        return _isKnownRoot(r);
    }
}
