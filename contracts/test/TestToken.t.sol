// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Test} from "./utils/Test.sol";
import {vm} from "./utils/Vm.sol";
import {TestToken} from "../src/TestToken.sol";

contract TestTokenTest is Test {
    TestToken internal token;

    function setUp() public {
        token = new TestToken();
    }

    function test_metadata_isUsdcLike() public view {
        assertEq(token.decimals(), 6, "decimals");
        assertTrue(keccak256(bytes(token.symbol())) == keccak256("tUSD"), "symbol");
    }

    function test_mint_isOpenToAnyone() public {
        vm.prank(address(0x1234));
        token.mint(address(0x5678), 42);
        assertEq(token.balanceOf(address(0x5678)), 42, "minted");
        assertEq(token.totalSupply(), 42, "supply");
    }
}
