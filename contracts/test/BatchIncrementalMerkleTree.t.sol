// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Test} from "./utils/Test.sol";
import {vm} from "./utils/Vm.sol";
import {TreeHarness} from "./harness/TreeHarness.sol";
import {NaiveTree} from "./utils/NaiveTree.sol";
import {BatchIncrementalMerkleTree} from "../src/BatchIncrementalMerkleTree.sol";
import {ZeroHashes} from "../src/generated/ZeroHashes.sol";
import {ProtocolConstants} from "../src/generated/ProtocolConstants.sol";

contract BatchIncrementalMerkleTreeTest is Test {
    uint256 internal constant DEPTH = ProtocolConstants.TREE_DEPTH;
    uint256 internal constant P = ProtocolConstants.FIELD_MODULUS;

    TreeHarness internal tree;
    string internal json;

    function setUp() public {
        tree = new TreeHarness(DEPTH);
        json = readVectors();
    }

    function _leaves(uint256 seed, uint256 n) internal pure returns (uint256[] memory out) {
        out = new uint256[](n);
        for (uint256 i; i < n; ++i) out[i] = uint256(keccak256(abi.encode(seed, i))) % (P - 1) + 1;
    }

    function _slice(uint256[] memory a, uint256 from, uint256 n) internal pure returns (uint256[] memory out) {
        out = new uint256[](n);
        for (uint256 i; i < n; ++i) out[i] = a[from + i];
    }

    function test_emptyTree_rootIsBbJsEmptyRootAndKnown() public view {
        uint256 empty = vm.parseJsonUint(json, ".emptyRoot");
        assertEq(tree.root(), empty, "empty root");
        assertEq(empty, ZeroHashes.zero(DEPTH), "Z_DEPTH");
        assertTrue(tree.isKnownRoot(empty), "empty root known from deployment");
        assertTrue(!tree.isKnownRoot(0), "zero is never a root");
        assertEq(tree.leafCount(), 0, "no leaves");
    }

    function test_insert_rootsMatchBbJsTreeVectors() public {
        uint256 count = vm.parseJsonUint(json, ".trees.count");
        assertTrue(count > 0, "tree vectors present");
        for (uint256 t; t < count; ++t) {
            TreeHarness fresh = new TreeHarness(DEPTH);
            uint256[] memory batches = vm.parseJsonUintArray(json, key(".trees.vectors", t, ".batches"));
            uint256[] memory leaves = vm.parseJsonUintArray(json, key(".trees.vectors", t, ".leaves"));
            uint256[] memory roots = vm.parseJsonUintArray(json, key(".trees.vectors", t, ".roots"));
            uint256 at;
            for (uint256 b; b < batches.length; ++b) {
                (uint256 start, uint256 root) = fresh.insert(_slice(leaves, at, batches[b]));
                assertEq(start, at, "start index");
                at += batches[b];
                assertEq(root, roots[b], "batch root vs bb.js");
                assertEq(fresh.root(), roots[b], "stored root vs bb.js");
            }
            assertEq(fresh.leafCount(), leaves.length, "leaf count");
        }
    }

    /// @dev Random sequences of batch sizes: batch insertion == leaf-by-leaf reference, after every batch.
    function testFuzz_insertBatches_equalsNaiveReference(uint256 seed, uint8 b1, uint8 b2, uint8 b3, uint8 b4)
        public
    {
        NaiveTree naive = new NaiveTree(DEPTH);
        uint256[4] memory sizes = [bound(b1, 1, 40), bound(b2, 1, 17), bound(b3, 1, 64), bound(b4, 1, 9)];
        uint256 at;
        for (uint256 b; b < 4; ++b) {
            uint256[] memory leaves = _leaves(uint256(keccak256(abi.encode(seed, b))), sizes[b]);
            for (uint256 i; i < leaves.length; ++i) naive.add(leaves[i]);
            (uint256 start, uint256 root) = tree.insert(leaves);
            assertEq(start, at, "start index");
            at += sizes[b];
            assertEq(root, naive.root(), "batch root == naive root");
            assertTrue(tree.isKnownRoot(root), "new root known");
        }
        assertEq(tree.leafCount(), at, "leaf count");
    }

    /// @dev Same property on a small tree, filled up to capacity with random batch sizes.
    function testFuzz_smallTree_fillToCapacity(uint256 seed) public {
        uint256 depth = 5;
        TreeHarness small = new TreeHarness(depth);
        NaiveTree naive = new NaiveTree(depth);
        uint256 cap = uint256(1) << depth;
        uint256 at;
        for (uint256 round; at < cap; ++round) {
            uint256 n = bound(uint256(keccak256(abi.encode(seed, "n", round))), 1, 7);
            if (n > cap - at) n = cap - at;
            uint256[] memory leaves = _leaves(uint256(keccak256(abi.encode(seed, round))), n);
            for (uint256 i; i < n; ++i) naive.add(leaves[i]);
            (, uint256 root) = small.insert(leaves);
            at += n;
            assertEq(root, naive.root(), "small tree root == naive root");
        }
        assertEq(small.leafCount(), cap, "full");
    }

    function test_RevertWhen_batchExceedsCapacity() public {
        TreeHarness small = new TreeHarness(3); // 8 leaves
        small.insert(_leaves(1, 5));
        vm.expectRevert(abi.encodeWithSelector(BatchIncrementalMerkleTree.TreeFull.selector, 5, 4));
        small.insert(_leaves(2, 4));
        small.insert(_leaves(3, 3)); // exactly full
        assertEq(small.leafCount(), 8, "full tree");
        vm.expectRevert(abi.encodeWithSelector(BatchIncrementalMerkleTree.TreeFull.selector, 8, 1));
        small.insert(_leaves(4, 1));
    }

    function test_RevertWhen_depthInvalid() public {
        vm.expectRevert(abi.encodeWithSelector(BatchIncrementalMerkleTree.InvalidTreeDepth.selector, 0));
        new TreeHarness(0);
        vm.expectRevert(abi.encodeWithSelector(BatchIncrementalMerkleTree.InvalidTreeDepth.selector, 21));
        new TreeHarness(21);
    }

    function test_rootHistory_keepsLast64AndEvictsOlder() public {
        uint256 empty = tree.root();
        uint256[] memory roots = new uint256[](70);
        for (uint256 i; i < 70; ++i) {
            (, roots[i]) = tree.insert(_leaves(100 + i, 1));
        }
        // Roots 6..69 are the last 64; the empty root and roots 0..5 were evicted.
        assertTrue(!tree.isKnownRoot(empty), "empty root evicted");
        for (uint256 i; i < 6; ++i) assertTrue(!tree.isKnownRoot(roots[i]), "old root evicted");
        for (uint256 i = 6; i < 70; ++i) assertTrue(tree.isKnownRoot(roots[i]), "recent root known");
        assertEq(tree.root(), roots[69], "current root");
    }

    function test_insert_1024LeavesAtDepth20() public {
        uint256[] memory leaves = _leaves(7, ProtocolConstants.MAX_BATCH);
        NaiveTree naive = new NaiveTree(DEPTH);
        for (uint256 i; i < leaves.length; ++i) naive.add(leaves[i]);
        (, uint256 root) = tree.insert(leaves);
        assertEq(root, naive.root(), "max batch root == naive root");
    }
}
