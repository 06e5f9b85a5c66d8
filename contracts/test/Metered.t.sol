// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Test} from "./utils/Test.sol";
import {Vm, vm} from "./utils/Vm.sol";
import {NaiveTree} from "./utils/NaiveTree.sol";
import {MeteredDefaults} from "./utils/MeteredDefaults.sol";
import {CreditPool} from "../src/CreditPool.sol";
import {ICreditPool} from "../src/ICreditPool.sol";
import {TestToken} from "../src/TestToken.sol";
import {Poseidon2} from "../src/generated/Poseidon2.sol";
import {ProtocolConstants} from "../src/generated/ProtocolConstants.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @notice v2 metered accounts in CreditPool: the constructor's metered constants, `openMetered` (leaf computed
/// on-chain and equal to the TypeScript core's `meteredAccountLeaf` from protocol/v2-vectors.json, payment
/// `(dLane + sLane) * 2^lanesLog2 * priceUnit`, every refusal), the state key and its timelocked rotation, and
/// `slash` of a metered account with RLN shares of a metered ticket.
contract MeteredTest is Test {
    uint256 internal constant P = ProtocolConstants.FIELD_MODULUS;
    uint256 internal constant PRICE_UNIT = 1e12; // micro-tokens of an 18-decimal token
    uint256 internal constant C_MAX = 50_000;
    uint256 internal constant DELAY = 1 days;
    uint256 internal constant GRACE = 7 days;
    uint256 internal constant TTL = 30;
    uint256 internal constant LIMIT = 1 << 40;
    uint256 internal constant START = 1_764_547_200; // 2025-12-01T00:00:00Z, day 20423
    uint256 internal constant GX = MeteredDefaults.GX;
    uint256 internal constant GY = MeteredDefaults.GY;
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    TestToken internal token;
    CreditPool internal pool;
    address internal owner = address(0xA11CE);
    address internal treasury = address(0x7EA5);
    address internal payer = address(0xB0B);
    string internal vectors;
    /// @dev The state key of protocol/v2-vectors.json (`statePublicKey(stateSecret)` in TypeScript).
    uint256 internal keyX;
    uint256 internal keyY;

    function setUp() public {
        vm.warp(START);
        vectors = vm.readFile(string.concat(vm.projectRoot(), "/protocol/v2-vectors.json"));
        keyX = _u(".metered.stateKey.x");
        keyY = _u(".metered.stateKey.y");
        token = new TestToken();
        pool = new CreditPool(token, 10_000, 2_000, TTL, owner, treasury, _params(keyX, keyY));
        token.mint(payer, 1e40);
        vm.prank(payer);
        token.approve(address(pool), type(uint256).max);
    }

    // ------------------------------------------------------------------ helpers

    function _params(uint256 x, uint256 y) internal pure returns (ICreditPool.MeteredParams memory) {
        return ICreditPool.MeteredParams(PRICE_UNIT, C_MAX, x, y, DELAY, GRACE);
    }

    function _u(string memory path) internal view returns (uint256) {
        return vm.parseJsonUint(vectors, path);
    }

    function _id(uint256 seed) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode("metered id", seed))) % (P - 1) + 1;
    }

    /// @dev The leaf by the generic sponge (checked against bb.js in Poseidon2.t.sol).
    function _leaf(uint256 id, uint256 dLane, uint256 lanesLog2, uint256 sLane, uint256 expiryDay)
        internal
        pure
        returns (uint256)
    {
        uint256[] memory inputs = new uint256[](6);
        (inputs[0], inputs[1], inputs[2], inputs[3], inputs[4], inputs[5]) =
            (ProtocolConstants.TAG_ACCOUNT_M, id, dLane, lanesLog2, sLane, expiryDay);
        return Poseidon2.hash(inputs);
    }

    function _open(uint256 id, uint256 dLane, uint256 lanesLog2, uint256 sLane) internal returns (uint256 leafIndex) {
        vm.prank(payer);
        leafIndex = pool.openMetered(id, dLane, lanesLog2, sLane, type(uint256).max);
    }

    function _expectRevertOpen(bytes memory reason, uint256 id, uint256 dLane, uint256 lanesLog2, uint256 sLane)
        internal
    {
        vm.expectRevert(reason);
        vm.prank(payer);
        pool.openMetered(id, dLane, lanesLog2, sLane, type(uint256).max);
    }

    function _permit(uint256 key_, uint256 value, uint256 deadline) internal view returns (uint8 v, bytes32 r, bytes32 s) {
        address holder = vm.addr(key_);
        bytes32 structHash =
            keccak256(abi.encode(PERMIT_TYPEHASH, holder, address(pool), value, token.nonces(holder), deadline));
        return vm.sign(key_, keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash)));
    }

    function _keys() internal view returns (ICreditPool.StateKeys memory) {
        return pool.stateKeys();
    }

    // ------------------------------------------------------------------ constructor

    function test_constructor_setsMeteredConstantsAndStateKey() public {
        assertEq(pool.priceUnit(), PRICE_UNIT, "priceUnit");
        assertEq(pool.cMax(), C_MAX, "cMax");
        assertEq(pool.stateKeyDelay(), DELAY, "delay");
        assertEq(pool.stateKeyGrace(), GRACE, "grace");
        ICreditPool.StateKeys memory k = _keys();
        assertEq(k.x, keyX, "current x");
        assertEq(k.y, keyY, "current y");
        assertEq(k.previousX | k.previousY | k.previousValidUntil, 0, "no previous key");
        assertEq(k.pendingX | k.pendingY | k.pendingActivatesAt, 0, "no pending key");

        vm.expectEmit(true, true, true, true);
        emit ICreditPool.StateKeyRotated(GX, GY, 0, 0, 0);
        CreditPool other = new CreditPool(
            token,
            1,
            1,
            1,
            owner,
            treasury,
            ICreditPool.MeteredParams(type(uint128).max, LIMIT - 1, GX, GY, 365 days, 365 days)
        );
        assertEq(other.priceUnit(), type(uint128).max, "largest price unit");
        assertEq(other.cMax(), LIMIT - 1, "largest cMax");
        assertEq(other.stateKeyDelay(), 365 days, "longest delay");
        assertEq(other.stateKeyGrace(), 365 days, "longest grace");
        new CreditPool(token, 1, 1, 1, owner, treasury, ICreditPool.MeteredParams(1, 1, GX, P - GY, 1 hours, 0));
    }

    function test_RevertWhen_constructorMeteredParamsInvalid() public {
        ICreditPool.MeteredParams memory m = _params(keyX, keyY);
        m.priceUnit = 0;
        _expectConstructorRevert(m, abi.encodeWithSelector(ICreditPool.InvalidPriceUnit.selector, 0));
        m.priceUnit = 1 << 128;
        _expectConstructorRevert(m, abi.encodeWithSelector(ICreditPool.InvalidPriceUnit.selector, 1 << 128));

        m = _params(keyX, keyY);
        m.cMax = 0;
        _expectConstructorRevert(m, abi.encodeWithSelector(ICreditPool.InvalidCMax.selector, 0));
        m.cMax = LIMIT;
        _expectConstructorRevert(m, abi.encodeWithSelector(ICreditPool.InvalidCMax.selector, LIMIT));

        _expectConstructorRevert(_params(0, 0), abi.encodeWithSelector(ICreditPool.InvalidStateKey.selector, 0, 0));
        _expectConstructorRevert(_params(GX, GY + 1), abi.encodeWithSelector(ICreditPool.InvalidStateKey.selector, GX, GY + 1));
        _expectConstructorRevert(_params(GX + P, GY), abi.encodeWithSelector(ICreditPool.InvalidStateKey.selector, GX + P, GY));
        _expectConstructorRevert(_params(GX, GY + P), abi.encodeWithSelector(ICreditPool.InvalidStateKey.selector, GX, GY + P));

        m = _params(keyX, keyY);
        m.stateKeyDelay = 1 hours - 1;
        _expectConstructorRevert(
            m, abi.encodeWithSelector(ICreditPool.InvalidStateKeyDelay.selector, 1 hours - 1, 1 hours, 365 days)
        );
        m.stateKeyDelay = 365 days + 1;
        _expectConstructorRevert(
            m, abi.encodeWithSelector(ICreditPool.InvalidStateKeyDelay.selector, 365 days + 1, 1 hours, 365 days)
        );
        m = _params(keyX, keyY);
        m.stateKeyGrace = 365 days + 1;
        _expectConstructorRevert(m, abi.encodeWithSelector(ICreditPool.InvalidStateKeyGrace.selector, 365 days + 1, 365 days));
    }

    function _expectConstructorRevert(ICreditPool.MeteredParams memory m, bytes memory reason) internal {
        vm.expectRevert(reason);
        new CreditPool(token, 1, 1, 1, owner, treasury, m);
    }

    // ------------------------------------------------------------------ openMetered

    /// The leaf is `H(TAG_ACCOUNT_M, id, dLane, lanesLog2, sLane, expiryDay)` of the paid terms and the day
    /// of opening, equal to the TypeScript core's leaf for the same values (protocol/v2-vectors.json).
    function test_openMetered_leafEqualsTypeScriptVectors() public {
        for (uint256 i; i < 2; ++i) {
            uint256 id = _u(key(".metered.accounts", i, ".id"));
            uint256 dLane = _u(key(".metered.accounts", i, ".dLane"));
            uint256 lanesLog2 = _u(key(".metered.accounts", i, ".lanesLog2"));
            uint256 sLane = _u(key(".metered.accounts", i, ".sLane"));
            uint256 expiry = _u(key(".metered.accounts", i, ".expiryDay"));
            uint256 leaf = _u(key(".metered.accounts", i, ".leaf"));
            assertEq(Poseidon2.hashAccountId(_u(key(".metered.accounts", i, ".k"))), id, "id = H(TAG_ID, k) (TS)");
            assertEq(_leaf(id, dLane, lanesLog2, sLane, expiry), leaf, "sponge leaf (TS)");
            assertEq(Poseidon2.hashAccountMetered(id, dLane, lanesLog2, sLane, expiry), leaf, "generated leaf (TS)");

            vm.warp((expiry - TTL) * 1 days + 7 hours);
            vm.recordLogs();
            uint256 leafIndex = _open(id, dLane, lanesLog2, sLane);
            Vm.Log[] memory logs = vm.getRecordedLogs();
            assertEq(leafIndex, i, "leaf index");
            uint256 n;
            for (uint256 j; j < logs.length; ++j) {
                if (logs[j].topics[0] != ICreditPool.MeteredAccountOpened.selector) continue;
                (,,,, uint256 expiryDay, uint256 logged,,) =
                    abi.decode(logs[j].data, (uint256, uint256, uint256, uint256, uint256, uint256, uint256, uint256));
                assertEq(expiryDay, expiry, "event expiry");
                assertEq(logged, leaf, "event leaf = TypeScript meteredAccountLeaf");
                ++n;
            }
            assertEq(n, 1, "one MeteredAccountOpened");
        }
    }

    function test_openMetered_insertsLeafPullsPriceAndRecordsSlot() public {
        uint256 id = _id(1);
        uint256 expiry = START / 86400 + TTL;
        uint256 price = (1_000_000 + 40_000) * 4 * PRICE_UNIT;
        uint256 leaf = _leaf(id, 1_000_000, 2, 40_000, expiry);
        NaiveTree naive = new NaiveTree(ProtocolConstants.TREE_DEPTH);
        naive.add(leaf);
        uint256 root = naive.root();
        uint256 before = token.balanceOf(payer);
        assertEq(pool.meteredPrice(1_000_000, 2, 40_000), price, "meteredPrice");

        vm.expectEmit(true, true, true, true, address(pool));
        emit ICreditPool.MeteredAccountOpened(id, payer, 0, 1_000_000, 2, 40_000, expiry, leaf, root, price);
        vm.prank(payer);
        uint256 leafIndex = pool.openMetered(id, 1_000_000, 2, 40_000, price);

        assertEq(leafIndex, 0, "leaf index");
        assertEq(pool.currentRoot(), root, "root (naive reference tree)");
        assertTrue(pool.isKnownRoot(root), "root in the ring");
        assertEq(pool.nextIndex(), 1, "one leaf");
        (uint32 idx, uint16 tickets, uint32 expiryDay, uint8 status, uint8 kind) = pool.accounts(id);
        assertEq(idx, 0, "slot leaf index");
        assertEq(tickets, 0, "no flat tickets");
        assertEq(expiryDay, expiry, "slot expiry = day + ttl");
        assertEq(status, 1, "active");
        assertEq(kind, 2, "metered");
        assertEq(before - token.balanceOf(payer), price, "payer paid (dLane + sLane) * 2^lanesLog2 * priceUnit");
        assertEq(token.balanceOf(address(pool)), price, "pool received: proceeds, as every sale");
    }

    function testFuzz_openMetered_pullsExactlyMeteredPrice(uint256 dLane, uint256 lanesLog2, uint256 sLane, uint256 seed)
        public
    {
        dLane = bound(dLane, C_MAX, LIMIT - 1);
        lanesLog2 = bound(lanesLog2, 0, 3);
        sLane = bound(sLane, 1, LIMIT - 1);
        uint256 price = (dLane + sLane) * (1 << lanesLog2) * PRICE_UNIT;
        assertEq(pool.meteredPrice(dLane, lanesLog2, sLane), price, "meteredPrice");
        uint256 before = token.balanceOf(payer);
        vm.prank(payer);
        pool.openMetered(_id(seed), dLane, lanesLog2, sLane, price);
        assertEq(before - token.balanceOf(payer), price, "pulled");
    }

    function test_openMetered_acceptsLimits() public {
        _open(_id(2), C_MAX, 0, 1);
        _open(_id(3), LIMIT - 1, 3, LIMIT - 1);
        _open(P - 1, C_MAX, 3, 1);
        (uint32 idx,,, uint8 status, uint8 kind) = pool.accounts(P - 1);
        assertEq(idx, 2, "largest canonical id");
        assertEq(status, 1, "active");
        assertEq(kind, 2, "metered");
    }

    /// Credits, flat and metered accounts are leaves of one tree, in order.
    function test_openMetered_sharesTreeWithCreditsAndFlatAccounts() public {
        uint256 expiry = START / 86400 + TTL;
        NaiveTree naive = new NaiveTree(ProtocolConstants.TREE_DEPTH);
        uint256[] memory credits = new uint256[](2);
        (credits[0], credits[1]) = (11, 12);
        vm.startPrank(payer);
        pool.buy(credits, type(uint256).max);
        pool.openFlat(_id(4), 3, type(uint256).max);
        uint256 leafIndex = pool.openMetered(_id(5), C_MAX, 1, 7, type(uint256).max);
        vm.stopPrank();
        naive.add(11);
        naive.add(12);
        naive.add(Poseidon2.hashAccountFlat(_id(4), 3, expiry));
        naive.add(_leaf(_id(5), C_MAX, 1, 7, expiry));
        assertEq(leafIndex, 3, "after two credits and a flat account");
        assertEq(pool.currentRoot(), naive.root(), "one tree");
    }

    function test_RevertWhen_lanesLog2AboveThree() public {
        _expectRevertOpen(abi.encodeWithSelector(ICreditPool.InvalidLanesLog2.selector, 4), _id(6), C_MAX, 4, 1);
        _expectRevertOpen(
            abi.encodeWithSelector(ICreditPool.InvalidLanesLog2.selector, type(uint256).max), _id(6), C_MAX, type(uint256).max, 1
        );
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.InvalidLanesLog2.selector, 4));
        pool.meteredPrice(C_MAX, 4, 1);
    }

    function test_RevertWhen_laneDepositBelowCMaxOrTooLarge() public {
        _expectRevertOpen(abi.encodeWithSelector(ICreditPool.InvalidLaneDeposit.selector, C_MAX - 1, C_MAX), _id(7), C_MAX - 1, 0, 1);
        _expectRevertOpen(abi.encodeWithSelector(ICreditPool.InvalidLaneDeposit.selector, 0, C_MAX), _id(7), 0, 0, 1);
        _expectRevertOpen(abi.encodeWithSelector(ICreditPool.InvalidLaneDeposit.selector, LIMIT, C_MAX), _id(7), LIMIT, 0, 1);
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.InvalidLaneDeposit.selector, C_MAX - 1, C_MAX));
        pool.meteredPrice(C_MAX - 1, 0, 1);
    }

    function test_RevertWhen_laneStakeZeroOrTooLarge() public {
        _expectRevertOpen(abi.encodeWithSelector(ICreditPool.InvalidLaneStake.selector, 0), _id(8), C_MAX, 0, 0);
        _expectRevertOpen(abi.encodeWithSelector(ICreditPool.InvalidLaneStake.selector, LIMIT), _id(8), C_MAX, 0, LIMIT);
        _expectRevertOpen(
            abi.encodeWithSelector(ICreditPool.InvalidLaneStake.selector, type(uint256).max), _id(8), C_MAX, 0, type(uint256).max
        );
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.InvalidLaneStake.selector, 0));
        pool.meteredPrice(C_MAX, 0, 0);
    }

    function test_RevertWhen_meteredIdZeroOrNotCanonical() public {
        _expectRevertOpen(abi.encodeWithSelector(ICreditPool.InvalidAccountId.selector, 0, 0), 0, C_MAX, 0, 1);
        _expectRevertOpen(abi.encodeWithSelector(ICreditPool.InvalidAccountId.selector, 0, P), P, C_MAX, 0, 1);
    }

    function test_RevertWhen_meteredIdAlreadyOpened() public {
        uint256 id = _id(9);
        _open(id, C_MAX, 0, 1);
        _expectRevertOpen(abi.encodeWithSelector(ICreditPool.AccountExists.selector, id), id, 2 * C_MAX, 1, 5);
        // one id space for both kinds
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.AccountExists.selector, id));
        vm.prank(payer);
        pool.openFlat(id, 1, type(uint256).max);
        uint256 flat = _id(10);
        vm.prank(payer);
        pool.openFlat(flat, 1, type(uint256).max);
        _expectRevertOpen(abi.encodeWithSelector(ICreditPool.AccountExists.selector, flat), flat, C_MAX, 0, 1);
    }

    function test_RevertWhen_meteredPriceAboveMaxTotal() public {
        uint256 price = (C_MAX + 1) * 2 * PRICE_UNIT;
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.PriceAboveMax.selector, price, price - 1));
        vm.prank(payer);
        pool.openMetered(_id(11), C_MAX, 1, 1, price - 1);
        vm.prank(payer);
        pool.openMetered(_id(11), C_MAX, 1, 1, price); // exactly the price is enough
    }

    function test_RevertWhen_meteredAllowanceMissing() public {
        address poor = address(0xD00D);
        token.mint(poor, 1e30);
        vm.expectRevert();
        vm.prank(poor);
        pool.openMetered(_id(12), C_MAX, 0, 1, type(uint256).max);
        (,,, uint8 status,) = pool.accounts(_id(12));
        assertEq(status, 0, "nothing recorded");
    }

    function test_openMeteredWithPermit_withoutPriorApproval() public {
        uint256 key_ = 0xA11CE5;
        address holder = vm.addr(key_);
        uint256 price = (C_MAX + 1) * PRICE_UNIT;
        token.mint(holder, price);
        (uint8 v, bytes32 r, bytes32 s) = _permit(key_, price, START + 1 hours);
        vm.prank(holder);
        uint256 leafIndex = pool.openMeteredWithPermit(_id(13), C_MAX, 0, 1, price, START + 1 hours, v, r, s);
        assertEq(leafIndex, 0, "opened");
        assertEq(token.balanceOf(holder), 0, "paid with the permit");
    }

    function test_openMeteredWithPermit_succeedsWhenPermitFrontRun() public {
        uint256 key_ = 0xA11CE6;
        address holder = vm.addr(key_);
        uint256 price = (C_MAX + 1) * PRICE_UNIT;
        token.mint(holder, price);
        (uint8 v, bytes32 r, bytes32 s) = _permit(key_, price, START + 1 hours);
        token.permit(holder, address(pool), price, START + 1 hours, v, r, s); // someone submits it first
        vm.prank(holder);
        pool.openMeteredWithPermit(_id(14), C_MAX, 0, 1, price, START + 1 hours, v, r, s);
        (,,, uint8 status,) = pool.accounts(_id(14));
        assertEq(status, 1, "opened with the allowance the front-runner set");
    }

    // ------------------------------------------------------------------ state key rotation

    function test_stateKey_rotationTimelockAndGrace() public {
        vm.expectEmit(true, true, true, true, address(pool));
        emit ICreditPool.StateKeyProposed(GX, GY, uint64(START + DELAY));
        vm.prank(owner);
        pool.proposeStateKey(GX, GY);
        ICreditPool.StateKeys memory k = _keys();
        assertEq(k.pendingX, GX, "pending x");
        assertEq(k.pendingY, GY, "pending y");
        assertEq(k.pendingActivatesAt, START + DELAY, "activates after the delay");
        assertEq(k.x, keyX, "current unchanged");

        vm.warp(START + DELAY - 1);
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.StateKeyTimelocked.selector, START + DELAY, START + DELAY - 1));
        pool.activateStateKey();

        vm.warp(START + DELAY);
        vm.expectEmit(true, true, true, true, address(pool));
        emit ICreditPool.StateKeyRotated(GX, GY, keyX, keyY, uint64(START + DELAY + GRACE));
        vm.prank(address(0xCAFE)); // anyone
        pool.activateStateKey();
        k = _keys();
        assertEq(k.x, GX, "new current x");
        assertEq(k.y, GY, "new current y");
        assertEq(k.previousX, keyX, "previous x");
        assertEq(k.previousY, keyY, "previous y");
        assertEq(k.previousValidUntil, START + DELAY + GRACE, "previous valid for the grace");
        assertEq(k.pendingX | k.pendingY | k.pendingActivatesAt, 0, "pending cleared");

        vm.expectRevert(ICreditPool.NoPendingStateKey.selector);
        pool.activateStateKey();

        // A second rotation: the key before the previous one is dropped.
        vm.prank(owner);
        pool.proposeStateKey(GX, P - GY);
        vm.warp(START + 2 * DELAY + 5);
        pool.activateStateKey();
        k = _keys();
        assertEq(k.y, P - GY, "third key current");
        assertEq(k.previousX, GX, "second key previous");
        assertEq(k.previousY, GY, "second key previous");
        assertEq(k.previousValidUntil, START + 2 * DELAY + 5 + GRACE, "new grace");
    }

    function test_stateKey_newProposalReplacesPendingAndRestartsDelay() public {
        vm.prank(owner);
        pool.proposeStateKey(GX, GY);
        vm.warp(START + DELAY - 10);
        vm.prank(owner);
        pool.proposeStateKey(GX, P - GY);
        vm.warp(START + DELAY);
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.StateKeyTimelocked.selector, START + 2 * DELAY - 10, START + DELAY));
        pool.activateStateKey();
        vm.warp(START + 2 * DELAY - 10);
        pool.activateStateKey();
        assertEq(_keys().y, P - GY, "the later proposal");
    }

    function test_stateKey_cancel() public {
        vm.prank(owner);
        pool.proposeStateKey(GX, GY);
        vm.expectEmit(true, true, true, true, address(pool));
        emit ICreditPool.StateKeyProposalCancelled(GX, GY);
        vm.prank(owner);
        pool.cancelStateKey();
        ICreditPool.StateKeys memory k = _keys();
        assertEq(k.pendingX | k.pendingY | k.pendingActivatesAt, 0, "pending cleared");
        vm.warp(START + DELAY);
        vm.expectRevert(ICreditPool.NoPendingStateKey.selector);
        pool.activateStateKey();
        assertEq(_keys().x, keyX, "key unchanged");
        vm.expectRevert(ICreditPool.NoPendingStateKey.selector);
        vm.prank(owner);
        pool.cancelStateKey();
    }

    function test_RevertWhen_stateKeyChangedByNonOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, payer));
        vm.prank(payer);
        pool.proposeStateKey(GX, GY);
        vm.prank(owner);
        pool.proposeStateKey(GX, GY);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, payer));
        vm.prank(payer);
        pool.cancelStateKey();
        assertEq(_keys().pendingX, GX, "still pending");
    }

    function test_RevertWhen_proposedStateKeyOffCurve() public {
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.InvalidStateKey.selector, 0, 0));
        pool.proposeStateKey(0, 0);
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.InvalidStateKey.selector, keyX, keyY + 1));
        pool.proposeStateKey(keyX, keyY + 1);
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.InvalidStateKey.selector, keyX + P, keyY));
        pool.proposeStateKey(keyX + P, keyY);
        vm.stopPrank();
        assertEq(_keys().pendingActivatesAt, 0, "nothing pending");
    }

    function testFuzz_RevertWhen_proposedStateKeyOffCurve(uint256 x, uint256 y) public {
        x %= P;
        y %= P;
        vm.assume(mulmod(y, y, P) != addmod(mulmod(mulmod(x, x, P), x, P), P - 17, P));
        vm.expectRevert(abi.encodeWithSelector(ICreditPool.InvalidStateKey.selector, x, y));
        vm.prank(owner);
        pool.proposeStateKey(x, y);
    }

    // ------------------------------------------------------------------ slash

    /// Two shares of one metered ticket (the TypeScript share of protocol/v2-vectors.json and a second one
    /// on another request hash) slash the metered account: `slash` does not care about the kind.
    function test_slash_meteredAccountWithSharesOfAMeteredTicket() public {
        uint256 k = _u(".metered.tickets[1].k");
        assertEq(k, _u(".metered.accounts[0].k"), "vector ticket of account 0");
        uint256 id = _u(".metered.accounts[0].id");
        vm.warp((_u(".metered.accounts[0].expiryDay") - TTL) * 1 days);
        _open(id, _u(".metered.accounts[0].dLane"), _u(".metered.accounts[0].lanesLog2"), _u(".metered.accounts[0].sLane"));

        // ticket lane·2^32 + n, slope H(TAG_SLOPE, k, ticket): the same nullifier as TypeScript's
        uint256 ticket = (_u(".metered.tickets[1].lane") << 32) + _u(".metered.tickets[1].n");
        assertEq(ticket, _u(".metered.tickets[1].ticket"), "ticket encoding");
        uint256 a = Poseidon2.hash3(ProtocolConstants.TAG_SLOPE, k, ticket);
        uint256 nf = _u(".metered.tickets[1].nullifier");
        assertEq(Poseidon2.hashTicketNullifier(a), nf, "nullifier (TS)");
        uint256 x1 = _u(".metered.tickets[1].x");
        uint256 y1 = _u(".metered.tickets[1].y");
        assertEq(addmod(k, mulmod(a, x1, P), P), y1, "share (TS)");
        uint256 x2 = uint256(keccak256("another request")) % P;
        uint256 y2 = addmod(k, mulmod(a, x2, P), P);

        vm.expectEmit(true, true, true, true, address(pool));
        emit ICreditPool.AccountSlashed(id, nf, address(this));
        assertEq(pool.slash(nf, x1, y1, x2, y2), id, "slashed id");
        (,,, uint8 status, uint8 kind) = pool.accounts(id);
        assertEq(status, 2, "slashed");
        assertEq(kind, 2, "still metered");

        vm.expectRevert(abi.encodeWithSelector(ICreditPool.AccountNotActive.selector, id, 2));
        pool.slash(nf, x1, y1, x2, y2);
        _expectRevertOpen(abi.encodeWithSelector(ICreditPool.AccountExists.selector, id), id, C_MAX, 0, 1);
    }
}

/// @notice Gas of one openMetered (4 lanes) after a setUp that leaves the tree non-empty, so storage is cold as
/// in a transaction. The test gas lands in .gas-snapshot; the assertion adds the 21,000 base and the calldata a
/// transaction pays. Real receipts: bench/gas.ts (gas_open_metered).
contract MeteredGasTest is Test {
    TestToken internal token;
    CreditPool internal pool;
    address internal payer = address(0xB0B);

    function setUp() public {
        token = new TestToken();
        pool = new CreditPool(token, 10_000, 2_000, 30, address(0xA11CE), address(0x7EA5), MeteredDefaults.params());
        token.mint(payer, 1e30);
        vm.startPrank(payer);
        token.approve(address(pool), type(uint256).max);
        pool.openMetered(uint256(keccak256("first")) % ProtocolConstants.FIELD_MODULUS, 1_000_000, 2, 50_000, type(uint256).max);
        vm.stopPrank();
    }

    function test_gas_openMetered() public {
        vm.prank(payer);
        uint256 g = gasleft();
        pool.openMetered(uint256(keccak256("gas id")) % ProtocolConstants.FIELD_MODULUS, 1_000_000, 2, 50_000, type(uint256).max);
        g -= gasleft();
        assertLe(g + 21_000 + 16 * 160, 600_000, "openMetered <= 600k per transaction");
    }
}
