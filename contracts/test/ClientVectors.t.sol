// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Test} from "./utils/Test.sol";
import {vm} from "./utils/Vm.sol";
import {Poseidon2} from "../src/generated/Poseidon2.sol";
import {ProtocolConstants} from "../src/generated/ProtocolConstants.sol";

/// @notice protocol/client-vectors.json is written by the TypeScript core (scripts/gen-client-vectors.ts).
/// Its field elements are recomputed here with the Solidity Poseidon2, so the vectors pin core to a
/// second implementation rather than to itself. The signed text, its SHA-256 and the zkc1 form are
/// recomputed without core by packages/core/test/client-vectors.test.ts.
contract ClientVectorsTest is Test {
    string internal json;

    function setUp() public {
        json = vm.readFile(string.concat(vm.projectRoot(), "/protocol/client-vectors.json"));
    }

    /// @dev request_hash = H(TAG_REQUEST, chainId, contract, digest[0..16], digest[16..32]) (PROTOCOL.md).
    function test_requestHash_isPoseidon2OfTagChainContractAndDigestHalves() public view {
        uint256 n;
        for (; vm.keyExistsJson(json, key(".requestHash", n, "")); ++n) {
            bytes32 digest = vm.parseJsonBytes32(json, key(".requestHash", n, ".digest"));
            uint256[] memory inputs = new uint256[](5);
            inputs[0] = ProtocolConstants.TAG_REQUEST;
            inputs[1] = vm.parseJsonUint(json, key(".requestHash", n, ".chainId"));
            inputs[2] = uint256(uint160(vm.parseJsonAddress(json, key(".requestHash", n, ".contract"))));
            inputs[3] = uint256(digest) >> 128;
            inputs[4] = uint256(digest) & type(uint128).max;
            uint256 want = vm.parseJsonUint(json, key(".requestHash", n, ".requestHash"));
            assertEq(Poseidon2.hash(inputs), want, "request_hash vs Solidity Poseidon2");
        }
        assertTrue(n >= 4, "request vectors present");
    }

    function test_credentials_commitmentAndNullifierHashAreSolidityPoseidon2() public view {
        uint256 n;
        for (; vm.keyExistsJson(json, key(".credentials", n, "")); ++n) {
            uint256 nullifier = vm.parseJsonUint(json, key(".credentials", n, ".nullifier"));
            uint256 secret = vm.parseJsonUint(json, key(".credentials", n, ".secret"));
            uint256 commitment = vm.parseJsonUint(json, key(".credentials", n, ".commitment"));
            uint256 nullifierHash = vm.parseJsonUint(json, key(".credentials", n, ".nullifierHash"));
            assertEq(Poseidon2.hashLeaf(nullifier, secret), commitment, "commitment vs Solidity Poseidon2");
            assertEq(Poseidon2.hashNullifier(nullifier), nullifierHash, "nullifier hash vs Solidity Poseidon2");
        }
        assertTrue(n >= 3, "credential vectors present");
    }
}
