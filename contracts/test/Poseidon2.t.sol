// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Test} from "./utils/Test.sol";
import {vm} from "./utils/Vm.sol";
import {Poseidon2Harness} from "./harness/Poseidon2Harness.sol";
import {Poseidon2Reference} from "./utils/Poseidon2Reference.sol";
import {ZeroHashes} from "../src/generated/ZeroHashes.sol";
import {ProtocolConstants} from "../src/generated/ProtocolConstants.sol";

/// @notice The generated Yul Poseidon2 against bb.js vectors (protocol/test-vectors.json) and, on random
/// inputs, against a plain Solidity implementation of the permutation.
contract Poseidon2Test is Test {
    uint256 internal constant P = ProtocolConstants.FIELD_MODULUS;

    Poseidon2Harness internal h;
    Poseidon2Reference internal ref;
    string internal json;

    function setUp() public {
        h = new Poseidon2Harness();
        ref = new Poseidon2Reference();
        json = readVectors();
    }

    function test_permutation_matchesBbJsVectors() public view {
        uint256 count = vm.parseJsonUint(json, ".permutation.count");
        uint256[] memory ins = vm.parseJsonUintArray(json, ".permutation.inputs");
        uint256[] memory outs = vm.parseJsonUintArray(json, ".permutation.outputs");
        assertEq(ins.length, 4 * count, "inputs length");
        for (uint256 k; k < count; ++k) {
            uint256[4] memory s = [ins[4 * k], ins[4 * k + 1], ins[4 * k + 2], ins[4 * k + 3]];
            uint256[4] memory got = h.permutation(s);
            uint256[4] memory want = ref.permutation(s);
            for (uint256 i; i < 4; ++i) {
                assertEq(got[i], outs[4 * k + i], "permutation vs bb.js");
                assertEq(want[i], outs[4 * k + i], "reference vs bb.js");
            }
        }
    }

    function test_hash_matchesBbJsSpongeForEveryLength() public view {
        uint256 count = vm.parseJsonUint(json, ".hash.count");
        assertEq(count, 9, "lengths 0..8");
        for (uint256 k; k < count; ++k) {
            uint256[] memory inputs = vm.parseJsonUintArray(json, key(".hash.vectors", k, ".inputs"));
            uint256 want = vm.parseJsonUint(json, key(".hash.vectors", k, ".output"));
            assertEq(inputs.length, k, "vector length");
            assertEq(h.hash(inputs), want, "sponge vs bb.js");
            if (k == 3) assertEq(h.hash3(inputs[0], inputs[1], inputs[2]), want, "hash3 vs bb.js");
        }
    }

    function test_protocolHashes_matchBbJs() public view {
        uint256[] memory nul = vm.parseJsonUintArray(json, ".hashLeaf.nullifier");
        uint256[] memory sec = vm.parseJsonUintArray(json, ".hashLeaf.secret");
        uint256[] memory com = vm.parseJsonUintArray(json, ".hashLeaf.commitment");
        uint256[] memory nh = vm.parseJsonUintArray(json, ".nullifierHash.hash");
        assertTrue(nul.length > 0, "leaf vectors present");
        for (uint256 i; i < nul.length; ++i) {
            assertEq(h.hashLeaf(nul[i], sec[i]), com[i], "hashLeaf vs bb.js");
            assertEq(h.hashNullifier(nul[i]), nh[i], "hashNullifier vs bb.js");
        }
        uint256[] memory l = vm.parseJsonUintArray(json, ".hashNode.left");
        uint256[] memory r = vm.parseJsonUintArray(json, ".hashNode.right");
        uint256[] memory o = vm.parseJsonUintArray(json, ".hashNode.hash");
        assertTrue(l.length > 0, "node vectors present");
        for (uint256 i; i < l.length; ++i) {
            assertEq(h.hashNode(l[i], r[i]), o[i], "hashNode vs bb.js");
        }
    }

    function test_zeroHashes_matchBbJsAtEveryLevel() public view {
        uint256[] memory z = vm.parseJsonUintArray(json, ".zeros");
        assertEq(z.length, ProtocolConstants.TREE_DEPTH + 1, "levels 0..DEPTH");
        for (uint256 i; i < z.length; ++i) {
            assertEq(ZeroHashes.zero(i), z[i], "zero hash vs bb.js");
            if (i > 0) assertEq(h.hashNode(z[i - 1], z[i - 1]), z[i], "Z(i) = H(TAG_NODE, Z(i-1), Z(i-1))");
        }
    }

    function test_RevertWhen_zeroLevelAboveDepth() public {
        vm.expectRevert(abi.encodeWithSelector(ZeroHashes.LevelOutOfRange.selector, 21, 20));
        this.zeroAt(21);
    }

    function zeroAt(uint256 level) external pure returns (uint256) {
        return ZeroHashes.zero(level);
    }

    /// @dev Unreduced limbs near 2^256 exercise the lazy-reduction bounds of the generated code.
    function testFuzz_permutation_equalsReference(uint256 a, uint256 b, uint256 c, uint256 d) public view {
        uint256[4] memory s = [a, b, c, d];
        uint256[4] memory got = h.permutation(s);
        uint256[4] memory want = ref.permutation(s);
        for (uint256 i; i < 4; ++i) assertEq(got[i], want[i], "generated vs reference permutation");
    }

    function testFuzz_permutation_nearModulus(uint8 da, uint8 db, uint8 dc, uint8 dd) public view {
        uint256[4] memory s = [P - 1 - da, P - 1 - db, P - 1 - dc, P - 1 - dd];
        uint256[4] memory got = h.permutation(s);
        uint256[4] memory want = ref.permutation(s);
        for (uint256 i; i < 4; ++i) assertEq(got[i], want[i], "generated vs reference near p");
    }

    function testFuzz_hashNode_isPermutationLaneZero(uint256 l, uint256 r) public view {
        l %= P;
        r %= P;
        uint256[4] memory want = ref.permutation([ProtocolConstants.TAG_NODE, l, r, uint256(3) << 64]);
        assertEq(h.hashNode(l, r), want[0], "hashNode = perm([TAG_NODE, l, r, 3<<64])[0]");
    }

    /// The v2 helpers are the generic sponge (checked against bb.js above) on their tagged inputs.
    function testFuzz_v2Hashes_equalSponge(uint256 id, uint256 tickets, uint256 expiryDay) public view {
        id %= P;
        tickets %= P;
        expiryDay %= P;
        uint256[] memory four = new uint256[](4);
        (four[0], four[1], four[2], four[3]) = (ProtocolConstants.TAG_ACCOUNT_F, id, tickets, expiryDay);
        assertEq(h.hashAccountFlat(id, tickets, expiryDay), h.hash(four), "hashAccountFlat = H(TAG_ACCOUNT_F, id, N, expiry)");
        uint256[] memory two = new uint256[](2);
        (two[0], two[1]) = (ProtocolConstants.TAG_ID, id);
        assertEq(h.hashAccountId(id), h.hash(two), "hashAccountId = H(TAG_ID, k)");
        two[0] = ProtocolConstants.TAG_NF;
        assertEq(h.hashTicketNullifier(id), h.hash(two), "hashTicketNullifier = H(TAG_NF, a)");
    }

    function test_hashNode_gas() public view {
        // Measured in the gas snapshot; see bench/gas.ts for the receipt-based number.
        h.hashNode(1, 2);
    }
}
