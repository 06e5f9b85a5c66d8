// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Test} from "./utils/Test.sol";
import {vm} from "./utils/Vm.sol";
import {CreditPool} from "../src/CreditPool.sol";
import {TestToken} from "../src/TestToken.sol";
import {ProtocolConstants} from "../src/generated/ProtocolConstants.sol";
import {MeteredDefaults} from "./utils/MeteredDefaults.sol";

/// @notice Drives CreditPool with random credit purchases and flat and metered account openings (one tree) and
/// records ghost state.
contract CreditPoolHandler {
    uint256 internal constant P = ProtocolConstants.FIELD_MODULUS;

    CreditPool public immutable pool;
    TestToken public immutable token;
    uint256 public immutable price;

    uint256 public ghostLeaves;
    uint256 public ghostPaid;
    uint256[] public roots; // every root ever current, oldest first (index 0 = empty-tree root)

    constructor(CreditPool pool_, TestToken token_) {
        pool = pool_;
        token = token_;
        price = pool_.pricePerCredit();
        roots.push(pool_.currentRoot());
        token_.approve(address(pool_), type(uint256).max);
    }

    function buy(uint256 seed, uint256 size) external {
        uint256 n = 1 + (size % 24);
        uint256[] memory c = new uint256[](n);
        for (uint256 i; i < n; ++i) c[i] = uint256(keccak256(abi.encode(seed, ghostLeaves, i))) % (P - 1) + 1;
        token.mint(address(this), n * price);
        (uint256 start, uint256 root) = pool.buy(c, type(uint256).max);
        require(start == ghostLeaves, "start index");
        ghostLeaves += n;
        ghostPaid += n * price;
        roots.push(root);
    }

    function openAccounts(uint256 seed, uint256 size, uint256 tickets) external {
        uint256 n = 1 + (size % 4);
        uint256[] memory ids = new uint256[](n);
        uint256[] memory counts = new uint256[](n);
        uint256 total;
        for (uint256 i; i < n; ++i) {
            // ghostLeaves + i makes every id fresh
            ids[i] = uint256(keccak256(abi.encode("account", seed, ghostLeaves, i))) % (P - 1) + 1;
            counts[i] = 1 + (uint256(keccak256(abi.encode(tickets, i))) % ProtocolConstants.MAX_TICKETS);
            total += counts[i];
        }
        uint256 cost = total * pool.pricePerTicket();
        token.mint(address(this), cost);
        (uint256 start, uint256 root) = n == 1
            ? pool.openFlat(ids[0], counts[0], cost)
            : pool.openFlatBatch(ids, counts, cost);
        require(start == ghostLeaves, "start index");
        ghostLeaves += n;
        ghostPaid += cost;
        roots.push(root);
    }

    function openMetered(uint256 seed, uint256 dLane, uint256 lanesLog2, uint256 sLane) external {
        uint256 id = uint256(keccak256(abi.encode("metered", seed, ghostLeaves))) % (P - 1) + 1;
        dLane = pool.cMax() + (dLane % (1 << 39));
        lanesLog2 %= 4;
        sLane = 1 + (sLane % (1 << 39));
        uint256 cost = pool.meteredPrice(dLane, lanesLog2, sLane);
        token.mint(address(this), cost);
        uint256 start = pool.openMetered(id, dLane, lanesLog2, sLane, cost);
        require(start == ghostLeaves, "start index");
        ghostLeaves += 1;
        ghostPaid += cost;
        roots.push(pool.currentRoot());
    }

    function rootCount() external view returns (uint256) {
        return roots.length;
    }
}

contract CreditPoolInvariantTest is Test {
    CreditPool internal pool;
    TestToken internal token;
    CreditPoolHandler internal handler;

    function setUp() public {
        token = new TestToken();
        pool = new CreditPool(token, 1_000, 100, 30, address(this), address(0x7EA5), MeteredDefaults.params());
        handler = new CreditPoolHandler(pool, token);
        targetContract(address(handler));
    }

    function invariant_leafCountEqualsSumOfBatches() public view {
        assertEq(pool.nextIndex(), handler.ghostLeaves(), "nextIndex == sum of batch sizes (credits and accounts)");
        assertEq(token.balanceOf(address(pool)), handler.ghostPaid(), "balance == sum of payments");
    }

    function invariant_currentRootIsLatest() public view {
        assertEq(pool.currentRoot(), handler.roots(handler.rootCount() - 1), "current root");
    }

    function invariant_ringHoldsLast64RootsOnly() public view {
        uint256 count = handler.rootCount();
        uint256 history = ProtocolConstants.ROOT_HISTORY_SIZE;
        for (uint256 i; i < count; ++i) {
            bool recent = i + history >= count;
            assertTrue(pool.isKnownRoot(handler.roots(i)) == recent, "known iff among the last 64 roots");
        }
    }
}
