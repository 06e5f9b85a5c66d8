// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {vm} from "./Vm.sol";

/// @notice Plain, unoptimised Poseidon2 permutation (every operation reduced mod p, constants loaded from
/// protocol/poseidon2-bn254.json at deployment), used as a differential oracle for the generated Yul.
contract Poseidon2Reference {
    uint256 internal constant P = 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001;

    uint256[4][4] internal _first;
    uint256[4][4] internal _last;
    uint256[] internal _partial;
    uint256[4] internal _diag;

    constructor() {
        string memory json = vm.readFile(string.concat(vm.projectRoot(), "/protocol/poseidon2-bn254.json"));
        for (uint256 r; r < 4; ++r) {
            uint256[] memory a = vm.parseJsonUintArray(json, string.concat(".fullRoundConstantsFirst[", vm.toString(r), "]"));
            uint256[] memory b = vm.parseJsonUintArray(json, string.concat(".fullRoundConstantsLast[", vm.toString(r), "]"));
            for (uint256 i; i < 4; ++i) {
                _first[r][i] = a[i];
                _last[r][i] = b[i];
            }
        }
        _partial = vm.parseJsonUintArray(json, ".partialRoundConstants");
        uint256[] memory d = vm.parseJsonUintArray(json, ".internalDiagMinusOne");
        for (uint256 i; i < 4; ++i) _diag[i] = d[i];
    }

    function _sbox(uint256 x) private pure returns (uint256) {
        uint256 x2 = mulmod(x, x, P);
        return mulmod(mulmod(x2, x2, P), x, P);
    }

    /// @dev M4 = [[5,7,1,3],[4,6,1,1],[1,3,5,7],[1,1,4,6]] applied as a matrix-vector product.
    function _external(uint256[4] memory x) private pure returns (uint256[4] memory y) {
        uint256[4][4] memory m = [[uint256(5), 7, 1, 3], [uint256(4), 6, 1, 1], [uint256(1), 3, 5, 7], [uint256(1), 1, 4, 6]];
        for (uint256 i; i < 4; ++i) {
            for (uint256 j; j < 4; ++j) y[i] = addmod(y[i], mulmod(m[i][j], x[j], P), P);
        }
    }

    function permutation(uint256[4] memory x) external view returns (uint256[4] memory) {
        for (uint256 i; i < 4; ++i) x[i] = x[i] % P;
        x = _external(x);
        for (uint256 r; r < 4; ++r) {
            for (uint256 i; i < 4; ++i) x[i] = _sbox(addmod(x[i], _first[r][i], P));
            x = _external(x);
        }
        for (uint256 r; r < _partial.length; ++r) {
            x[0] = _sbox(addmod(x[0], _partial[r], P));
            uint256 s = addmod(addmod(x[0], x[1], P), addmod(x[2], x[3], P), P);
            for (uint256 i; i < 4; ++i) x[i] = addmod(mulmod(x[i], _diag[i], P), s, P);
        }
        for (uint256 r; r < 4; ++r) {
            for (uint256 i; i < 4; ++i) x[i] = _sbox(addmod(x[i], _last[r][i], P));
            x = _external(x);
        }
        return x;
    }
}
