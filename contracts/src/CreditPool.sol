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
/// @notice zkcredits sale: v1 credit commitments and v2 flat-account leaves bought with an ERC-20 are appended
/// to one depth-`TREE_DEPTH` Poseidon2 tree; the server accepts proofs against any of the last
/// `ROOT_HISTORY_SIZE` roots.
contract CreditPool is ICreditPool, BatchIncrementalMerkleTree, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @dev One flat account, packed in one slot (see `accounts`).
    struct Account {
        uint32 leafIndex;
        uint16 tickets;
        uint32 expiryDay;
        uint8 status;
    }

    uint8 internal constant _STATUS_ACTIVE = 1;
    uint8 internal constant _STATUS_SLASHED = 2;
    uint256 internal constant _P = ProtocolConstants.FIELD_MODULUS;

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

    /// @param token_ Payment ERC-20 (must not charge transfer fees).
    /// @param pricePerCredit_ Price of one credit in token base units (non-zero).
    /// @param pricePerTicket_ Price of one flat-account ticket in token base units (non-zero).
    /// @param ttlDays_ Flat-account lifetime in days (`1..MAX_TTL_DAYS`); fixed for the deployment, so that
    /// servers know how long to keep a ticket (first seen + `ttlDays` + grace).
    /// @param owner_ Administrator (two-step transferable).
    /// @param treasury_ Receiver of withdrawn proceeds.
    constructor(
        IERC20 token_,
        uint256 pricePerCredit_,
        uint256 pricePerTicket_,
        uint256 ttlDays_,
        address owner_,
        address treasury_
    ) BatchIncrementalMerkleTree(ProtocolConstants.TREE_DEPTH) Ownable(owner_) {
        if (address(token_) == address(0)) revert InvalidAddress(address(0));
        if (treasury_ == address(0)) revert InvalidAddress(address(0));
        if (pricePerCredit_ == 0 || pricePerTicket_ == 0) revert InvalidPrice(0);
        if (ttlDays_ == 0 || ttlDays_ > ProtocolConstants.MAX_TTL_DAYS) revert InvalidTtlDays(ttlDays_);
        paymentToken = token_;
        deploymentBlock = block.number;
        pricePerCredit = pricePerCredit_;
        pricePerTicket = pricePerTicket_;
        ttlDays = ttlDays_;
        treasury = treasury_;
        emit PriceUpdated(0, pricePerCredit_);
        emit TicketPriceUpdated(0, pricePerTicket_);
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
            accounts[id] = Account(uint32(startIndex + i), uint16(tickets[i]), uint32(expiryDay), _STATUS_ACTIVE);
            leaves[i] = Poseidon2.hashAccountFlat(id, tickets[i], expiryDay);
        }

        (, newRoot) = _insertBatchFromMemory(leaves);
        _pull(cost);

        for (uint256 i; i < n; ++i) {
            uint256 t = tickets[i];
            emit AccountOpened(ids[i], msg.sender, startIndex + i, t, expiryDay, leaves[i], newRoot, price * t);
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
