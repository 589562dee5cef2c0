// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title MerkleBatches
/// @notice Merkle-root batch anchoring shared by the OpenAttestation-shaped document stores: one
///         transaction anchors the root of a batch of documents, and `isIssued(root)` /
///         `getIssuedBlock(root)` answer as an OpenAttestation DocumentStore does.
abstract contract MerkleBatches {
    /// @notice One anchored batch. `blockNumber` is never 0 for an anchored batch.
    struct Batch {
        uint64 blockNumber;
        uint64 timestamp;
        bytes32 department;
        uint32 count;
        address anchoredBy;
    }

    /// @notice `root` is already anchored.
    error BatchExists(bytes32 root);
    /// @notice A batch must hold at least one document.
    error EmptyBatch();
    /// @notice The zero hash is not a Merkle root.
    error ZeroRoot();
    /// @notice `root` has not been anchored.
    error UnknownBatch(bytes32 root);

    /// @notice A batch of `count` documents with Merkle root `root` was anchored by `by`, a member of `department`.
    event BatchAnchored(bytes32 indexed root, bytes32 indexed department, uint32 count, address by);

    mapping(bytes32 => Batch) private _batches;

    /// @notice True when `root` (a batch's Merkle root) has been anchored (OpenAttestation DocumentStore).
    /// @param root The batch's Merkle root, or a single document's targetHash for a one-document batch.
    function isIssued(bytes32 root) public view returns (bool) {
        return _batches[root].blockNumber != 0;
    }

    /// @notice The block in which `root` was anchored (OpenAttestation DocumentStore); reverts
    ///         `UnknownBatch` when it was not.
    /// @param root The batch's Merkle root.
    function getIssuedBlock(bytes32 root) external view returns (uint256) {
        return _batch(root).blockNumber;
    }

    /// @notice The record of an anchored batch; reverts `UnknownBatch` when `root` was not anchored.
    /// @param root The batch's Merkle root.
    function getBatch(bytes32 root) external view returns (Batch memory) {
        return _batch(root);
    }

    /// @dev Records a new batch anchored now by the caller on behalf of `department`.
    function _anchor(bytes32 root, bytes32 department, uint32 count) internal {
        if (root == bytes32(0)) revert ZeroRoot();
        if (count == 0) revert EmptyBatch();
        Batch storage b = _batches[root];
        if (b.blockNumber != 0) revert BatchExists(root);
        b.blockNumber = uint64(block.number);
        b.timestamp = uint64(block.timestamp);
        b.department = department;
        b.count = count;
        b.anchoredBy = msg.sender;
        emit BatchAnchored(root, department, count, msg.sender);
    }

    /// @dev The anchored batch `root`; reverts `UnknownBatch` when it was not anchored.
    function _batch(bytes32 root) internal view returns (Batch storage b) {
        b = _batches[root];
        if (b.blockNumber == 0) revert UnknownBatch(root);
    }
}
