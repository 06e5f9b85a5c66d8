// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Test} from "./utils/Test.sol";
import {Vm, vm} from "./utils/Vm.sol";
import {FeeOnTransferToken, ReentrantToken} from "./utils/MaliciousTokens.sol";
import {NaiveTree} from "./utils/NaiveTree.sol";
import {CreditPool} from "../src/CreditPool.sol";
import {ICreditPool} from "../src/ICreditPool.sol";
import {TestToken} from "../src/TestToken.sol";
import {Poseidon2} from "../src/generated/Poseidon2.sol";
import {ProtocolConstants} from "../src/generated/ProtocolConstants.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {MeteredDefaults} from "./utils/MeteredDefaults.sol";

/// @notice v2 flat accounts in CreditPool: opening (single, batch, permit) with the leaf computed on-chain,
/// and `slash` with real RLN shares from protocol/v2-vectors.json (written by scripts/gen-v2-vectors.ts with
/// the TypeScript core, the same hashes the ticket circuit proves).
contract AccountsTest is Test {
    uint256 internal constant P = ProtocolConstants.FIELD_MODULUS;
    uint256 internal constant PRICE = 10_000; // per v1 credit
    uint256 internal constant TICKET_PRICE = 2_000; // per v2 ticket (one call)
    uint256 internal constant TTL = 30;
    uint256 internal constant START = 1_764_547_200; // 2025-12-01T00:00:00Z, day 20423
    uint8 internal constant ACTIVE = 1;
    uint8 internal constant SLASHED = 2;
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    TestToken internal token;
    CreditPool internal pool;
    address internal owner = address(0xA11CE);
    address internal treasury = address(0x7EA5);
    address internal payer = address(0xB0B);
    address internal reporter = address(0x5EE);
    string internal vectors;

    function setUp() public {
        vm.warp(START);
        token = new TestToken();
        pool = new CreditPool(token, PRICE, TICKET_PRICE, TTL, owner, treasury, MeteredDefaults.params());
        token.mint(payer, 1_000_000_000 * TICKET_PRICE);
        vm.prank(payer);
        token.approve(address(pool), type(uint256).max);
        vectors = vm.readFile(string.concat(vm.projectRoot(), "/protocol/v2-vectors.json"));
    }

    // ------------------------------------------------------------------ helpers

    /// @dev The leaf by the generic sponge (checked against bb.js for lengths 0..8 in Poseidon2.t.sol).
    function _leaf(uint256 id, uint256 tickets, uint256 expiryDay) internal pure returns (uint256) {
        uint256[] memory inputs = new uint256[](4);
        (inputs[0], inputs[1], inputs[2], inputs[3]) = (ProtocolConstants.TAG_ACCOUNT_F, id, tickets, expiryDay);
        return Poseidon2.hash(inputs);
    }

    function _id(uint256 seed) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode("id", seed))) % (P - 1) + 1;
    }

    function _ids(uint256 seed, uint256 n) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](n);
        for (uint256 i; i < n; ++i) ids[i] = _id(seed * 1_000_000 + i);
    }

    function _counts(uint256 n, uint256 each) internal pure returns (uint256[] memory c) {
        c = new uint256[](n);
        for (uint256 i; i < n; ++i) c[i] = each + i;
    }

    function _one(uint256 v) internal pure returns (uint256[] memory a) {
        a = new uint256[](1);
        a[0] = v;
    }

    function _open(uint256 id, uint256 tickets) internal returns (uint256 leafIndex) {
        vm.prank(payer);
        (leafIndex,) = pool.openFlat(id, tickets, type(uint256).max);
    }

    /// @dev The slot of an active flat account.
    function _assertFlatSlot(uint256 id, uint256 leafIndex, uint256 tickets, uint256 expiryDay) internal view {
        (uint32 idx, uint16 n, uint32 expiry, uint8 status, uint8 kind) = pool.accounts(id);
        assertEq(idx, leafIndex, "leaf index");
        assertEq(n, tickets, "tickets");
        assertEq(expiry, expiryDay, "expiry");
        assertEq(status, ACTIVE, "active");
        assertEq(kind, 1, "kind flat");
    }

    function _permit(uint256 key_, uint256 value, uint256 deadline) internal view returns (uint8 v, bytes32 r, bytes32 s) {
        address holder = vm.addr(key_);
        bytes32 structHash =
            keccak256(abi.encode(PERMIT_TYPEHASH, holder, address(pool), value, token.nonces(holder), deadline));
        return vm.sign(key_, keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash)));
    }

    function _u(string memory path) internal view returns (uint256) {
        return vm.parseJsonUint(vectors, path);
    }

    /// @dev Slash vector `i`: (nf, x1, y1, x2, y2), and the account (id, tickets, expiryDay) it belongs to.
    function _evidence(uint256 i) internal view returns (uint256 nf, uint256 x1, uint256 y1, uint256 x2, uint256 y2) {
        nf = _u(key(".slash", i, ".nullifier"));
        x1 = _u(key(".slash", i, ".x1"));
        y1 = _u(key(".slash", i, ".y1"));
        x2 = _u(key(".slash", i, ".x2"));
        y2 = _u(key(".slash", i, ".y2"));
    }

    /// @dev Opens slash vector `i`'s account on a day chosen so that the on-chain expiry is the vector's.
    function _openVectorAccount(uint256 i) internal returns (uint256 id) {
        id = _u(key(".slash", i, ".id"));
        vm.warp((_u(key(".slash", i, ".expiryDay")) - TTL) * 1 days + 12 hours);
        _open(id, _u(key(".slash", i, ".tickets")));
    }

    // ------------------------------------------------------------------ configuration

    function test_constructor_setsTicketPriceAndTtl() public {
        assertEq(pool.pricePerTicket(), TICKET_PRICE, "ticket price");
        assertEq(pool.ttlDays(), TTL, "ttl");
        assertEq(pool.currentDay(), START / 86400, "day");
        vm.warp(START + 86399);
        assertEq(pool.currentDay(), START / 86400, "same UTC day");
        vm.warp(START + 86400);
        assertEq(pool.currentDay(), START / 86400 + 1, "next UTC day");

        vm.recordLogs();
        CreditPool other = new CreditPool(token, PRICE, 7, ProtocolConstants.MAX_TTL_DAYS, owner, treasury, MeteredDefaults.params());
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(other.ttlDays(), ProtocolConstants.MAX_TTL_DAYS, "longest ttl accepted");
        bool seen;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == ICreditPool.TicketPriceUpdated.selector) {
                assertTrue(keccak256(logs[i].data) == keccak256(abi.encode(uint256(0), uint256(7))), "TicketPriceUpdated(0, 7)");
                seen = true;
            }
        }
        assertTrue(seen, "constructor emits TicketPriceUpdated");
    }

    function test_setPricePerTicket_emitsAndApplies() public {
        vm.expectEmit(true, true, true, true, address(pool));
        emit ICreditPool.TicketPriceUpdated(TICKET_PRICE, 3 * TICKET_PRICE);
        vm.prank(owner);
        pool.setPricePerTicket(3 * TICKET_PRICE);
        assertEq(pool.pricePerTicket(), 3 * TICKET_PRICE, "price");
        assertEq(pool.pricePerCredit(), PRICE, "credit price untouched");
        uint256 before = token.balanceOf(payer);
        _open(_id(1), 10);
        assertEq(before - token.balanceOf(payer), 30 * TICKET_PRICE, "new price charged");
    }

    function test_RevertWhen_setPricePerTicketByNonOwnerOrZero() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, payer));
        vm.prank(payer);
        pool.setPricePerTicket(1);
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.InvalidPrice.selector, 0));
        vm.prank(owner);
        pool.setPricePerTicket(0);
    }

    // ------------------------------------------------------------------ openFlat

    function test_openFlat_insertsLeafComputedOnChainAndPulls() public {
        uint256 id = _id(2);
        uint256 expiry = START / 86400 + TTL;
        uint256 leaf = _leaf(id, 100, expiry);
        NaiveTree naive = new NaiveTree(ProtocolConstants.TREE_DEPTH);
        naive.add(leaf);
        uint256 root = naive.root();
        uint256 before = token.balanceOf(payer);

        vm.expectEmit(true, true, true, true, address(pool));
        emit ICreditPool.AccountOpened(id, payer, 0, 100, expiry, leaf, root, 100 * TICKET_PRICE);
        vm.prank(payer);
        (uint256 leafIndex, uint256 newRoot) = pool.openFlat(id, 100, 100 * TICKET_PRICE);

        assertEq(leafIndex, 0, "leaf index");
        assertEq(newRoot, root, "root (naive reference tree)");
        assertEq(pool.currentRoot(), root, "current root");
        assertTrue(pool.isKnownRoot(root), "root in the ring");
        assertEq(pool.nextIndex(), 1, "one leaf");
        assertEq(leaf, Poseidon2.hashAccountFlat(id, 100, expiry), "generated helper == sponge");
        (uint32 idx, uint16 tickets, uint32 expiryDay, uint8 status, uint8 kind) = pool.accounts(id);
        assertEq(idx, 0, "slot leaf index");
        assertEq(tickets, 100, "slot tickets");
        assertEq(expiryDay, expiry, "slot expiry = day + ttl");
        assertEq(status, ACTIVE, "slot status");
        assertEq(kind, 1, "slot kind flat");
        assertEq(before - token.balanceOf(payer), 100 * TICKET_PRICE, "payer paid N * price");
        assertEq(token.balanceOf(address(pool)), 100 * TICKET_PRICE, "pool received");
    }

    /// The leaf is a function of (id, the tickets paid for, the day of opening) only: the payer, its
    /// ceiling and anything else it could claim do not enter it, and it equals the TypeScript core's leaf.
    function test_openFlat_leafEqualsTypeScriptVectors() public {
        for (uint256 i; i < 3; ++i) {
            uint256 id = _u(key(".accounts", i, ".id"));
            uint256 tickets = _u(key(".accounts", i, ".tickets"));
            uint256 expiry = _u(key(".accounts", i, ".expiryDay"));
            uint256 leaf = _u(key(".accounts", i, ".leaf"));
            assertEq(Poseidon2.hashAccountId(_u(key(".accounts", i, ".k"))), id, "id = H(TAG_ID, k) (TS)");
            assertEq(_leaf(id, tickets, expiry), leaf, "sponge leaf (TS)");
            assertEq(Poseidon2.hashAccountFlat(id, tickets, expiry), leaf, "generated leaf (TS)");

            vm.warp((expiry - TTL) * 1 days + 3600 * i);
            address someone = address(uint160(0xA000 + i));
            token.mint(someone, tickets * TICKET_PRICE);
            vm.startPrank(someone);
            token.approve(address(pool), type(uint256).max);
            vm.recordLogs();
            pool.openFlat(id, tickets, type(uint256).max);
            vm.stopPrank();
            Vm.Log[] memory logs = vm.getRecordedLogs();
            Vm.Log memory opened = logs[logs.length - 1];
            assertTrue(opened.topics[0] == ICreditPool.AccountOpened.selector, "AccountOpened last");
            (, , uint256 expiryDay, uint256 onChainLeaf,,) =
                abi.decode(opened.data, (uint256, uint256, uint256, uint256, uint256, uint256));
            assertEq(expiryDay, expiry, "expiry");
            assertEq(onChainLeaf, leaf, "on-chain leaf == TypeScript leaf");
        }
    }

    function testFuzz_openFlat_leafIsHashOfPaidTerms(uint256 id, uint256 tickets, uint256 time) public {
        id = bound(id, 1, P - 1);
        tickets = bound(tickets, 1, ProtocolConstants.MAX_TICKETS);
        time = bound(time, 0, 4_000_000_000);
        vm.warp(time);
        vm.recordLogs();
        _open(id, tickets);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        Vm.Log memory opened = logs[logs.length - 1];
        (, uint256 n, uint256 expiryDay, uint256 leaf,, uint256 amountPaid) =
            abi.decode(opened.data, (uint256, uint256, uint256, uint256, uint256, uint256));
        assertEq(uint256(opened.topics[1]), id, "id topic");
        assertEq(n, tickets, "tickets");
        assertEq(expiryDay, time / 86400 + TTL, "expiry");
        assertEq(leaf, _leaf(id, tickets, time / 86400 + TTL), "leaf");
        assertEq(amountPaid, tickets * TICKET_PRICE, "paid");
    }

    function test_openFlat_expiryIsTodayPlusTtl() public {
        vm.warp(START + 5 days + 23 hours);
        _open(_id(3), 1);
        (,, uint32 expiryDay,,) = pool.accounts(_id(3));
        assertEq(expiryDay, START / 86400 + 5 + TTL, "day of the block + ttl");
    }

    function test_openFlat_acceptsLimits() public {
        _open(1, ProtocolConstants.MAX_TICKETS);
        _open(P - 1, 1);
        (, uint16 tickets,,,) = pool.accounts(1);
        assertEq(tickets, ProtocolConstants.MAX_TICKETS, "MAX_TICKETS fits the slot");
        (uint32 idx,,, uint8 status,) = pool.accounts(P - 1);
        assertEq(idx, 1, "second leaf");
        assertEq(status, ACTIVE, "largest canonical id");
    }

    function test_openFlat_sharesTreeWithCredits() public {
        NaiveTree naive = new NaiveTree(ProtocolConstants.TREE_DEPTH);
        uint256[] memory c = new uint256[](2);
        (c[0], c[1]) = (11, 12);
        vm.prank(payer);
        pool.buy(c, type(uint256).max);
        naive.add(11);
        naive.add(12);
        uint256 leafIndex = _open(_id(4), 5);
        naive.add(_leaf(_id(4), 5, START / 86400 + TTL));
        assertEq(leafIndex, 2, "after the credits");
        assertEq(pool.currentRoot(), naive.root(), "one tree");
        vm.prank(payer);
        (uint256 start,) = pool.buy(c, type(uint256).max);
        assertEq(start, 3, "credits after the account");
    }

    function test_RevertWhen_accountExists() public {
        uint256 id = _id(5);
        _open(id, 3);
        uint256 root = pool.currentRoot();
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.AccountExists.selector, id));
        vm.prank(payer);
        pool.openFlat(id, 7, type(uint256).max);
        (, uint16 tickets,,,) = pool.accounts(id);
        assertEq(tickets, 3, "first opening kept");
        assertEq(pool.currentRoot(), root, "nothing inserted");
    }

    function test_RevertWhen_idRepeatedWithinBatch() public {
        uint256[] memory ids = _ids(6, 4);
        ids[3] = ids[1];
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.AccountExists.selector, ids[1]));
        vm.prank(payer);
        pool.openFlatBatch(ids, _counts(4, 1), type(uint256).max);
        (,,, uint8 status,) = pool.accounts(ids[0]);
        assertEq(status, 0, "batch rolled back");
    }

    function test_RevertWhen_idZeroOrNotCanonical() public {
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.InvalidAccountId.selector, 0, 0));
        vm.prank(payer);
        pool.openFlat(0, 1, type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.InvalidAccountId.selector, 0, P));
        vm.prank(payer);
        pool.openFlat(P, 1, type(uint256).max);
        uint256[] memory ids = _ids(7, 3);
        ids[2] = type(uint256).max;
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.InvalidAccountId.selector, 2, type(uint256).max));
        vm.prank(payer);
        pool.openFlatBatch(ids, _counts(3, 1), type(uint256).max);
    }

    function testFuzz_RevertWhen_idNotCanonical(uint256 id) public {
        id = bound(id, P, type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.InvalidAccountId.selector, 0, id));
        vm.prank(payer);
        pool.openFlat(id, 1, type(uint256).max);
    }

    function test_RevertWhen_ticketCountOutOfRange() public {
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.InvalidTicketCount.selector, 0, 0));
        vm.prank(payer);
        pool.openFlat(_id(8), 0, type(uint256).max);
        uint256 over = ProtocolConstants.MAX_TICKETS + 1;
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.InvalidTicketCount.selector, 0, over));
        vm.prank(payer);
        pool.openFlat(_id(8), over, type(uint256).max);
        uint256[] memory counts = _counts(3, 1);
        counts[1] = 1 << 16;
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.InvalidTicketCount.selector, 1, 1 << 16));
        vm.prank(payer);
        pool.openFlatBatch(_ids(8, 3), counts, type(uint256).max);
    }

    function test_RevertWhen_batchEmptyTooLargeOrMismatched() public {
        vm.expectRevert(ICreditPool.EmptyBatch.selector);
        vm.prank(payer);
        pool.openFlatBatch(new uint256[](0), new uint256[](0), type(uint256).max);
        uint256 n = ProtocolConstants.MAX_BATCH + 1;
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.BatchTooLarge.selector, n, ProtocolConstants.MAX_BATCH));
        vm.prank(payer);
        pool.openFlatBatch(new uint256[](n), new uint256[](n), type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.LengthMismatch.selector, 2, 3));
        vm.prank(payer);
        pool.openFlatBatch(_ids(9, 2), _counts(3, 1), type(uint256).max);
    }

    function test_RevertWhen_ticketPriceRaisedAboveMaxTotal() public {
        vm.prank(owner);
        pool.setPricePerTicket(2 * TICKET_PRICE);
        uint256 before = token.balanceOf(payer);
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.PriceAboveMax.selector, 200 * TICKET_PRICE, 100 * TICKET_PRICE));
        vm.prank(payer);
        pool.openFlat(_id(10), 100, 100 * TICKET_PRICE);
        assertEq(token.balanceOf(payer), before, "nothing taken");
        assertEq(pool.nextIndex(), 0, "nothing inserted");
    }

    function testFuzz_openFlat_neverTakesMoreThanMaxTotal(uint256 price, uint256 tickets, uint256 maxTotal) public {
        price = bound(price, 1, 1_000 * TICKET_PRICE);
        tickets = bound(tickets, 1, ProtocolConstants.MAX_TICKETS);
        maxTotal = bound(maxTotal, 0, 1_000_000 * TICKET_PRICE);
        vm.prank(owner);
        pool.setPricePerTicket(price);
        token.mint(payer, price * tickets);
        uint256 before = token.balanceOf(payer);
        if (price * tickets > maxTotal) {
            vm.expectRevert(abi.encodeWithSelector(ICreditPool.PriceAboveMax.selector, price * tickets, maxTotal));
        }
        vm.prank(payer);
        pool.openFlat(_id(11), tickets, maxTotal);
        assertLe(before - token.balanceOf(payer), maxTotal, "never above the ceiling");
    }

    function test_RevertWhen_allowanceMissing() public {
        address poor = address(0xBEEF);
        token.mint(poor, 10 * TICKET_PRICE);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(pool), 0, 10 * TICKET_PRICE)
        );
        vm.prank(poor);
        pool.openFlat(_id(12), 10, type(uint256).max);
        (,,, uint8 status,) = pool.accounts(_id(12));
        assertEq(status, 0, "not opened");
    }

    function test_RevertWhen_tokenChargesTransferFee() public {
        FeeOnTransferToken fee = new FeeOnTransferToken();
        CreditPool feePool = new CreditPool(fee, PRICE, TICKET_PRICE, TTL, owner, treasury, MeteredDefaults.params());
        fee.mint(payer, 1_000 * TICKET_PRICE);
        vm.startPrank(payer);
        fee.approve(address(feePool), type(uint256).max);
        vm.expectRevert(
            abi.encodeWithSelector(ICreditPool.PaymentShortfall.selector, 100 * TICKET_PRICE, 100 * TICKET_PRICE * 99 / 100)
        );
        feePool.openFlat(_id(13), 100, type(uint256).max);
        vm.stopPrank();
    }

    function test_RevertWhen_tokenReentersOpenFlat() public {
        ReentrantToken evil = new ReentrantToken();
        CreditPool evilPool = new CreditPool(evil, PRICE, TICKET_PRICE, TTL, owner, treasury, MeteredDefaults.params());
        evil.mint(payer, 1_000 * TICKET_PRICE);
        evil.arm(address(evilPool), abi.encodeCall(ICreditPool.openFlat, (_id(14), 1, type(uint256).max)));
        vm.startPrank(payer);
        evil.approve(address(evilPool), type(uint256).max);
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        evilPool.openFlat(_id(15), 1, type(uint256).max);
        vm.stopPrank();
    }

    // ------------------------------------------------------------------ openFlatBatch

    function test_openFlatBatch_oneInsertionOneRootOneEventPerAccount() public {
        _open(_id(16), 1); // leaf 0, so that the batch starts at an odd index
        uint256[] memory ids = _ids(17, 3);
        uint256[] memory counts = new uint256[](3);
        (counts[0], counts[1], counts[2]) = (5, 1, 65535);
        uint256 expiry = START / 86400 + TTL;
        NaiveTree naive = new NaiveTree(ProtocolConstants.TREE_DEPTH);
        naive.add(_leaf(_id(16), 1, expiry));
        for (uint256 i; i < 3; ++i) naive.add(_leaf(ids[i], counts[i], expiry));
        uint256 root = naive.root();
        uint256 rootsBefore = pool.currentRoot();
        uint256 before = token.balanceOf(payer);

        for (uint256 i; i < 3; ++i) {
            vm.expectEmit(true, true, true, true, address(pool));
            emit ICreditPool.AccountOpened(
                ids[i], payer, 1 + i, counts[i], expiry, _leaf(ids[i], counts[i], expiry), root, counts[i] * TICKET_PRICE
            );
        }
        vm.prank(payer);
        (uint256 start, uint256 newRoot) = pool.openFlatBatch(ids, counts, 65541 * TICKET_PRICE);

        assertEq(start, 1, "start index");
        assertEq(newRoot, root, "root after the whole batch (naive reference)");
        assertTrue(pool.isKnownRoot(rootsBefore) && pool.isKnownRoot(root), "one new root in the ring");
        assertEq(before - token.balanceOf(payer), 65541 * TICKET_PRICE, "paid the sum");
        for (uint256 i; i < 3; ++i) {
            _assertFlatSlot(ids[i], 1 + i, counts[i], expiry);
        }
    }

    function test_openFlatBatch_maxBatch() public {
        uint256 n = ProtocolConstants.MAX_BATCH;
        vm.prank(payer);
        (uint256 start,) = pool.openFlatBatch(_ids(18, n), _counts(n, 1), type(uint256).max);
        assertEq(start, 0, "start");
        assertEq(pool.nextIndex(), n, "count");
    }

    // ------------------------------------------------------------------ openFlatWithPermit

    function test_openFlatWithPermit_withoutPriorApproval() public {
        uint256 key_ = 0xC0FFEE;
        address holder = vm.addr(key_);
        token.mint(holder, 100 * TICKET_PRICE);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _permit(key_, 30 * TICKET_PRICE, deadline);
        vm.prank(holder);
        (uint256 start, uint256 root) =
            pool.openFlatWithPermit(_ids(19, 2), _counts(2, 10), 30 * TICKET_PRICE, deadline, v, r, s);
        assertEq(start, 0, "start");
        assertEq(root, pool.currentRoot(), "root");
        assertEq(token.balanceOf(holder), 79 * TICKET_PRICE, "paid 10 + 11 tickets");
        assertEq(token.allowance(holder, address(pool)), 9 * TICKET_PRICE, "the rest of the permit");
        assertEq(token.nonces(holder), 1, "nonce used");
    }

    function test_openFlatWithPermit_succeedsWhenPermitFrontRun() public {
        uint256 key_ = 0xC0FFEE;
        address holder = vm.addr(key_);
        token.mint(holder, 100 * TICKET_PRICE);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _permit(key_, 5 * TICKET_PRICE, deadline);
        token.permit(holder, address(pool), 5 * TICKET_PRICE, deadline, v, r, s);
        vm.prank(holder);
        pool.openFlatWithPermit(_one(_id(20)), _one(5), 5 * TICKET_PRICE, deadline, v, r, s);
        assertEq(token.balanceOf(holder), 95 * TICKET_PRICE, "paid");
    }

    function test_RevertWhen_permitOpenPriceRaisedAboveMaxTotal() public {
        uint256 key_ = 0xC0FFEE;
        address holder = vm.addr(key_);
        token.mint(holder, 100 * TICKET_PRICE);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _permit(key_, 5 * TICKET_PRICE, deadline);
        vm.prank(owner);
        pool.setPricePerTicket(TICKET_PRICE + 1);
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.PriceAboveMax.selector, 5 * TICKET_PRICE + 5, 5 * TICKET_PRICE));
        vm.prank(holder);
        pool.openFlatWithPermit(_one(_id(21)), _one(5), 5 * TICKET_PRICE, deadline, v, r, s);
        assertEq(token.balanceOf(holder), 100 * TICKET_PRICE, "nothing taken");
    }

    // ------------------------------------------------------------------ slash

    function test_slash_withSharesFromTypeScript() public {
        for (uint256 i; i < 3; ++i) _slashVector(i);
    }

    function _slashVector(uint256 i) internal {
        uint256 id = _openVectorAccount(i);
        uint256 poolBalance = token.balanceOf(address(pool));
        uint256 reporterEth = reporter.balance;
        {
            (uint256 nf, uint256 x1, uint256 y1, uint256 x2, uint256 y2) = _evidence(i);
            vm.expectEmit(true, true, true, true, address(pool));
            emit ICreditPool.AccountSlashed(id, nf, reporter);
            vm.prank(reporter);
            assertEq(pool.slash(nf, x1, y1, x2, y2), id, "returns the account");
        }
        {
            (uint32 idx, uint16 tickets,, uint8 status,) = pool.accounts(id);
            assertEq(status, SLASHED, "slashed");
            assertEq(tickets, _u(key(".slash", i, ".tickets")), "terms kept");
            assertEq(idx, i, "leaf kept");
        }
        assertEq(token.balanceOf(reporter), 0, "no tokens to the reporter");
        assertEq(reporter.balance, reporterEth, "no ether to the reporter");
        assertEq(address(pool).balance, 0, "no ether in the pool");
        assertEq(token.balanceOf(address(pool)), poolBalance, "pool keeps the payment");
    }

    function test_slash_byTheOwnerGainsNothing() public {
        uint256 id = _openVectorAccount(0);
        (uint256 nf, uint256 x1, uint256 y1, uint256 x2, uint256 y2) = _evidence(0);
        uint256 before = token.balanceOf(payer);
        vm.prank(payer); // the account's own payer front-runs its slash
        pool.slash(nf, x2, y2, x1, y1); // shares in either order
        assertEq(token.balanceOf(payer), before, "no refund, no bounty");
        (,,, uint8 status,) = pool.accounts(id);
        assertEq(status, SLASHED, "slashed all the same");
    }

    function test_slash_recoversSecretOfVector() public view {
        // The same recovery in Solidity as in TypeScript: k from two shares hashes to the account id.
        (uint256 nf, uint256 x1, uint256 y1, uint256 x2, uint256 y2) = _evidence(2);
        uint256 k = _u(key(".slash", 2, ".k"));
        uint256 a = _u(key(".slash", 2, ".slope"));
        assertEq(Poseidon2.hashTicketNullifier(a), nf, "nf = H(TAG_NF, a) (TS)");
        assertEq(y1, addmod(k, mulmod(a, x1, P), P), "y1 = k + a x1");
        assertEq(y2, addmod(k, mulmod(a, x2, P), P), "y2 = k + a x2");
        assertEq(Poseidon2.hashAccountId(k), _u(key(".slash", 2, ".id")), "id (TS)");
    }

    function test_RevertWhen_slashSameRequestHash() public {
        _openVectorAccount(0);
        (uint256 nf, uint256 x1, uint256 y1,,) = _evidence(0);
        vm.expectRevert(
            abi.encodeWithSelector(ICreditPool.InvalidEvidence.selector, nf, ICreditPool.EvidenceFault.SameRequestHash)
        );
        pool.slash(nf, x1, y1, x1, y1);
    }

    function test_RevertWhen_slashWrongNullifier() public {
        _openVectorAccount(0);
        (uint256 nf, uint256 x1, uint256 y1, uint256 x2, uint256 y2) = _evidence(0);
        uint256 otherNf = _u(key(".slash", 1, ".nullifier"));
        vm.expectRevert(
            abi.encodeWithSelector(ICreditPool.InvalidEvidence.selector, otherNf, ICreditPool.EvidenceFault.NullifierMismatch)
        );
        pool.slash(otherNf, x1, y1, x2, y2);
        vm.expectRevert(
            abi.encodeWithSelector(ICreditPool.InvalidEvidence.selector, nf, ICreditPool.EvidenceFault.NullifierMismatch)
        );
        pool.slash(nf, x1, y1, x2, addmod(y2, 1, P)); // a share that is not on the line
    }

    function test_RevertWhen_slashMixesSharesOfTwoAccounts() public {
        _openVectorAccount(0);
        _openVectorAccount(1);
        (uint256 nf0, uint256 x1, uint256 y1,,) = _evidence(0);
        (,,, uint256 x2b, uint256 y2b) = _evidence(1);
        vm.expectRevert(
            abi.encodeWithSelector(ICreditPool.InvalidEvidence.selector, nf0, ICreditPool.EvidenceFault.NullifierMismatch)
        );
        pool.slash(nf0, x1, y1, x2b, y2b);
    }

    function test_RevertWhen_slashInputNotCanonical() public {
        _openVectorAccount(0);
        (uint256 nf, uint256 x1, uint256 y1, uint256 x2, uint256 y2) = _evidence(0);
        uint256[5] memory e = [nf, x1, y1, x2, y2];
        for (uint256 j; j < 5; ++j) {
            uint256[5] memory bad = e;
            bad[j] += P; // the same residue, not canonical
            vm.expectRevert(
                abi.encodeWithSelector(ICreditPool.InvalidEvidence.selector, bad[0], ICreditPool.EvidenceFault.NonCanonical)
            );
            pool.slash(bad[0], bad[1], bad[2], bad[3], bad[4]);
        }
        (,,, uint8 status,) = pool.accounts(_u(key(".slash", 0, ".id")));
        assertEq(status, ACTIVE, "still active");
    }

    function test_RevertWhen_slashUnknownAccount() public {
        // Valid evidence, but the account was never opened on this pool.
        (uint256 nf, uint256 x1, uint256 y1, uint256 x2, uint256 y2) = _evidence(0);
        uint256 id = _u(key(".slash", 0, ".id"));
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.UnknownAccount.selector, id));
        pool.slash(nf, x1, y1, x2, y2);
    }

    function test_RevertWhen_slashAlreadySlashed() public {
        uint256 id = _openVectorAccount(1);
        (uint256 nf, uint256 x1, uint256 y1, uint256 x2, uint256 y2) = _evidence(1);
        pool.slash(nf, x1, y1, x2, y2);
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.AccountNotActive.selector, id, SLASHED));
        vm.prank(reporter);
        pool.slash(nf, x2, y2, x1, y1);
    }

    function test_RevertWhen_slashSentEther() public {
        _openVectorAccount(0);
        (uint256 nf, uint256 x1, uint256 y1, uint256 x2, uint256 y2) = _evidence(0);
        vm.deal(reporter, 1 ether);
        vm.prank(reporter);
        (bool ok,) = address(pool).call{value: 1}(abi.encodeCall(ICreditPool.slash, (nf, x1, y1, x2, y2)));
        assertTrue(!ok, "slash is not payable");
        assertEq(reporter.balance, 1 ether, "ether kept");
    }

    function test_slash_accountCannotReopen() public {
        uint256 id = _openVectorAccount(0);
        (uint256 nf, uint256 x1, uint256 y1, uint256 x2, uint256 y2) = _evidence(0);
        pool.slash(nf, x1, y1, x2, y2);
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.AccountExists.selector, id));
        vm.prank(payer);
        pool.openFlat(id, 1, type(uint256).max);
    }
}

/// @notice Gas of one openFlat (100 tickets), a batch of 32 and a slash, each in a test of its own after a
/// setUp that leaves the tree non-empty and the account to slash open, so that storage is cold as in a
/// transaction. The test gas lands in .gas-snapshot; the assertions add the 21,000 base and the calldata a
/// transaction pays on top of the measured call. Real receipts: bench/gas.ts (gas_open_account, gas_slash).
contract AccountsGasTest is Test {
    uint256 internal constant TICKET_PRICE = 2_000;
    uint256 internal constant TTL = 30;
    uint256 internal constant P = ProtocolConstants.FIELD_MODULUS;

    TestToken internal token;
    CreditPool internal pool;
    address internal payer = address(0xB0B);
    uint256[5] internal evidence;

    function setUp() public {
        string memory json = vm.readFile(string.concat(vm.projectRoot(), "/protocol/v2-vectors.json"));
        token = new TestToken();
        pool = new CreditPool(token, 10_000, TICKET_PRICE, TTL, address(0xA11CE), address(0x7EA5), MeteredDefaults.params());
        token.mint(payer, 1_000_000_000 * TICKET_PRICE);
        vm.startPrank(payer);
        token.approve(address(pool), type(uint256).max);
        vm.warp((vm.parseJsonUint(json, ".slash[0].expiryDay") - TTL) * 1 days);
        pool.openFlat(vm.parseJsonUint(json, ".slash[0].id"), vm.parseJsonUint(json, ".slash[0].tickets"), type(uint256).max);
        vm.stopPrank();
        evidence = [
            vm.parseJsonUint(json, ".slash[0].nullifier"),
            vm.parseJsonUint(json, ".slash[0].x1"),
            vm.parseJsonUint(json, ".slash[0].y1"),
            vm.parseJsonUint(json, ".slash[0].x2"),
            vm.parseJsonUint(json, ".slash[0].y2")
        ];
    }

    function test_gas_openFlat_single() public {
        vm.prank(payer);
        uint256 g = gasleft();
        pool.openFlat(uint256(keccak256("gas id")) % P, 100, type(uint256).max);
        g -= gasleft();
        assertLe(g + 21_000 + 16 * 100, 600_000, "openFlat <= 600k per transaction");
    }

    function test_gas_openFlatBatch_32() public {
        uint256[] memory ids = new uint256[](32);
        uint256[] memory counts = new uint256[](32);
        for (uint256 i; i < 32; ++i) (ids[i], counts[i]) = (uint256(keccak256(abi.encode("gas", i))) % P, 100);
        vm.prank(payer);
        uint256 g = gasleft();
        pool.openFlatBatch(ids, counts, type(uint256).max);
        g -= gasleft();
        assertLe((g + 21_000 + 16 * 64 * 32) / 32, 100_000, "per account in a batch of 32");
    }

    function test_gas_slash() public {
        uint256[5] memory e = evidence;
        uint256 g = gasleft();
        pool.slash(e[0], e[1], e[2], e[3], e[4]);
        g -= gasleft();
        assertLe(g + 21_000 + 16 * 164, 80_000, "slash <= 80k per transaction");
    }
}
