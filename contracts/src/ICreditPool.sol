// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title ICreditPool
/// @notice Sells zkcredits, paid for in one ERC-20, as leaves of one on-chain Poseidon2 Merkle tree
/// (see docs/PROTOCOL.md):
/// - v1 credits: each credit is a commitment `C = H(TAG_LEAF, nullifier, secret)` chosen by the buyer, at a
///   fixed price per credit;
/// - v2 flat accounts: one leaf `H(TAG_ACCOUNT_F, id, tickets, expiryDay)` computed by the contract pays for
///   `tickets` calls at a price per ticket; reusing a ticket reveals two RLN shares of the account secret
///   `k` (`id = H(TAG_ID, k)`), with which anyone can `slash` the account;
/// - v2 metered accounts: one leaf `H(TAG_ACCOUNT_M, id, dLane, lanesLog2, sLane, expiryDay)` computed by the
///   contract pays a usage deposit `dLane` and a policy stake `sLane` (price units) on each of `2^lanesLog2`
///   lanes; each call pre-pays the deployment-wide `cMax` and the server refunds the unused part in a state it
///   signs with the state key pinned here (`stateKeys`, rotated behind a timelock). Tickets and slashing work
///   as for flat accounts.
/// All kinds share the tree, its root ring, the treasury and the operator.
/// @dev Also reverts with `TreeFull(uint256 nextIndex, uint256 count)` (BatchIncrementalMerkleTree) when a
/// batch does not fit, and with OpenZeppelin's `OwnableUnauthorizedAccount` / `SafeERC20FailedOperation`.
interface ICreditPool {
    // ------------------------------------------------------------------ types

    /// @notice Why `slash` refused its evidence.
    /// @dev `NonCanonical`: an input is not a field element (>= p). `SameRequestHash`: `x1 == x2`, so the
    /// shares are not two points of one line. `NullifierMismatch`: the slope recovered from the shares does
    /// not hash to the nullifier (the shares belong to another ticket or are not shares at all).
    enum EvidenceFault {
        NonCanonical,
        SameRequestHash,
        NullifierMismatch
    }

    /// @notice Deployment constants of metered accounts, the constructor's last argument.
    /// @param priceUnit Payment-token base units per price unit (`1 .. 2^128 - 1`), e.g. 10^12 for an 18-decimal
    /// token (micro-tokens) or 1 for a 6-decimal one. Immutable.
    /// @param cMax What one metered call pre-pays, in price units (`1 .. 2^40 - 1`). Immutable.
    /// @param stateKeyX The initial state key: an affine Grumpkin point (`y^2 = x^3 - 17 mod FIELD_MODULUS`).
    /// @param stateKeyY See `stateKeyX`.
    /// @param stateKeyDelay Seconds from `proposeStateKey` to the earliest `activateStateKey`
    /// (`MIN_STATE_KEY_DELAY .. MAX_STATE_KEY_PERIOD`, 1 hour .. 365 days). Immutable.
    /// @param stateKeyGrace Seconds the previous key stays valid after a rotation (`0 .. MAX_STATE_KEY_PERIOD`).
    /// Immutable.
    struct MeteredParams {
        uint256 priceUnit;
        uint256 cMax;
        uint256 stateKeyX;
        uint256 stateKeyY;
        uint256 stateKeyDelay;
        uint256 stateKeyGrace;
    }

    /// @notice The server's state keys (affine Grumpkin points) as `stateKeys()` returns them.
    /// @param x Current key: states signed under it are valid.
    /// @param y See `x`.
    /// @param previousX The key before the last rotation (zero before any rotation): still valid while
    /// `block.timestamp < previousValidUntil`.
    /// @param previousY See `previousX`.
    /// @param previousValidUntil End of the previous key's grace period (unix seconds; zero before any rotation).
    /// @param pendingX A proposed key (zero when none), current from `pendingActivatesAt` once activated.
    /// @param pendingY See `pendingX`.
    /// @param pendingActivatesAt Earliest `activateStateKey` of the pending key (unix seconds; zero when none).
    struct StateKeys {
        uint256 x;
        uint256 y;
        uint256 previousX;
        uint256 previousY;
        uint64 previousValidUntil;
        uint256 pendingX;
        uint256 pendingY;
        uint64 pendingActivatesAt;
    }

    // ------------------------------------------------------------------ errors

    /// @notice `buy` was called without commitments.
    error EmptyBatch();

    /// @notice More than `max` commitments in one call.
    error BatchTooLarge(uint256 n, uint256 max);

    /// @notice `commitments[index] == value` is zero or not a canonical field element (>= p).
    error InvalidCommitment(uint256 index, uint256 value);

    /// @notice The contract received `received` tokens instead of `expected` (fee-on-transfer or rebasing token).
    error PaymentShortfall(uint256 expected, uint256 received);

    /// @notice The price per credit must be non-zero.
    error InvalidPrice(uint256 price);

    /// @notice `account` cannot be used as payment token / treasury (zero address).
    error InvalidAddress(address account);

    /// @notice `caller` is neither the owner nor the operator.
    error UnauthorizedWithdrawer(address caller);

    /// @notice There is no balance to withdraw.
    error NothingToWithdraw();

    /// @notice The purchase would cost `total` (the current `pricePerCredit * n`, or `pricePerTicket` times
    /// the tickets of an account opening), more than the buyer's `maxTotal`: the price was raised after the
    /// buyer looked at it.
    error PriceAboveMax(uint256 total, uint256 maxTotal);

    /// @notice `ttlDays` must be in `1..MAX_TTL_DAYS`.
    error InvalidTtlDays(uint256 ttlDays);

    /// @notice `ids` and `tickets` of an account batch have different lengths.
    error LengthMismatch(uint256 ids, uint256 tickets);

    /// @notice `ids[index] == id` is zero or not a canonical field element (>= p).
    error InvalidAccountId(uint256 index, uint256 id);

    /// @notice `tickets[index] == tickets` is outside `1..MAX_TICKETS`.
    error InvalidTicketCount(uint256 index, uint256 tickets);

    /// @notice An account `id` was already opened (by an earlier transaction or earlier in this batch).
    error AccountExists(uint256 id);

    /// @notice `slash` evidence for `nullifier` is not two valid shares of one ticket (see `EvidenceFault`).
    error InvalidEvidence(uint256 nullifier, EvidenceFault fault);

    /// @notice The evidence is valid but no account `id` was ever opened.
    error UnknownAccount(uint256 id);

    /// @notice Account `id` has `status` (2 = slashed) instead of active (1).
    error AccountNotActive(uint256 id, uint8 status);

    /// @notice `MeteredParams.priceUnit` must be in `1 .. 2^128 - 1`.
    error InvalidPriceUnit(uint256 priceUnit);

    /// @notice `MeteredParams.cMax` must be in `1 .. 2^40 - 1` (price units).
    error InvalidCMax(uint256 cMax);

    /// @notice `(x, y)` is not an affine Grumpkin point: both must be `< FIELD_MODULUS` and satisfy
    /// `y^2 = x^3 - 17 (mod FIELD_MODULUS)` (so `(0, 0)`, the usual encoding of infinity, is refused too).
    error InvalidStateKey(uint256 x, uint256 y);

    /// @notice `MeteredParams.stateKeyDelay` must be in `min .. max` seconds.
    error InvalidStateKeyDelay(uint256 delay, uint256 min, uint256 max);

    /// @notice `MeteredParams.stateKeyGrace` must be at most `max` seconds.
    error InvalidStateKeyGrace(uint256 grace, uint256 max);

    /// @notice `activateStateKey` or `cancelStateKey` without a proposed key.
    error NoPendingStateKey();

    /// @notice The pending state key cannot be activated before `activatesAt` (unix seconds); it is `time` now.
    error StateKeyTimelocked(uint256 activatesAt, uint256 time);

    /// @notice A metered account has `2^lanesLog2` lanes, `lanesLog2 <= MAX_LANES_LOG2` (3).
    error InvalidLanesLog2(uint256 lanesLog2);

    /// @notice The deposit per lane `dLane` must be in `cMax .. 2^40 - 1` price units: a lane must pay at least
    /// one call.
    error InvalidLaneDeposit(uint256 dLane, uint256 cMax);

    /// @notice The stake per lane `sLane` must be in `1 .. 2^40 - 1` price units (a lane freezes once its
    /// penalties reach `sLane`, so a zero stake would be frozen from the start).
    error InvalidLaneStake(uint256 sLane);

    // ------------------------------------------------------------------ events

    /// @notice `buyer` paid `amountPaid` for `commitments`, now leaves `startIndex .. startIndex + n - 1`;
    /// `newRoot` is the tree root after the whole batch. Replaying these events in (block, log index)
    /// order rebuilds the tree.
    event CreditsPurchased(
        address indexed buyer, uint256 indexed startIndex, uint256[] commitments, uint256 newRoot, uint256 amountPaid
    );

    /// @notice `payer` paid `amountPaid` (`pricePerTicket * tickets`) for the flat account `id`, whose leaf
    /// `leaf = H(TAG_ACCOUNT_F, id, tickets, expiryDay)` (computed by the contract) is now tree leaf
    /// `leafIndex`. One event per account; every event of a batch carries the root after the WHOLE batch,
    /// the only root the ring records. Replay rule: consecutive `AccountOpened` logs of one transaction with
    /// contiguous `leafIndex` form one insertion, to be checked against `newRoot` once.
    event AccountOpened(
        uint256 indexed id,
        address indexed payer,
        uint256 leafIndex,
        uint256 tickets,
        uint256 expiryDay,
        uint256 leaf,
        uint256 newRoot,
        uint256 amountPaid
    );

    /// @notice `payer` paid `amountPaid` (`meteredPrice(dLane, lanesLog2, sLane)`) for the metered account `id`,
    /// whose leaf `leaf = H(TAG_ACCOUNT_M, id, dLane, lanesLog2, sLane, expiryDay)` (computed by the contract)
    /// is now tree leaf `leafIndex`; `newRoot` is the root after it. Replay: one insertion of one leaf, in
    /// (block, log index) order with `CreditsPurchased` and `AccountOpened`.
    event MeteredAccountOpened(
        uint256 indexed id,
        address indexed payer,
        uint256 leafIndex,
        uint256 dLane,
        uint256 lanesLog2,
        uint256 sLane,
        uint256 expiryDay,
        uint256 leaf,
        uint256 newRoot,
        uint256 amountPaid
    );

    /// @notice The owner proposed the state key `(x, y)`; anyone may activate it from `activatesAt` on.
    event StateKeyProposed(uint256 x, uint256 y, uint64 activatesAt);

    /// @notice `(x, y)` is now the state key. The key before it, `(previousX, previousY)`, stays valid until
    /// `previousValidUntil` (unix seconds). Also emitted by the constructor for the initial key (previous zero).
    event StateKeyRotated(uint256 x, uint256 y, uint256 previousX, uint256 previousY, uint64 previousValidUntil);

    /// @notice The owner withdrew the proposed state key `(x, y)`.
    event StateKeyProposalCancelled(uint256 x, uint256 y);

    /// @notice Account `id` was slashed by `reporter` with two shares of the ticket `nullifier`; its secret
    /// is public from the calldata. Nothing was paid to anyone.
    event AccountSlashed(uint256 indexed id, uint256 indexed nullifier, address indexed reporter);

    /// @notice The price per credit changed from `oldPrice` to `newPrice` (token base units).
    event PriceUpdated(uint256 oldPrice, uint256 newPrice);

    /// @notice The price per account ticket changed from `oldPrice` to `newPrice` (token base units).
    event TicketPriceUpdated(uint256 oldPrice, uint256 newPrice);

    /// @notice Proceeds now go to `newTreasury`.
    event TreasuryUpdated(address indexed oldTreasury, address indexed newTreasury);

    /// @notice `newOperator` may now trigger withdrawals (zero: only the owner).
    event OperatorUpdated(address indexed oldOperator, address indexed newOperator);

    /// @notice `amount` of the payment token was sent to `treasury`.
    event Withdrawn(address indexed treasury, uint256 amount);

    // ------------------------------------------------------------------ purchase

    /// @notice Buys `commitments.length` credits, pulling `pricePerCredit * n` tokens with `transferFrom`
    /// (approve first). Each commitment must be non-zero and `< FIELD_MODULUS`; `1 <= n <= MAX_BATCH`.
    /// @param maxTotal The most the buyer pays for the whole batch; reverts with `PriceAboveMax` above it, so
    /// a price raised between the buyer's look and the transaction cannot take more than agreed (even from
    /// an unlimited allowance).
    /// @return startIndex Leaf index of `commitments[0]`.
    /// @return newRoot Tree root after the batch.
    function buy(uint256[] calldata commitments, uint256 maxTotal)
        external
        returns (uint256 startIndex, uint256 newRoot);

    /// @notice Like `buy`, but first applies an ERC-2612 permit of `maxTotal` signed by the caller, so no
    /// separate approve transaction is needed. A failing permit (e.g. already used by a front-runner) is
    /// ignored; the purchase then succeeds iff the allowance suffices. The buyer pays the current
    /// `pricePerCredit * n` (at most `maxTotal`).
    function buyWithPermit(
        uint256[] calldata commitments,
        uint256 maxTotal,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint256 startIndex, uint256 newRoot);

    // ------------------------------------------------------------------ v2 flat accounts

    /// @notice Opens the flat account `id` (`id = H(TAG_ID, k)` for the buyer's secret `k`) with `tickets`
    /// calls, pulling `pricePerTicket * tickets` with `transferFrom`. The contract computes the leaf
    /// `H(TAG_ACCOUNT_F, id, tickets, expiryDay)` itself, with `expiryDay = currentDay() + ttlDays`, so a
    /// leaf never claims more than was paid. `id` must be non-zero, `< FIELD_MODULUS` and never opened;
    /// `1 <= tickets <= MAX_TICKETS`.
    /// @param maxTotal The most the buyer pays (`PriceAboveMax` above it): the buyer states what it buys and
    /// the most it pays, so a price change between look and transaction can neither take more nor silently
    /// give fewer calls (the same rule as `buy`).
    /// @return leafIndex Tree index of the account leaf.
    /// @return newRoot Tree root after the insertion.
    function openFlat(uint256 id, uint256 tickets, uint256 maxTotal)
        external
        returns (uint256 leafIndex, uint256 newRoot);

    /// @notice Opens `ids.length` flat accounts (`1..MAX_BATCH`, ids unique) in one insertion, paying
    /// `pricePerTicket * sum(tickets)` (at most `maxTotal`). Each account as in `openFlat`.
    /// @return startIndex Leaf index of `ids[0]`'s account; the others follow in order.
    /// @return newRoot Tree root after the whole batch.
    function openFlatBatch(uint256[] calldata ids, uint256[] calldata tickets, uint256 maxTotal)
        external
        returns (uint256 startIndex, uint256 newRoot);

    /// @notice `openFlatBatch` after an ERC-2612 permit of `maxTotal` signed by the caller (no approve
    /// transaction). A failing permit is ignored, as in `buyWithPermit`.
    function openFlatWithPermit(
        uint256[] calldata ids,
        uint256[] calldata tickets,
        uint256 maxTotal,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint256 startIndex, uint256 newRoot);

    // ------------------------------------------------------------------ v2 metered accounts

    /// @notice Opens the metered account `id` (`id = H(TAG_ID, k)`) with `2^lanesLog2` lanes, each holding a
    /// usage deposit `dLane` and a policy stake `sLane` (price units), pulling
    /// `meteredPrice(dLane, lanesLog2, sLane) = (dLane + sLane) * 2^lanesLog2 * priceUnit` with `transferFrom`.
    /// The contract computes the leaf `H(TAG_ACCOUNT_M, id, dLane, lanesLog2, sLane, expiryDay)` with
    /// `expiryDay = currentDay() + ttlDays`. Requires `lanesLog2 <= 3`, `cMax <= dLane < 2^40`,
    /// `1 <= sLane < 2^40`, `id` non-zero, `< FIELD_MODULUS` and never opened (by either kind).
    /// Still the sale model: the payment joins the proceeds (`withdraw`).
    /// @param maxTotal The most the buyer pays (`PriceAboveMax` above it), as in `openFlat`.
    /// @return leafIndex Tree index of the account leaf.
    function openMetered(uint256 id, uint256 dLane, uint256 lanesLog2, uint256 sLane, uint256 maxTotal)
        external
        returns (uint256 leafIndex);

    /// @notice `openMetered` after an ERC-2612 permit of `maxTotal` signed by the caller (no approve
    /// transaction). A failing permit is ignored, as in `buyWithPermit`.
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
    ) external returns (uint256 leafIndex);

    /// @notice Proposes `(x, y)` as the next state key (owner only): it must be a Grumpkin point
    /// (`InvalidStateKey`). Anyone may activate it `stateKeyDelay()` seconds from now; a new proposal replaces
    /// a pending one and restarts the delay. Emits `StateKeyProposed`.
    function proposeStateKey(uint256 x, uint256 y) external;

    /// @notice Makes the pending key current once its delay has passed (anyone; `StateKeyTimelocked` before,
    /// `NoPendingStateKey` without a proposal). The current key becomes the previous one, valid for
    /// `stateKeyGrace()` more seconds; a still older key is dropped. Emits `StateKeyRotated`.
    function activateStateKey() external;

    /// @notice Withdraws the pending state key (owner only; `NoPendingStateKey` without one). Emits
    /// `StateKeyProposalCancelled`.
    function cancelStateKey() external;

    /// @notice Slashes the account whose ticket `nf` was used for two requests: `(x1, y1)` and `(x2, y2)`
    /// are its two RLN shares `y = k + a * x`. Recovers `a = (y1 - y2) / (x1 - x2)` and `k = y1 - a * x1`
    /// (mod p), requires `H(TAG_NF, a) == nf`, and marks the account `id = H(TAG_ID, k)` slashed.
    /// Permissionless, and nothing of value goes to the caller or anyone else, so an owner gains nothing by
    /// front-running the slash of his own account. Servers refuse a slashed account's tickets.
    /// Works alike for flat and metered accounts: the evidence names `H(TAG_ID, k)`, whatever its kind.
    /// @dev Reverts `InvalidEvidence` (an input >= p, `x1 == x2`, or the nullifier check),
    /// `UnknownAccount`, or `AccountNotActive` (already slashed).
    /// @return id The slashed account.
    function slash(uint256 nf, uint256 x1, uint256 y1, uint256 x2, uint256 y2) external returns (uint256 id);

    // ------------------------------------------------------------------ administration

    /// @notice Sets the price per credit (owner only; non-zero). Emits `PriceUpdated`.
    function setPricePerCredit(uint256 newPrice) external;

    /// @notice Sets the price per account ticket (owner only; non-zero). Emits `TicketPriceUpdated`. It
    /// applies to later openings only: an open account keeps its tickets.
    function setPricePerTicket(uint256 newPrice) external;

    /// @notice Sets the address that receives withdrawals (owner only; non-zero). Emits `TreasuryUpdated`.
    function setTreasury(address newTreasury) external;

    /// @notice Sets the operator allowed to call `withdraw` besides the owner (owner only). Emits `OperatorUpdated`.
    function setOperator(address newOperator) external;

    /// @notice Sends the whole payment-token balance to `treasury` (owner or operator). Emits `Withdrawn`.
    /// @return amount Tokens sent.
    function withdraw() external returns (uint256 amount);

    // ------------------------------------------------------------------ views

    /// @notice The ERC-20 accepted as payment.
    function paymentToken() external view returns (IERC20);

    /// @notice Price of one credit in payment-token base units.
    function pricePerCredit() external view returns (uint256);

    /// @notice Price of one flat-account ticket (one call) in payment-token base units.
    function pricePerTicket() external view returns (uint256);

    /// @notice Lifetime of a flat account in days: `expiryDay = currentDay() + ttlDays` at opening.
    function ttlDays() external view returns (uint256);

    /// @notice Today's UTC day number, `block.timestamp / 86400`.
    function currentDay() external view returns (uint256);

    /// @notice The account `id` (one packed slot): its tree `leafIndex`, `tickets` (flat; 0 for a metered
    /// account, whose terms are in its `MeteredAccountOpened` event), `expiryDay`, `status` 0 = never opened,
    /// 1 = active, 2 = slashed, and `kind` 1 = flat, 2 = metered (0 = never opened).
    function accounts(uint256 id)
        external
        view
        returns (uint32 leafIndex, uint16 tickets, uint32 expiryDay, uint8 status, uint8 kind);

    /// @notice Payment-token base units per price unit (metered amounts are counted in price units).
    function priceUnit() external view returns (uint256);

    /// @notice What one metered call pre-pays, in price units (deployment-wide, immutable; `< 2^40`).
    function cMax() external view returns (uint256);

    /// @notice Seconds between `proposeStateKey` and the earliest `activateStateKey`.
    function stateKeyDelay() external view returns (uint256);

    /// @notice Seconds the previous state key stays valid after a rotation.
    function stateKeyGrace() external view returns (uint256);

    /// @notice The current, previous and pending state keys (see `StateKeys`).
    function stateKeys() external view returns (StateKeys memory);

    /// @notice What `openMetered(id, dLane, lanesLog2, sLane, …)` costs now, in token base units:
    /// `(dLane + sLane) * 2^lanesLog2 * priceUnit`. Reverts like `openMetered` on terms it would refuse.
    function meteredPrice(uint256 dLane, uint256 lanesLog2, uint256 sLane) external view returns (uint256);

    /// @notice Receiver of withdrawn proceeds.
    function treasury() external view returns (address);

    /// @notice Address allowed to withdraw besides the owner (zero if none).
    function operator() external view returns (address);

    /// @notice Root after the latest purchase or account opening (the empty-tree root before any).
    function currentRoot() external view returns (uint256);

    /// @notice Number of leaves (credits and accounts) so far = index of the next leaf.
    function nextIndex() external view returns (uint256);

    /// @notice Whether `root` is one of the last `ROOT_HISTORY_SIZE` roots.
    function isKnownRoot(uint256 root) external view returns (bool);

    /// @notice Root of an empty subtree of height `level` (`0 <= level <= treeDepth()`).
    function zeros(uint256 level) external view returns (uint256);

    /// @notice Block number of the deployment (where indexers start).
    function deploymentBlock() external view returns (uint256);

    /// @notice Tree depth (`TREE_DEPTH`).
    function treeDepth() external view returns (uint256);

    /// @notice Number of recent roots accepted (`ROOT_HISTORY_SIZE`).
    function rootHistorySize() external view returns (uint256);

    /// @notice Largest batch accepted by `buy` and `openFlatBatch` (`MAX_BATCH`).
    function maxBatch() external view returns (uint256);
}
