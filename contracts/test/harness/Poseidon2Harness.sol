// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Poseidon2} from "../../src/generated/Poseidon2.sol";

/// @notice Exposes the Poseidon2 library for tests and for the gas benchmark (bench/gas.ts).
contract Poseidon2Harness {
    function hashNode(uint256 left, uint256 right) external pure returns (uint256) {
        return Poseidon2.hashNode(left, right);
    }

    /// @notice Same calldata and return shape as `hashNode` without hashing: the benchmark baseline.
    function baseline(uint256 left, uint256 right) external pure returns (uint256) {
        return left ^ right;
    }

    function hashLeaf(uint256 nullifier, uint256 secret) external pure returns (uint256) {
        return Poseidon2.hashLeaf(nullifier, secret);
    }

    function hashNullifier(uint256 nullifier) external pure returns (uint256) {
        return Poseidon2.hashNullifier(nullifier);
    }

    function hashAccountFlat(uint256 id, uint256 tickets, uint256 expiryDay) external pure returns (uint256) {
        return Poseidon2.hashAccountFlat(id, tickets, expiryDay);
    }

    function hashAccountId(uint256 k) external pure returns (uint256) {
        return Poseidon2.hashAccountId(k);
    }

    function hashTicketNullifier(uint256 slope) external pure returns (uint256) {
        return Poseidon2.hashTicketNullifier(slope);
    }

    function hash3(uint256 a, uint256 b, uint256 c) external pure returns (uint256) {
        return Poseidon2.hash3(a, b, c);
    }

    function hash(uint256[] calldata inputs) external pure returns (uint256) {
        return Poseidon2.hash(inputs);
    }

    function permutation(uint256[4] calldata state) external pure returns (uint256[4] memory) {
        return Poseidon2.permutation(state);
    }
}
