// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title ICreditPool
/// @notice Sells zkcredits: each credit is a commitment `C = H(TAG_LEAF, nullifier, secret)` appended to an
/// on-chain Poseidon2 Merkle tree, paid for in one ERC-20 at a fixed price per credit (see docs/PROTOCOL.md).
/// @dev Also reverts with `TreeFull(uint256 nextIndex, uint256 count)` (BatchIncrementalMerkleTree) when a
/// batch does not fit, and with OpenZeppelin's `OwnableUnauthorizedAccount` / `SafeERC20FailedOperation`.
interface ICreditPool {
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

    /// @notice The purchase would cost `total` (the current `pricePerCredit * n`), more than the buyer's
    /// `maxTotal`: the price was raised after the buyer looked at it.
    error PriceAboveMax(uint256 total, uint256 maxTotal);

    // ------------------------------------------------------------------ events

    /// @notice `buyer` paid `amountPaid` for `commitments`, now leaves `startIndex .. startIndex + n - 1`;
    /// `newRoot` is the tree root after the whole batch. Replaying these events in (block, log index)
    /// order rebuilds the tree.
    event CreditsPurchased(
        address indexed buyer, uint256 indexed startIndex, uint256[] commitments, uint256 newRoot, uint256 amountPaid
    );

    /// @notice The price per credit changed from `oldPrice` to `newPrice` (token base units).
    event PriceUpdated(uint256 oldPrice, uint256 newPrice);

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

    // ------------------------------------------------------------------ administration

    /// @notice Sets the price per credit (owner only; non-zero). Emits `PriceUpdated`.
    function setPricePerCredit(uint256 newPrice) external;

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

    /// @notice Receiver of withdrawn proceeds.
    function treasury() external view returns (address);

    /// @notice Address allowed to withdraw besides the owner (zero if none).
    function operator() external view returns (address);

    /// @notice Root after the latest purchase (the empty-tree root before any).
    function currentRoot() external view returns (uint256);

    /// @notice Number of credits sold so far = index of the next leaf.
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

    /// @notice Largest batch accepted by `buy` (`MAX_BATCH`).
    function maxBatch() external view returns (uint256);
}
