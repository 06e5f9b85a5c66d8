// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Test} from "./utils/Test.sol";
import {vm} from "./utils/Vm.sol";
import {FeeOnTransferToken, ReentrantToken} from "./utils/MaliciousTokens.sol";
import {CreditPool} from "../src/CreditPool.sol";
import {ICreditPool} from "../src/ICreditPool.sol";
import {TestToken} from "../src/TestToken.sol";
import {BatchIncrementalMerkleTree} from "../src/BatchIncrementalMerkleTree.sol";
import {ZeroHashes} from "../src/generated/ZeroHashes.sol";
import {ProtocolConstants} from "../src/generated/ProtocolConstants.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {MeteredDefaults} from "./utils/MeteredDefaults.sol";

contract CreditPoolTest is Test {
    uint256 internal constant P = ProtocolConstants.FIELD_MODULUS;
    uint256 internal constant PRICE = 10_000; // 0.01 tUSD (6 decimals)
    uint256 internal constant TICKET_PRICE = 2_000;
    uint256 internal constant TTL_DAYS = 30;
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");
    /// @dev Storage slot of `_nextIndex` (uint64, offset 0) in CreditPool; checked by `forge inspect`.
    bytes32 internal constant NEXT_INDEX_SLOT = bytes32(uint256(2));

    TestToken internal token;
    CreditPool internal pool;
    address internal owner = address(0xA11CE);
    address internal treasury = address(0x7EA5);
    uint256 internal buyerKey = 0xB0B;
    address internal buyer;
    string internal json;

    function setUp() public {
        buyer = vm.addr(buyerKey);
        token = new TestToken();
        pool = new CreditPool(token, PRICE, TICKET_PRICE, TTL_DAYS, owner, treasury, MeteredDefaults.params());
        token.mint(buyer, 1_000_000 * PRICE);
        vm.prank(buyer);
        token.approve(address(pool), type(uint256).max);
        json = readVectors();
    }

    function _commitments(uint256 seed, uint256 n) internal pure returns (uint256[] memory c) {
        c = new uint256[](n);
        for (uint256 i; i < n; ++i) c[i] = uint256(keccak256(abi.encode(seed, i))) % (P - 1) + 1;
    }

    function _permit(uint256 key_, address spender, uint256 value, uint256 deadline)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        address holder = vm.addr(key_);
        bytes32 structHash =
            keccak256(abi.encode(PERMIT_TYPEHASH, holder, spender, value, token.nonces(holder), deadline));
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
        return vm.sign(key_, digest);
    }

    // ------------------------------------------------------------------ deployment

    function test_constructor_setsConfigurationAndEmptyRoot() public view {
        assertEq(address(pool.paymentToken()), address(token), "token");
        assertEq(pool.pricePerCredit(), PRICE, "price");
        assertEq(pool.pricePerTicket(), TICKET_PRICE, "ticket price");
        assertEq(pool.ttlDays(), TTL_DAYS, "ttl");
        assertEq(pool.owner(), owner, "owner");
        assertEq(pool.treasury(), treasury, "treasury");
        assertEq(pool.operator(), address(0), "no operator");
        assertEq(pool.deploymentBlock(), block.number, "deployment block");
        assertEq(pool.treeDepth(), 20, "depth");
        assertEq(pool.rootHistorySize(), 64, "history");
        assertEq(pool.maxBatch(), 1024, "max batch");
        assertEq(pool.nextIndex(), 0, "empty");
        assertEq(pool.currentRoot(), vm.parseJsonUint(json, ".emptyRoot"), "empty root (bb.js)");
        assertTrue(pool.isKnownRoot(pool.currentRoot()), "empty root known");
        uint256[] memory z = vm.parseJsonUintArray(json, ".zeros");
        for (uint256 i; i < z.length; ++i) assertEq(pool.zeros(i), z[i], "zeros(level) (bb.js)");
    }

    function test_deploymentBlock_isConstructionBlock() public {
        vm.roll(12_345);
        CreditPool later = new CreditPool(token, PRICE, TICKET_PRICE, TTL_DAYS, owner, treasury, MeteredDefaults.params());
        assertEq(later.deploymentBlock(), 12_345, "block.number at construction");
    }

    function test_RevertWhen_constructorArgumentsInvalid() public {
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.InvalidAddress.selector, address(0)));
        new CreditPool(IERC20(address(0)), PRICE, TICKET_PRICE, TTL_DAYS, owner, treasury, MeteredDefaults.params());
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.InvalidAddress.selector, address(0)));
        new CreditPool(token, PRICE, TICKET_PRICE, TTL_DAYS, owner, address(0), MeteredDefaults.params());
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.InvalidPrice.selector, 0));
        new CreditPool(token, 0, TICKET_PRICE, TTL_DAYS, owner, treasury, MeteredDefaults.params());
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.InvalidPrice.selector, 0));
        new CreditPool(token, PRICE, 0, TTL_DAYS, owner, treasury, MeteredDefaults.params());
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.InvalidTtlDays.selector, 0));
        new CreditPool(token, PRICE, TICKET_PRICE, 0, owner, treasury, MeteredDefaults.params());
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.InvalidTtlDays.selector, 65536));
        new CreditPool(token, PRICE, TICKET_PRICE, 65536, owner, treasury, MeteredDefaults.params());
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new CreditPool(token, PRICE, TICKET_PRICE, TTL_DAYS, address(0), treasury, MeteredDefaults.params());
    }

    function test_RevertWhen_zerosLevelAboveDepth() public {
        vm.expectRevert(abi.encodeWithSelector(ZeroHashes.LevelOutOfRange.selector, 21, 20));
        pool.zeros(21);
    }

    // ------------------------------------------------------------------ buy

    function test_buy_emitsEventWithBbJsRootAndPulls() public {
        // Tree vector 2: batches [2, 3, 5, 8]; buy the first two batches.
        uint256[] memory leaves = vm.parseJsonUintArray(json, ".trees.vectors[2].leaves");
        uint256[] memory roots = vm.parseJsonUintArray(json, ".trees.vectors[2].roots");
        uint256[] memory first = new uint256[](2);
        (first[0], first[1]) = (leaves[0], leaves[1]);
        uint256[] memory second = new uint256[](3);
        (second[0], second[1], second[2]) = (leaves[2], leaves[3], leaves[4]);

        uint256 before = token.balanceOf(buyer);
        vm.expectEmit(true, true, true, true, address(pool));
        emit ICreditPool.CreditsPurchased(buyer, 0, first, roots[0], 2 * PRICE);
        vm.prank(buyer);
        (uint256 start, uint256 root) = pool.buy(first, type(uint256).max);
        assertEq(start, 0, "start 0");
        assertEq(root, roots[0], "root (bb.js)");

        vm.expectEmit(true, true, true, true, address(pool));
        emit ICreditPool.CreditsPurchased(buyer, 2, second, roots[1], 3 * PRICE);
        vm.prank(buyer);
        pool.buy(second, type(uint256).max);

        assertEq(pool.currentRoot(), roots[1], "current root (bb.js)");
        assertEq(pool.nextIndex(), 5, "next index");
        assertEq(token.balanceOf(buyer), before - 5 * PRICE, "buyer paid");
        assertEq(token.balanceOf(address(pool)), 5 * PRICE, "pool received");
        assertTrue(pool.isKnownRoot(roots[0]) && pool.isKnownRoot(roots[1]), "roots known");
    }

    function test_buy_maxBatch() public {
        vm.prank(buyer);
        (uint256 start,) = pool.buy(_commitments(1, ProtocolConstants.MAX_BATCH), type(uint256).max);
        assertEq(start, 0, "start");
        assertEq(pool.nextIndex(), ProtocolConstants.MAX_BATCH, "count");
    }

    function test_buy_acceptsLargestCanonicalCommitment() public {
        uint256[] memory c = new uint256[](1);
        c[0] = P - 1;
        vm.prank(buyer);
        pool.buy(c, type(uint256).max);
        assertEq(pool.nextIndex(), 1, "inserted");
    }

    function test_RevertWhen_batchEmpty() public {
        vm.expectRevert(ICreditPool.EmptyBatch.selector);
        vm.prank(buyer);
        pool.buy(new uint256[](0), type(uint256).max);
    }

    function test_RevertWhen_batchTooLarge() public {
        uint256[] memory c = _commitments(2, ProtocolConstants.MAX_BATCH + 1);
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.BatchTooLarge.selector, 1025, 1024));
        vm.prank(buyer);
        pool.buy(c, type(uint256).max);
    }

    function test_RevertWhen_commitmentZero() public {
        uint256[] memory c = _commitments(3, 4);
        c[2] = 0;
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.InvalidCommitment.selector, 2, 0));
        vm.prank(buyer);
        pool.buy(c, type(uint256).max);
    }

    function testFuzz_RevertWhen_commitmentNotCanonical(uint256 value, uint8 index) public {
        value = bound(value, P, type(uint256).max);
        uint256[] memory c = _commitments(4, 8);
        uint256 i = index % 8;
        c[i] = value;
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.InvalidCommitment.selector, i, value));
        vm.prank(buyer);
        pool.buy(c, type(uint256).max);
    }

    function test_RevertWhen_allowanceMissing() public {
        address poor = address(0xBEEF);
        token.mint(poor, PRICE);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(pool), 0, PRICE)
        );
        vm.prank(poor);
        pool.buy(_commitments(5, 1), type(uint256).max);
        assertEq(pool.nextIndex(), 0, "nothing inserted");
    }

    function test_RevertWhen_tokenChargesTransferFee() public {
        FeeOnTransferToken fee = new FeeOnTransferToken();
        CreditPool feePool = new CreditPool(fee, PRICE, TICKET_PRICE, TTL_DAYS, owner, treasury, MeteredDefaults.params());
        fee.mint(buyer, 100 * PRICE);
        vm.startPrank(buyer);
        fee.approve(address(feePool), type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.PaymentShortfall.selector, 3 * PRICE, 3 * PRICE * 99 / 100));
        feePool.buy(_commitments(6, 3), type(uint256).max);
        vm.stopPrank();
    }

    function test_RevertWhen_tokenReentersBuy() public {
        ReentrantToken evil = new ReentrantToken();
        CreditPool evilPool = new CreditPool(evil, PRICE, TICKET_PRICE, TTL_DAYS, owner, treasury, MeteredDefaults.params());
        evil.mint(buyer, 100 * PRICE);
        evil.arm(address(evilPool), abi.encodeCall(ICreditPool.buy, (_commitments(7, 1), type(uint256).max)));
        vm.startPrank(buyer);
        evil.approve(address(evilPool), type(uint256).max);
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        evilPool.buy(_commitments(8, 1), type(uint256).max);
        vm.stopPrank();
    }

    /// @dev Honest note: filling 2^20 leaves is infeasible in a unit test, so `_nextIndex` is set with
    /// vm.store (slot 2, see `forge inspect CreditPool storageLayout`). The frontier is then not that of a
    /// real full tree, so only the capacity check is meaningful here; TreeFull on a genuinely filled tree is
    /// covered by BatchIncrementalMerkleTreeTest with a depth-3 and depth-5 tree.
    function test_RevertWhen_treeFull() public {
        uint256 capacity = uint256(1) << ProtocolConstants.TREE_DEPTH;
        vm.store(address(pool), NEXT_INDEX_SLOT, bytes32(capacity - 1));
        assertEq(pool.nextIndex(), capacity - 1, "storage trick applied");
        vm.expectRevert(abi.encodeWithSelector(BatchIncrementalMerkleTree.TreeFull.selector, capacity - 1, 2));
        vm.prank(buyer);
        pool.buy(_commitments(9, 2), type(uint256).max);

        vm.prank(buyer);
        pool.buy(_commitments(10, 1), type(uint256).max); // the last leaf still fits
        assertEq(pool.nextIndex(), capacity, "full");
        vm.expectRevert(abi.encodeWithSelector(BatchIncrementalMerkleTree.TreeFull.selector, capacity, 1));
        vm.prank(buyer);
        pool.buy(_commitments(11, 1), type(uint256).max);
    }

    // ------------------------------------------------------------------ permit

    function test_buyWithPermit_withoutPriorApproval() public {
        uint256 key_ = 0xC0FFEE;
        address holder = vm.addr(key_);
        token.mint(holder, 10 * PRICE);
        uint256[] memory c = _commitments(12, 4);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _permit(key_, address(pool), 4 * PRICE, deadline);
        assertEq(token.allowance(holder, address(pool)), 0, "no approval before");

        vm.recordLogs();
        vm.prank(holder);
        (uint256 start, uint256 root) = pool.buyWithPermit(c, 4 * PRICE, deadline, v, r, s);
        assertEq(start, 0, "start");
        assertEq(root, pool.currentRoot(), "root");
        assertEq(token.balanceOf(holder), 6 * PRICE, "paid 4 credits");
        assertEq(token.allowance(holder, address(pool)), 0, "permit fully used");
        assertEq(token.nonces(holder), 1, "nonce consumed");
    }

    function test_buyWithPermit_succeedsWhenPermitFrontRun() public {
        uint256 key_ = 0xC0FFEE;
        address holder = vm.addr(key_);
        token.mint(holder, 10 * PRICE);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _permit(key_, address(pool), 2 * PRICE, deadline);
        // An observer submits the permit from the mempool first.
        token.permit(holder, address(pool), 2 * PRICE, deadline, v, r, s);
        vm.prank(holder);
        pool.buyWithPermit(_commitments(13, 2), 2 * PRICE, deadline, v, r, s);
        assertEq(pool.nextIndex(), 2, "bought despite used permit");
        assertEq(token.balanceOf(holder), 8 * PRICE, "paid");
    }

    function test_RevertWhen_permitInvalidAndNoAllowance() public {
        uint256 key_ = 0xC0FFEE;
        address holder = vm.addr(key_);
        token.mint(holder, 10 * PRICE);
        uint256 deadline = block.timestamp + 1 hours;
        // Signed for a smaller value than the purchase costs: the permit fails and nothing is approved.
        (uint8 v, bytes32 r, bytes32 s) = _permit(key_, address(pool), PRICE, deadline);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(pool), 0, 2 * PRICE)
        );
        vm.prank(holder);
        pool.buyWithPermit(_commitments(14, 2), 2 * PRICE, deadline, v, r, s);
    }

    // ------------------------------------------------------------------ buyer protection (maxTotal)

    function test_RevertWhen_priceRaisedAboveBuyersMaxTotal() public {
        // The buyer approved an unlimited allowance in setUp and looked at the price: 3 credits = 3 * PRICE.
        vm.prank(owner);
        pool.setPricePerCredit(5 * PRICE);
        uint256 before = token.balanceOf(buyer);
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.PriceAboveMax.selector, 15 * PRICE, 3 * PRICE));
        vm.prank(buyer);
        pool.buy(_commitments(30, 3), 3 * PRICE);
        assertEq(token.balanceOf(buyer), before, "nothing taken");
        assertEq(pool.nextIndex(), 0, "nothing inserted");
    }

    function test_buy_chargesCurrentPriceNotMaxTotal() public {
        uint256 before = token.balanceOf(buyer);
        vm.prank(buyer);
        pool.buy(_commitments(31, 2), 10 * PRICE);
        assertEq(before - token.balanceOf(buyer), 2 * PRICE, "paid the price, not the ceiling");
    }

    function test_buy_acceptsExactMaxTotal() public {
        vm.prank(buyer);
        pool.buy(_commitments(32, 4), 4 * PRICE);
        assertEq(pool.nextIndex(), 4, "bought");
    }

    function test_RevertWhen_permitBuyPriceRaisedAboveMaxTotal() public {
        uint256 key_ = 0xC0FFEE;
        address holder = vm.addr(key_);
        token.mint(holder, 100 * PRICE);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _permit(key_, address(pool), 2 * PRICE, deadline);
        vm.prank(owner);
        pool.setPricePerCredit(2 * PRICE);
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.PriceAboveMax.selector, 4 * PRICE, 2 * PRICE));
        vm.prank(holder);
        pool.buyWithPermit(_commitments(33, 2), 2 * PRICE, deadline, v, r, s);
        assertEq(token.balanceOf(holder), 100 * PRICE, "nothing taken");
    }

    function testFuzz_buy_neverTakesMoreThanMaxTotal(uint256 newPrice, uint256 n, uint256 maxTotal) public {
        newPrice = bound(newPrice, 1, 1_000 * PRICE);
        n = bound(n, 1, 8);
        maxTotal = bound(maxTotal, 0, 10_000 * PRICE);
        vm.prank(owner);
        pool.setPricePerCredit(newPrice);
        token.mint(buyer, newPrice * n);
        uint256 before = token.balanceOf(buyer);
        if (newPrice * n > maxTotal) {
            vm.expectRevert(abi.encodeWithSelector(ICreditPool.PriceAboveMax.selector, newPrice * n, maxTotal));
        }
        vm.prank(buyer);
        pool.buy(_commitments(34, n), maxTotal);
        assertLe(before - token.balanceOf(buyer), maxTotal, "never above the ceiling");
    }

    // ------------------------------------------------------------------ administration

    function test_setPricePerCredit_emitsAndApplies() public {
        vm.expectEmit(true, true, true, true, address(pool));
        emit ICreditPool.PriceUpdated(PRICE, 2 * PRICE);
        vm.prank(owner);
        pool.setPricePerCredit(2 * PRICE);
        assertEq(pool.pricePerCredit(), 2 * PRICE, "price");
        uint256 before = token.balanceOf(buyer);
        vm.prank(buyer);
        pool.buy(_commitments(15, 3), type(uint256).max);
        assertEq(before - token.balanceOf(buyer), 6 * PRICE, "new price charged");
    }

    function test_RevertWhen_setPriceByNonOwnerOrZero() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, buyer));
        vm.prank(buyer);
        pool.setPricePerCredit(1);
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.InvalidPrice.selector, 0));
        vm.prank(owner);
        pool.setPricePerCredit(0);
    }

    function test_setTreasury_emitsAndRedirectsWithdrawals() public {
        address newTreasury = address(0x7EA6);
        vm.expectEmit(true, true, true, true, address(pool));
        emit ICreditPool.TreasuryUpdated(treasury, newTreasury);
        vm.prank(owner);
        pool.setTreasury(newTreasury);
        vm.prank(buyer);
        pool.buy(_commitments(16, 2), type(uint256).max);
        vm.prank(owner);
        pool.withdraw();
        assertEq(token.balanceOf(newTreasury), 2 * PRICE, "new treasury paid");
        assertEq(token.balanceOf(treasury), 0, "old treasury not paid");
    }

    function test_RevertWhen_setTreasuryInvalid() public {
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.InvalidAddress.selector, address(0)));
        vm.prank(owner);
        pool.setTreasury(address(0));
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, buyer));
        vm.prank(buyer);
        pool.setTreasury(buyer);
    }

    function test_withdraw_byOwnerAndOperatorSendsBalanceToTreasury() public {
        vm.prank(buyer);
        pool.buy(_commitments(17, 5), type(uint256).max);
        vm.expectEmit(true, true, true, true, address(pool));
        emit ICreditPool.Withdrawn(treasury, 5 * PRICE);
        vm.prank(owner);
        assertEq(pool.withdraw(), 5 * PRICE, "amount");
        assertEq(token.balanceOf(treasury), 5 * PRICE, "treasury");
        assertEq(token.balanceOf(address(pool)), 0, "pool emptied");

        address op = address(0x0FE2);
        vm.expectEmit(true, true, true, true, address(pool));
        emit ICreditPool.OperatorUpdated(address(0), op);
        vm.prank(owner);
        pool.setOperator(op);
        vm.prank(buyer);
        pool.buy(_commitments(18, 1), type(uint256).max);
        vm.prank(op);
        pool.withdraw();
        assertEq(token.balanceOf(treasury), 6 * PRICE, "operator withdrew to treasury");
    }

    function test_RevertWhen_withdrawUnauthorizedOrEmpty() public {
        vm.prank(buyer);
        pool.buy(_commitments(19, 1), type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.UnauthorizedWithdrawer.selector, buyer));
        vm.prank(buyer);
        pool.withdraw();
        vm.prank(owner);
        pool.withdraw();
        vm.expectRevert(ICreditPool.NothingToWithdraw.selector);
        vm.prank(owner);
        pool.withdraw();
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, buyer));
        vm.prank(buyer);
        pool.setOperator(buyer);
    }

    function test_ownership_transfersInTwoSteps() public {
        address next = address(0xD00D);
        vm.prank(owner);
        pool.transferOwnership(next);
        assertEq(pool.owner(), owner, "unchanged until accepted");
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, buyer));
        vm.prank(buyer);
        pool.acceptOwnership();
        vm.prank(next);
        pool.acceptOwnership();
        assertEq(pool.owner(), next, "accepted");
    }

    // ------------------------------------------------------------------ root history

    function test_isKnownRoot_evictsAfter64Purchases() public {
        uint256 empty = pool.currentRoot();
        uint256[] memory roots = new uint256[](65);
        for (uint256 i; i < 65; ++i) {
            vm.prank(buyer);
            (, roots[i]) = pool.buy(_commitments(1000 + i, 1), type(uint256).max);
        }
        assertTrue(!pool.isKnownRoot(empty), "empty root evicted");
        assertTrue(!pool.isKnownRoot(roots[0]), "65th-newest root expired");
        for (uint256 i = 1; i < 65; ++i) assertTrue(pool.isKnownRoot(roots[i]), "last 64 known");
        assertTrue(!pool.isKnownRoot(12345), "unknown root");
    }
}
