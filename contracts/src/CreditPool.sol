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
import {ProtocolConstants} from "./generated/ProtocolConstants.sol";
import {ZeroHashes} from "./generated/ZeroHashes.sol";

/// @title CreditPool
/// @notice zkcredits credit sale: commitments bought with an ERC-20 are appended to a depth-`TREE_DEPTH`
/// Poseidon2 tree; the server accepts proofs against any of the last `ROOT_HISTORY_SIZE` roots.
contract CreditPool is ICreditPool, BatchIncrementalMerkleTree, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

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

    /// @param token_ Payment ERC-20 (must not charge transfer fees).
    /// @param pricePerCredit_ Price of one credit in token base units (non-zero).
    /// @param owner_ Administrator (two-step transferable).
    /// @param treasury_ Receiver of withdrawn proceeds.
    constructor(IERC20 token_, uint256 pricePerCredit_, address owner_, address treasury_)
        BatchIncrementalMerkleTree(ProtocolConstants.TREE_DEPTH)
        Ownable(owner_)
    {
        if (address(token_) == address(0)) revert InvalidAddress(address(0));
        if (treasury_ == address(0)) revert InvalidAddress(address(0));
        if (pricePerCredit_ == 0) revert InvalidPrice(0);
        paymentToken = token_;
        deploymentBlock = block.number;
        pricePerCredit = pricePerCredit_;
        treasury = treasury_;
        emit PriceUpdated(0, pricePerCredit_);
        emit TreasuryUpdated(address(0), treasury_);
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

        IERC20 token = paymentToken;
        uint256 balanceBefore = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), cost);
        uint256 received = token.balanceOf(address(this)) - balanceBefore;
        if (received != cost) revert PaymentShortfall(cost, received);

        emit CreditsPurchased(msg.sender, startIndex, commitments, newRoot, received);
    }

    // ------------------------------------------------------------------ administration

    /// @inheritdoc ICreditPool
    function setPricePerCredit(uint256 newPrice) external onlyOwner {
        if (newPrice == 0) revert InvalidPrice(0);
        emit PriceUpdated(pricePerCredit, newPrice);
        pricePerCredit = newPrice;
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
