// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title PlainToken
/// @notice 18-decimal ERC-20 without ERC-2612 permit and with an open mint: the deploy command's tests pay
/// with it to cover tokens that are not USDC-like. Tests only.
contract PlainToken is ERC20 {
    constructor() ERC20("Plain Test Token", "PLAIN") {}

    /// @notice Mints `amount` to `to`; anyone may call it.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
