// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Vm, vm} from "./Vm.sol";

/// @notice Minimal test base: assertions that revert with a readable reason, a fuzz `bound`, and the
/// `targetContracts` hook forge reads for invariant tests.
abstract contract Test {
    error AssertionFailed(string message, uint256 left, uint256 right);
    error AssertionFailedAddress(string message, address left, address right);

    bool public constant IS_TEST = true;

    address[] private _targets;

    function assertEq(uint256 a, uint256 b, string memory message) internal pure {
        if (a != b) revert AssertionFailed(message, a, b);
    }

    function assertEq(address a, address b, string memory message) internal pure {
        if (a != b) revert AssertionFailedAddress(message, a, b);
    }

    function assertTrue(bool condition, string memory message) internal pure {
        if (!condition) revert AssertionFailed(message, 0, 1);
    }

    function assertLe(uint256 a, uint256 b, string memory message) internal pure {
        if (a > b) revert AssertionFailed(message, a, b);
    }

    /// @dev Maps `x` uniformly-ish into [min, max] (min <= max).
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        return min + (x % (max - min + 1));
    }

    function targetContract(address target) internal {
        _targets.push(target);
    }

    /// @dev Read by forge's invariant runner.
    function targetContracts() public view returns (address[] memory) {
        return _targets;
    }

    function readVectors() internal view returns (string memory) {
        return vm.readFile(string.concat(vm.projectRoot(), "/protocol/test-vectors.json"));
    }

    function key(string memory prefix, uint256 i, string memory suffix) internal pure returns (string memory) {
        return string.concat(prefix, "[", vm.toString(i), "]", suffix);
    }
}
