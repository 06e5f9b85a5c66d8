// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {ICreditPool} from "./ICreditPool.sol";
import {BatchIncrementalMerkleTree} from "./BatchIncrementalMerkleTree.sol";
import {Poseidon2} from "./generated/Poseidon2.sol";
import {ProtocolConstants} from "./generated/ProtocolConstants.sol";
import {ZeroHashes} from "./generated/ZeroHashes.sol";

/// @title CreditPool
/// @notice zkcredits sale: v1 credit commitments and v2 flat- and metered-account leaves bought with an ERC-20
/// are appended to one depth-`TREE_DEPTH` Poseidon2 tree; the server accepts proofs against any of the last
/// `ROOT_HISTORY_SIZE` roots.
contract CreditPool is ICreditPool, BatchIncrementalMerkleTree, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @dev One account of either kind, packed in one slot (see `accounts`).
    struct Account {
        uint32 leafIndex;
        uint16 tickets;
        uint32 expiryDay;
        uint8 status;
        uint8 kind;
    }

    uint8 internal constant _STATUS_ACTIVE = 1;
    uint8 internal constant _STATUS_SLASHED = 2;
    uint8 internal constant _KIND_FLAT = 1;
    uint8 internal constant _KIND_METERED = 2;
    uint256 internal constant _P = ProtocolConstants.FIELD_MODULUS;
    /// @dev Metered amounts (dLane, sLane, cMax) are below this.
    uint256 internal constant _AMOUNT_LIMIT = 1 << ProtocolConstants.AMOUNT_BITS;

    /// @notice Shortest `stateKeyDelay` a deployment may choose (seconds): clients and watchers must have time to
    /// see a proposed key before the server can sign with it.
    uint256 public constant MIN_STATE_KEY_DELAY = 1 hours;

    /// @notice Longest `stateKeyDelay` and `stateKeyGrace` a deployment may choose (seconds).
    uint256 public constant MAX_STATE_KEY_PERIOD = 365 days;

    /// @inheritdoc ICreditPool
    IERC20 public immutable paymentToken;

    /// @inheritdoc ICreditPool
    uint256 public immutable deploymentBlock;

    /// @inheritdoc ICreditPool
    uint256 public pricePerCredit;

    /// @inheritdoc ICreditPool
    address public treasury;

    /// @inheritdoc ICreditPool
    address public operator;

    /// @inheritdoc ICreditPool
    uint256 public pricePerTicket;

    /// @inheritdoc ICreditPool
    uint256 public immutable ttlDays;

    /// @inheritdoc ICreditPool
    mapping(uint256 id => Account) public accounts;

    /// @inheritdoc ICreditPool
    uint256 public immutable priceUnit;

    /// @inheritdoc ICreditPool
    uint256 public immutable cMax;

    /// @inheritdoc ICreditPool
    uint256 public immutable stateKeyDelay;

    /// @inheritdoc ICreditPool
    uint256 public immutable stateKeyGrace;

    /// @dev Current, previous and pending state keys (`stateKeys`).
    StateKeys private _stateKeys;

    /// @param token_ Payment ERC-20 (must not charge transfer fees).
    /// @param pricePerCredit_ Price of one credit in token base units (non-zero).
    /// @param pricePerTicket_ Price of one flat-account ticket in token base units (non-zero).
    /// @param ttlDays_ Flat-account lifetime in days (`1..MAX_TTL_DAYS`); fixed for the deployment, so that
    /// servers know how long to keep a ticket (first seen + `ttlDays` + grace).
    /// @param owner_ Administrator (two-step transferable).
    /// @param treasury_ Receiver of withdrawn proceeds.
    /// @param metered_ Metered-account constants: price unit, `cMax`, the initial state key and the rotation
    /// delay and grace (see `MeteredParams`).
    constructor(
        IERC20 token_,
        uint256 pricePerCredit_,
        uint256 pricePerTicket_,
        uint256 ttlDays_,
        address owner_,
        address treasury_,
        MeteredParams memory metered_
    ) BatchIncrementalMerkleTree(ProtocolConstants.TREE_DEPTH) Ownable(owner_) {
        if (address(token_) == address(0)) revert InvalidAddress(address(0));
        if (treasury_ == address(0)) revert InvalidAddress(address(0));
        if (pricePerCredit_ == 0 || pricePerTicket_ == 0) revert InvalidPrice(0);
        if (ttlDays_ == 0 || ttlDays_ > ProtocolConstants.MAX_TTL_DAYS) revert InvalidTtlDays(ttlDays_);
        if (metered_.priceUnit == 0 || metered_.priceUnit >> 128 != 0) revert InvalidPriceUnit(metered_.priceUnit);
        if (metered_.cMax == 0 || metered_.cMax >= _AMOUNT_LIMIT) revert InvalidCMax(metered_.cMax);
        _checkStateKey(metered_.stateKeyX, metered_.stateKeyY);
        if (metered_.stateKeyDelay < MIN_STATE_KEY_DELAY || metered_.stateKeyDelay > MAX_STATE_KEY_PERIOD) {
            revert InvalidStateKeyDelay(metered_.stateKeyDelay, MIN_STATE_KEY_DELAY, MAX_STATE_KEY_PERIOD);
        }
        if (metered_.stateKeyGrace > MAX_STATE_KEY_PERIOD) {
            revert InvalidStateKeyGrace(metered_.stateKeyGrace, MAX_STATE_KEY_PERIOD);
        }
        priceUnit = metered_.priceUnit;
        cMax = metered_.cMax;
        stateKeyDelay = metered_.stateKeyDelay;
        stateKeyGrace = metered_.stateKeyGrace;
        _stateKeys.x = metered_.stateKeyX;
        _stateKeys.y = metered_.stateKeyY;
        paymentToken = token_;
        deploymentBlock = block.number;
        pricePerCredit = pricePerCredit_;
        pricePerTicket = pricePerTicket_;
        ttlDays = ttlDays_;
        treasury = treasury_;
        emit PriceUpdated(0, pricePerCredit_);
        emit TicketPriceUpdated(0, pricePerTicket_);
        emit TreasuryUpdated(address(0), treasury_);
        emit StateKeyRotated(metered_.stateKeyX, metered_.stateKeyY, 0, 0, 0);
    }

    // ------------------------------------------------------------------ purchase

    /// @inheritdoc ICreditPool
    function buy(uint256[] calldata commitments, uint256 maxTotal)
        external
        nonReentrant
        returns (uint256 startIndex, uint256 newRoot)
    {
        return _buy(commitments, maxTotal);
    }

    /// @inheritdoc ICreditPool
    function buyWithPermit(
        uint256[] calldata commitments,
        uint256 maxTotal,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant returns (uint256 startIndex, uint256 newRoot) {
        // The permit is for the buyer's ceiling; _buy pulls the current cost, which is at most that.
        try IERC20Permit(address(paymentToken)).permit(msg.sender, address(this), maxTotal, deadline, v, r, s) {}
        catch {
            // Ignored on purpose: someone may have submitted the same permit first (griefing). If the
            // allowance is insufficient, transferFrom below reverts with the token's error.
        }
        return _buy(commitments, maxTotal);
    }

    function _buy(uint256[] calldata commitments, uint256 maxTotal) private returns (uint256 startIndex, uint256 newRoot) {
        uint256 n = commitments.length;
        if (n == 0) revert EmptyBatch();
        if (n > ProtocolConstants.MAX_BATCH) revert BatchTooLarge(n, ProtocolConstants.MAX_BATCH);
        uint256 cost = pricePerCredit * n;
        if (cost > maxTotal) revert PriceAboveMax(cost, maxTotal);
        for (uint256 i; i < n; ++i) {
            uint256 c = commitments[i];
            if (c == 0 || c >= ProtocolConstants.FIELD_MODULUS) revert InvalidCommitment(i, c);
        }

        (startIndex, newRoot) = _insertBatch(commitments);
        _pull(cost);

        emit CreditsPurchased(msg.sender, startIndex, commitments, newRoot, cost);
    }

    /// @dev Pulls exactly `cost` payment tokens from the caller; `PaymentShortfall` if the contract's balance
    /// grew by anything else (fee-on-transfer or rebasing token).
    function _pull(uint256 cost) private {
        IERC20 token = paymentToken;
        uint256 balanceBefore = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), cost);
        uint256 received = token.balanceOf(address(this)) - balanceBefore;
        if (received != cost) revert PaymentShortfall(cost, received);
    }

    // ------------------------------------------------------------------ v2 flat accounts

    /// @inheritdoc ICreditPool
    function openFlat(uint256 id, uint256 tickets, uint256 maxTotal)
        external
        nonReentrant
        returns (uint256 leafIndex, uint256 newRoot)
    {
        uint256[] memory ids = new uint256[](1);
        uint256[] memory counts = new uint256[](1);
        ids[0] = id;
        counts[0] = tickets;
        return _openFlat(ids, counts, maxTotal);
    }

    /// @inheritdoc ICreditPool
    function openFlatBatch(uint256[] calldata ids, uint256[] calldata tickets, uint256 maxTotal)
        external
        nonReentrant
        returns (uint256 startIndex, uint256 newRoot)
    {
        return _openFlat(ids, tickets, maxTotal);
    }

    /// @inheritdoc ICreditPool
    function openFlatWithPermit(
        uint256[] calldata ids,
        uint256[] calldata tickets,
        uint256 maxTotal,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant returns (uint256 startIndex, uint256 newRoot) {
        try IERC20Permit(address(paymentToken)).permit(msg.sender, address(this), maxTotal, deadline, v, r, s) {}
        catch {
            // As in buyWithPermit: a failed (e.g. front-run) permit is ignored; transferFrom decides.
        }
        return _openFlat(ids, tickets, maxTotal);
    }

    /// @dev Validates the batch, records each account in its slot, inserts the leaves computed here, pulls
    /// the payment, then emits one `AccountOpened` per account (all with the batch's root).
    function _openFlat(uint256[] memory ids, uint256[] memory tickets, uint256 maxTotal)
        private
        returns (uint256 startIndex, uint256 newRoot)
    {
        uint256 n = ids.length;
        if (n == 0) revert EmptyBatch();
        if (n > ProtocolConstants.MAX_BATCH) revert BatchTooLarge(n, ProtocolConstants.MAX_BATCH);
        if (tickets.length != n) revert LengthMismatch(n, tickets.length);
        uint256 price = pricePerTicket;
        uint256 cost;
        {
            uint256 total;
            for (uint256 i; i < n; ++i) {
                uint256 t = tickets[i];
                if (t == 0 || t > ProtocolConstants.MAX_TICKETS) revert InvalidTicketCount(i, t);
                total += t;
            }
            cost = price * total;
            if (cost > maxTotal) revert PriceAboveMax(cost, maxTotal);
        }

        startIndex = _leafCount();
        uint256 expiryDay = block.timestamp / 1 days + ttlDays;
        uint256[] memory leaves = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            uint256 id = ids[i];
            if (id == 0 || id >= _P) revert InvalidAccountId(i, id);
            if (accounts[id].status != 0) revert AccountExists(id);
            // Casts: index < 2^20 (else TreeFull reverts below), tickets <= MAX_TICKETS < 2^16 (checked above),
            // expiryDay < 2^32 (today is about 20,000; ttlDays <= MAX_TTL_DAYS).
            // forge-lint: disable-next-line(unsafe-typecast)
            accounts[id] = Account(uint32(startIndex + i), uint16(tickets[i]), uint32(expiryDay), _STATUS_ACTIVE, _KIND_FLAT);
            leaves[i] = Poseidon2.hashAccountFlat(id, tickets[i], expiryDay);
        }

        (, newRoot) = _insertBatchFromMemory(leaves);
        _pull(cost);

        for (uint256 i; i < n; ++i) {
            uint256 t = tickets[i];
            emit AccountOpened(ids[i], msg.sender, startIndex + i, t, expiryDay, leaves[i], newRoot, price * t);
        }
    }

    // ------------------------------------------------------------------ v2 metered accounts

    /// @inheritdoc ICreditPool
    function openMetered(uint256 id, uint256 dLane, uint256 lanesLog2, uint256 sLane, uint256 maxTotal)
        external
        nonReentrant
        returns (uint256 leafIndex)
    {
        return _openMetered(id, dLane, lanesLog2, sLane, maxTotal);
    }

    /// @inheritdoc ICreditPool
    function openMeteredWithPermit(
        uint256 id,
        uint256 dLane,
        uint256 lanesLog2,
        uint256 sLane,
        uint256 maxTotal,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant returns (uint256 leafIndex) {
        try IERC20Permit(address(paymentToken)).permit(msg.sender, address(this), maxTotal, deadline, v, r, s) {}
        catch {
            // As in buyWithPermit: a failed (e.g. front-run) permit is ignored; transferFrom decides.
        }
        return _openMetered(id, dLane, lanesLog2, sLane, maxTotal);
    }

    /// @dev Validates the terms and the id, records the account, inserts the leaf computed here, pulls the
    /// payment and emits `MeteredAccountOpened`.
    function _openMetered(uint256 id, uint256 dLane, uint256 lanesLog2, uint256 sLane, uint256 maxTotal)
        private
        returns (uint256 leafIndex)
    {
        uint256 cost = _meteredPrice(dLane, lanesLog2, sLane);
        if (cost > maxTotal) revert PriceAboveMax(cost, maxTotal);
        if (id == 0 || id >= _P) revert InvalidAccountId(0, id);
        if (accounts[id].status != 0) revert AccountExists(id);

        leafIndex = _leafCount();
        uint256 expiryDay = block.timestamp / 1 days + ttlDays;
        // Casts as in _openFlat: index < 2^20 (else TreeFull reverts below), expiryDay < 2^32.
        // forge-lint: disable-next-line(unsafe-typecast)
        accounts[id] = Account(uint32(leafIndex), 0, uint32(expiryDay), _STATUS_ACTIVE, _KIND_METERED);
        uint256[] memory leaves = new uint256[](1);
        leaves[0] = Poseidon2.hashAccountMetered(id, dLane, lanesLog2, sLane, expiryDay);
        (, uint256 newRoot) = _insertBatchFromMemory(leaves);
        _pull(cost);

        emit MeteredAccountOpened(
            id, msg.sender, leafIndex, dLane, lanesLog2, sLane, expiryDay, leaves[0], newRoot, cost
        );
    }

    /// @dev `(dLane + sLane) * 2^lanesLog2 * priceUnit` after checking the terms (no overflow: the sum is
    /// below 2^41, the product below 2^44 + 128).
    function _meteredPrice(uint256 dLane, uint256 lanesLog2, uint256 sLane) private view returns (uint256) {
        if (lanesLog2 > ProtocolConstants.MAX_LANES_LOG2) revert InvalidLanesLog2(lanesLog2);
        if (dLane < cMax || dLane >= _AMOUNT_LIMIT) revert InvalidLaneDeposit(dLane, cMax);
        if (sLane == 0 || sLane >= _AMOUNT_LIMIT) revert InvalidLaneStake(sLane);
        return ((dLane + sLane) << lanesLog2) * priceUnit;
    }

    /// @inheritdoc ICreditPool
    function proposeStateKey(uint256 x, uint256 y) external onlyOwner {
        _checkStateKey(x, y);
        // forge-lint: disable-next-line(unsafe-typecast)
        uint64 activatesAt = uint64(block.timestamp + stateKeyDelay); // < 2^64 for any real timestamp
        (_stateKeys.pendingX, _stateKeys.pendingY, _stateKeys.pendingActivatesAt) = (x, y, activatesAt);
        emit StateKeyProposed(x, y, activatesAt);
    }

    /// @inheritdoc ICreditPool
    function activateStateKey() external {
        StateKeys storage k = _stateKeys;
        uint64 activatesAt = k.pendingActivatesAt;
        if (activatesAt == 0) revert NoPendingStateKey();
        if (block.timestamp < activatesAt) revert StateKeyTimelocked(activatesAt, block.timestamp);
        // forge-lint: disable-next-line(unsafe-typecast)
        uint64 validUntil = uint64(block.timestamp + stateKeyGrace);
        (k.previousX, k.previousY, k.previousValidUntil) = (k.x, k.y, validUntil);
        (k.x, k.y) = (k.pendingX, k.pendingY);
        (k.pendingX, k.pendingY, k.pendingActivatesAt) = (0, 0, 0);
        emit StateKeyRotated(k.x, k.y, k.previousX, k.previousY, validUntil);
    }

    /// @inheritdoc ICreditPool
    function cancelStateKey() external onlyOwner {
        StateKeys storage k = _stateKeys;
        if (k.pendingActivatesAt == 0) revert NoPendingStateKey();
        emit StateKeyProposalCancelled(k.pendingX, k.pendingY);
        (k.pendingX, k.pendingY, k.pendingActivatesAt) = (0, 0, 0);
    }

    /// @dev Reverts `InvalidStateKey` unless `(x, y)` is an affine Grumpkin point: `x, y < p` and
    /// `y^2 = x^3 - 17 (mod p)`. Grumpkin has cofactor 1, so every such point is in the prime-order group;
    /// `(0, 0)` fails the equation (`0 != -17`).
    function _checkStateKey(uint256 x, uint256 y) private pure {
        uint256 p = _P;
        if (x >= p || y >= p || mulmod(y, y, p) != addmod(mulmod(mulmod(x, x, p), x, p), p - 17, p)) {
            revert InvalidStateKey(x, y);
        }
    }

    /// @inheritdoc ICreditPool
    function slash(uint256 nf, uint256 x1, uint256 y1, uint256 x2, uint256 y2) external returns (uint256 id) {
        if (nf >= _P || x1 >= _P || y1 >= _P || x2 >= _P || y2 >= _P) {
            revert InvalidEvidence(nf, EvidenceFault.NonCanonical);
        }
        if (x1 == x2) revert InvalidEvidence(nf, EvidenceFault.SameRequestHash);
        // a = (y1 - y2) / (x1 - x2), k = y1 - a * x1 (mod p)
        uint256 a = mulmod(addmod(y1, _P - y2, _P), _inverse(addmod(x1, _P - x2, _P)), _P);
        if (Poseidon2.hashTicketNullifier(a) != nf) revert InvalidEvidence(nf, EvidenceFault.NullifierMismatch);
        uint256 k = addmod(y1, _P - mulmod(a, x1, _P), _P);
        id = Poseidon2.hashAccountId(k);

        Account storage account = accounts[id];
        uint8 status = account.status;
        if (status == 0) revert UnknownAccount(id);
        if (status != _STATUS_ACTIVE) revert AccountNotActive(id, status);
        account.status = _STATUS_SLASHED;
        emit AccountSlashed(id, nf, msg.sender);
    }

    /// @dev `v^(p-2) mod p` (Fermat) with the modexp precompile; `v` is non-zero and < p.
    function _inverse(uint256 v) private view returns (uint256 inv) {
        uint256 p = _P;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, 0x20)
            mstore(add(m, 0x20), 0x20)
            mstore(add(m, 0x40), 0x20)
            mstore(add(m, 0x60), v)
            mstore(add(m, 0x80), sub(p, 2))
            mstore(add(m, 0xa0), p)
            if iszero(staticcall(gas(), 0x05, m, 0xc0, m, 0x20)) { revert(0, 0) }
            inv := mload(m)
        }
    }

    // ------------------------------------------------------------------ administration

    /// @inheritdoc ICreditPool
    function setPricePerCredit(uint256 newPrice) external onlyOwner {
        if (newPrice == 0) revert InvalidPrice(0);
        emit PriceUpdated(pricePerCredit, newPrice);
        pricePerCredit = newPrice;
    }

    /// @inheritdoc ICreditPool
    function setPricePerTicket(uint256 newPrice) external onlyOwner {
        if (newPrice == 0) revert InvalidPrice(0);
        emit TicketPriceUpdated(pricePerTicket, newPrice);
        pricePerTicket = newPrice;
    }

    /// @inheritdoc ICreditPool
    function setTreasury(address newTreasury) external onlyOwner {
        if (newTreasury == address(0)) revert InvalidAddress(address(0));
        emit TreasuryUpdated(treasury, newTreasury);
        treasury = newTreasury;
    }

    /// @inheritdoc ICreditPool
    function setOperator(address newOperator) external onlyOwner {
        emit OperatorUpdated(operator, newOperator);
        operator = newOperator;
    }

    /// @inheritdoc ICreditPool
    function withdraw() external nonReentrant returns (uint256 amount) {
        if (msg.sender != owner() && msg.sender != operator) revert UnauthorizedWithdrawer(msg.sender);
        amount = paymentToken.balanceOf(address(this));
        if (amount == 0) revert NothingToWithdraw();
        address to = treasury;
        paymentToken.safeTransfer(to, amount);
        emit Withdrawn(to, amount);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc ICreditPool
    function stateKeys() external view returns (StateKeys memory) {
        return _stateKeys;
    }

    /// @inheritdoc ICreditPool
    function meteredPrice(uint256 dLane, uint256 lanesLog2, uint256 sLane) external view returns (uint256) {
        return _meteredPrice(dLane, lanesLog2, sLane);
    }

    /// @inheritdoc ICreditPool
    function currentDay() external view returns (uint256) {
        return block.timestamp / 1 days;
    }

    /// @inheritdoc ICreditPool
    function currentRoot() external view returns (uint256) {
        return _currentRoot();
    }

    /// @inheritdoc ICreditPool
    function nextIndex() external view returns (uint256) {
        return _leafCount();
    }

    /// @inheritdoc ICreditPool
    function isKnownRoot(uint256 root) external view returns (bool) {
        return _isKnownRoot(root);
    }

    /// @inheritdoc ICreditPool
    function zeros(uint256 level) external pure returns (uint256) {
        if (level > ProtocolConstants.TREE_DEPTH) revert ZeroHashes.LevelOutOfRange(level, ProtocolConstants.TREE_DEPTH);
        return ZeroHashes.zero(level);
    }

    /// @inheritdoc ICreditPool
    function treeDepth() external pure returns (uint256) {
        return ProtocolConstants.TREE_DEPTH;
    }

    /// @inheritdoc ICreditPool
    function rootHistorySize() external pure returns (uint256) {
        return ProtocolConstants.ROOT_HISTORY_SIZE;
    }

    /// @inheritdoc ICreditPool
    function maxBatch() external pure returns (uint256) {
        return ProtocolConstants.MAX_BATCH;
    }
}
