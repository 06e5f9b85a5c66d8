// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title TestToken
/// @notice USDC-like ERC-20 (6 decimals) with ERC-2612 permit for local chains and tests.
/// @dev FOR LOCAL CHAINS ONLY: `mint` is open to everyone. Never use it as a real payment token.
contract TestToken is ERC20, ERC20Permit {
    constructor() ERC20("zkcredits Test USD", "tUSD") ERC20Permit("zkcredits Test USD") {}

    /// @notice 6 decimals, like USDC on Base.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints `amount` to `to`; anyone may call it (faucet for local chains).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
