// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {ICreditPool} from "../../src/ICreditPool.sol";

/// @notice Metered-account constructor constants for tests that do not exercise them: the dev defaults of
/// `npm start` (price unit 1 = micro-tUSD for the 6-decimal TestToken, cMax 50,000, delay 1 day, grace 7 days)
/// and the Grumpkin generator `G = (1, GY)` as state key (secret 1: a valid point, never a real key).
library MeteredDefaults {
    uint256 internal constant PRICE_UNIT = 1;
    uint256 internal constant C_MAX = 50_000;
    uint256 internal constant GX = 1;
    uint256 internal constant GY = 17631683881184975370165255887551781615748388533673675138860;
    uint256 internal constant DELAY = 1 days;
    uint256 internal constant GRACE = 7 days;

    function params() internal pure returns (ICreditPool.MeteredParams memory) {
        return ICreditPool.MeteredParams(PRICE_UNIT, C_MAX, GX, GY, DELAY, GRACE);
    }
}
