// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Poseidon2} from "./generated/Poseidon2.sol";
import {ZeroHashes} from "./generated/ZeroHashes.sol";
import {ProtocolConstants} from "./generated/ProtocolConstants.sol";

/// @title BatchIncrementalMerkleTree
/// @notice Append-only Poseidon2 Merkle tree (nodes `H(TAG_NODE, left, right)`, empty leaf 0) that inserts
/// a whole batch of leaves at once and remembers the last `ROOT_HISTORY_SIZE` roots.
/// @dev Only the frontier is stored: `_filledSubtrees[l]` is the last complete left node at level `l`.
/// A batch is processed level by level over the contiguous range of nodes it changes, so every changed
/// parent is hashed exactly once per batch (about `n + depth` hashes for `n` leaves) and each level costs
/// at most one frontier write. Leaves themselves live only in the `CreditsPurchased` events.
abstract contract BatchIncrementalMerkleTree {
    /// @notice The batch of `count` leaves starting at `nextIndex` does not fit in the tree.
    error TreeFull(uint256 nextIndex, uint256 count);

    /// @notice Tree depth outside `1..ZeroHashes.MAX_LEVEL`.
    error InvalidTreeDepth(uint256 depth);

    uint256 internal constant _HISTORY = ProtocolConstants.ROOT_HISTORY_SIZE;

    /// @dev Depth of this tree (immutable so that tests can instantiate small trees).
    uint256 internal immutable _depth;

    /// @dev `_filledSubtrees[l]` = node `(nextIndex >> l) - 1` at level `l` whenever `(nextIndex >> l)` is odd.
    mapping(uint256 level => uint256 node) private _filledSubtrees;

    /// @dev Ring buffer of the last `_HISTORY` roots; `_rootCursor` points at the current root.
    mapping(uint256 slot => uint256 root) private _roots;

    /// @dev Number of leaves inserted so far (< 2^64).
    uint64 private _nextIndex;

    /// @dev Slot of the current root in `_roots`.
    uint64 private _rootCursor;

    constructor(uint256 depth_) {
        if (depth_ == 0 || depth_ > ZeroHashes.MAX_LEVEL) revert InvalidTreeDepth(depth_);
        _depth = depth_;
        _roots[0] = ZeroHashes.zero(depth_);
    }

    /// @dev Appends `leaves` (non-empty; callers validate their values) and records the new root.
    /// @return startIndex Index of `leaves[0]`.
    /// @return newRoot Root after the whole batch.
    function _insertBatch(uint256[] calldata leaves) internal returns (uint256 startIndex, uint256 newRoot) {
        uint256 n = leaves.length;
        uint256 buf;
        assembly ("memory-safe") {
            buf := mload(0x40)
            calldatacopy(buf, leaves.offset, shl(5, n))
            mstore(0x40, add(buf, shl(5, n)))
        }
        return _insertBuffer(buf, n);
    }

    /// @dev `_insertBatch` for leaves computed in memory (`leaves` itself is left unchanged).
    function _insertBatchFromMemory(uint256[] memory leaves) internal returns (uint256 startIndex, uint256 newRoot) {
        uint256 n = leaves.length;
        uint256 buf;
        assembly ("memory-safe") {
            buf := mload(0x40)
            mcopy(buf, add(leaves, 0x20), shl(5, n))
            mstore(0x40, add(buf, shl(5, n)))
        }
        return _insertBuffer(buf, n);
    }

    /// @dev Inserts the `n` leaves at memory `buf`, which it uses as its working buffer (overwritten).
    function _insertBuffer(uint256 buffer, uint256 n) private returns (uint256 startIndex, uint256 newRoot) {
        uint256 depth = _depth;
        startIndex = _nextIndex;
        uint256 end = startIndex + n;
        if (end > (uint256(1) << depth)) revert TreeFull(startIndex, n);
        uint256 buf = buffer; // a copy near the top of the stack, in reach of the loop below

        // Working buffer: nodes lo..hi of the current level; parents overwrite it in place (parent j is
        // written at j - (lo >> 1) <= 2j - lo, i.e. never before both of its children are read).

        uint256 lo = startIndex;
        uint256 hi = end - 1;
        for (uint256 level; level < depth; ++level) {
            // Left neighbour of the range, read before this level's frontier is updated.
            uint256 leftEdge = (lo & 1) == 1 ? _filledSubtrees[level] : 0;

            // New frontier: needed by the next batch iff the next index at this level is odd.
            uint256 k = end >> level;
            if ((k & 1) == 1 && k - 1 >= lo) {
                uint256 v;
                assembly ("memory-safe") {
                    v := mload(add(buf, shl(5, sub(sub(k, 1), lo))))
                }
                _filledSubtrees[level] = v;
            }

            uint256 zero = ZeroHashes.zero(level);
            uint256 plo = lo >> 1;
            uint256 phi = hi >> 1;
            for (uint256 j = plo; j <= phi; ++j) {
                uint256 left;
                uint256 right;
                uint256 li = j << 1;
                assembly ("memory-safe") {
                    switch lt(li, lo)
                    case 1 { left := leftEdge }
                    default { left := mload(add(buf, shl(5, sub(li, lo)))) }
                    switch gt(add(li, 1), hi)
                    case 1 { right := zero }
                    default { right := mload(add(buf, shl(5, sub(add(li, 1), lo)))) }
                }
                uint256 parent = Poseidon2.hashNode(left, right);
                assembly ("memory-safe") {
                    mstore(add(buf, shl(5, sub(j, plo))), parent)
                }
            }
            lo = plo;
            hi = phi;
        }

        assembly ("memory-safe") {
            newRoot := mload(buf)
        }
        // forge-lint: disable-next-line(unsafe-typecast) -- a value mod 64 fits in uint64
        uint64 cursor = uint64((_rootCursor + 1) % _HISTORY);
        _roots[cursor] = newRoot;
        _rootCursor = cursor;
        // forge-lint: disable-next-line(unsafe-typecast) -- end <= 2^depth <= 2^20
        _nextIndex = uint64(end);
    }

    /// @dev Root after the latest insertion (the empty-tree root before any).
    function _currentRoot() internal view returns (uint256) {
        return _roots[_rootCursor];
    }

    /// @dev Number of leaves inserted so far.
    function _leafCount() internal view returns (uint256) {
        return _nextIndex;
    }

    /// @dev Whether `root` is one of the last `_HISTORY` roots (newest first). Zero is never a root.
    function _isKnownRoot(uint256 root) internal view returns (bool) {
        if (root == 0) return false;
        uint256 cursor = _rootCursor;
        uint256 i = cursor;
        do {
            if (_roots[i] == root) return true;
            i = i == 0 ? _HISTORY - 1 : i - 1;
        } while (i != cursor);
        return false;
    }
}
