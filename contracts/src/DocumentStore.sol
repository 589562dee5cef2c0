// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AllianceRoles} from "./AllianceRoles.sol";
import {AllianceAccess, IAllianceRegistry} from "./IAllianceRegistry.sol";
import {MerkleBatches} from "./MerkleBatches.sol";
import {OAMerkle} from "./OAMerkle.sol";

/// @title DocumentStore
/// @notice Generic alliance documents, anchored in Merkle batches (one transaction per batch) and
///         revocable one by one, in the OpenAttestation DocumentStore shape: the stock verifier
///         calls `isIssued(merkleRoot)` and `isRevoked(hash)` on the targetHash, every
///         intermediate node and the root of a document's proof.
/// @dev A batch belongs to the department of the member who anchored it; only OPERATOR or
///      ISSUER members of that department may revoke documents in it.
contract DocumentStore is AllianceAccess, MerkleBatches {
    /// @notice A revoked document (or subtree, or whole batch).
    struct Revocation {
        bytes32 root;
        address revokedBy;
        uint64 revokedAt;
        uint16 reason;
    }

    /// @notice Roles of which the caller of `anchor` / `revoke` must hold at least one.
    uint256 public constant WRITER_ROLES = AllianceRoles.OPERATOR | AllianceRoles.ISSUER;

    /// @notice `proof` does not lead from `leaf` to `root`.
    error InvalidProof(bytes32 leaf, bytes32 root);
    /// @notice The caller's department `department` did not anchor batch `root`.
    error NotBatchDepartment(bytes32 root, bytes32 department);
    /// @notice `leaf` is already revoked.
    error DocumentAlreadyRevoked(bytes32 leaf);

    /// @notice `leaf` (a document's targetHash, an intermediate node, or `root` itself for the whole
    ///         batch) of batch `root` was revoked by `by` for reason code `reason`.
    event DocumentRevoked(bytes32 indexed leaf, bytes32 indexed root, uint16 reason, address by);

    mapping(bytes32 => Revocation) private _revocations;

    /// @param registry_ The alliance registry that says who holds which role.
    constructor(IAllianceRegistry registry_) AllianceAccess(registry_) {}

    /// @notice Anchors the Merkle root of a batch of `count` documents for the caller's department.
    /// @dev Caller: an OPERATOR or ISSUER member. Reverts `BatchExists`, `EmptyBatch`, `ZeroRoot`.
    /// @param root The batch's Merkle root (the document's targetHash for a one-document batch).
    /// @param count How many documents the batch holds.
    function anchor(bytes32 root, uint32 count) external {
        _anchor(root, _writerDepartment(), count);
    }

    /// @notice Revokes one document of an anchored batch: `leaf` with a Merkle `proof` that it is in
    ///         `root`. `leaf == root` with an empty proof revokes the whole batch; an intermediate
    ///         node with its proof revokes every document under it.
    /// @dev Caller: an OPERATOR or ISSUER member of the department that anchored the batch.
    /// @param leaf The document's targetHash (or an intermediate node, or the root).
    /// @param root The Merkle root of the anchored batch holding `leaf`.
    /// @param proof The sibling nodes from `leaf` up to `root` (OpenAttestation `signature.proof`).
    /// @param reason A reason code, recorded and emitted.
    function revoke(bytes32 leaf, bytes32 root, bytes32[] calldata proof, uint16 reason) external {
        bytes32 dept = _writerDepartment();
        Batch storage b = _batch(root);
        if (b.department != dept) revert NotBatchDepartment(root, dept);
        if (!OAMerkle.verify(proof, root, leaf)) revert InvalidProof(leaf, root);
        Revocation storage r = _revocations[leaf];
        if (r.revokedAt != 0) revert DocumentAlreadyRevoked(leaf);
        r.root = root;
        r.revokedBy = msg.sender;
        r.revokedAt = uint64(block.timestamp);
        r.reason = reason;
        emit DocumentRevoked(leaf, root, reason, msg.sender);
    }

    /// @notice True when `hash` (a targetHash, intermediate node or root) has been revoked
    ///         (OpenAttestation DocumentStore).
    /// @param hash The hash to look up.
    function isRevoked(bytes32 hash) external view returns (bool) {
        return _revocations[hash].revokedAt != 0;
    }

    /// @notice The reason code `hash` was revoked with; 0 when it is not revoked.
    /// @param hash The revoked hash.
    function revocationReason(bytes32 hash) external view returns (uint16) {
        return _revocations[hash].reason;
    }

    /// @notice The revocation record of `hash`; all zero when it is not revoked.
    /// @param hash The revoked hash.
    function getRevocation(bytes32 hash) external view returns (Revocation memory) {
        return _revocations[hash];
    }

    /// @notice The store's name (OpenAttestation DocumentStore).
    function name() external pure returns (string memory) {
        return "Alliance Ledger documents";
    }

    /// @notice The contract's version (OpenAttestation DocumentStore).
    function version() external pure returns (string memory) {
        return "1.0.0";
    }

    /// @dev The caller's department; reverts `MissingRole` unless it holds OPERATOR or ISSUER.
    function _writerDepartment() private view returns (bytes32) {
        IAllianceRegistry reg = registry;
        if (!reg.hasRole(msg.sender, AllianceRoles.OPERATOR) && !reg.hasRole(msg.sender, AllianceRoles.ISSUER)) {
            revert MissingRole(msg.sender, WRITER_ROLES);
        }
        return reg.departmentOf(msg.sender);
    }
}
