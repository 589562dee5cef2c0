// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title OAMerkle
/// @notice Merkle proofs in the OpenAttestation v2 scheme: a leaf is a document's targetHash, a
///         parent is keccak256 of its two children in ascending order (sorted pair), an odd node
///         is promoted unchanged to the next level (so it has no proof step there), and a
///         one-leaf tree has root == leaf.
library OAMerkle {
    /// @notice True when `proof` leads from `leaf` to `root`. An empty proof proves `leaf == root`.
    function verify(bytes32[] calldata proof, bytes32 root, bytes32 leaf) internal pure returns (bool) {
        return processProof(proof, leaf) == root;
    }

    /// @notice The root reached from `leaf` by hashing in each proof node in turn.
    function processProof(bytes32[] calldata proof, bytes32 leaf) internal pure returns (bytes32 node) {
        node = leaf;
        uint256 n = proof.length;
        for (uint256 i = 0; i < n; ++i) {
            node = hashPair(node, proof[i]);
        }
    }

    /// @notice keccak256 of the two nodes in ascending order.
    function hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32 h) {
        (bytes32 lo, bytes32 hi) = a < b ? (a, b) : (b, a);
        assembly ("memory-safe") {
            mstore(0x00, lo)
            mstore(0x20, hi)
            h := keccak256(0x00, 0x40)
        }
    }
}
