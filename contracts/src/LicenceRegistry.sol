// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AllianceRoles} from "./AllianceRoles.sol";
import {AllianceAccess, IAllianceRegistry} from "./IAllianceRegistry.sol";
import {MerkleBatches} from "./MerkleBatches.sol";

/// @title LicenceRegistry
/// @notice Electronic licences (电子证照): issued in Merkle batches by departments authorised for
///         their type, then suspended, reinstated, revoked or renewed by the issuing department.
///         Also an OpenAttestation DocumentStore for the licence documents: `isIssued(merkleRoot)`
///         is true for an anchored batch, and `isRevoked(targetHash)` is true for a licence that
///         is revoked, suspended or superseded, so that the stock verifier refuses it.
/// @dev No personal data: `holder` is a keyed hash of the enterprise's USCC, `id` is computed
///      off-chain from the licence type and number.
contract LicenceRegistry is AllianceAccess, MerkleBatches {
    /// @notice Lifecycle status set by the issuing department.
    enum Lifecycle {
        None,
        Valid,
        Suspended,
        Revoked
    }

    /// @notice Effective status: the lifecycle status combined with renewal and the validity period.
    enum LicenceStatus {
        None,
        Valid,
        Suspended,
        Revoked,
        Expired,
        Superseded,
        NotYetValid
    }

    /// @notice One licence to issue.
    /// @dev `validUntil` 0 = no expiry.
    struct LicenceInput {
        bytes32 id;
        bytes32 licenceType;
        bytes32 holder;
        bytes32 targetHash;
        uint64 validFrom;
        uint64 validUntil;
    }

    /// @notice A licence as stored.
    struct Licence {
        bytes32 licenceType;
        bytes32 department;
        bytes32 holder;
        bytes32 targetHash;
        bytes32 merkleRoot;
        uint64 validFrom;
        uint64 validUntil;
        uint64 issuedAt;
        Lifecycle status;
        uint16 reason;
        address issuedBy;
        bytes32 supersededBy;
        bytes32 supersedes;
    }

    // ---------------------------------------------------------------- errors
    /// @notice `department` is not authorised to issue `licenceType` now.
    error NotAuthorisedForType(bytes32 licenceType, bytes32 department);
    /// @notice A licence with this id exists.
    error LicenceExists(bytes32 id);
    /// @notice A licence with this document targetHash exists.
    error DocumentExists(bytes32 targetHash);
    /// @notice `validUntil` is set and not after `validFrom`.
    error InvalidValidity(bytes32 id, uint64 validFrom, uint64 validUntil);
    /// @notice The id, licence type, holder or targetHash of licence `id` is zero.
    error IncompleteLicence(bytes32 id);
    /// @notice No licence has this id.
    error UnknownLicence(bytes32 id);
    /// @notice The caller's department `department` did not issue licence `id`.
    error NotIssuingDepartment(bytes32 id, bytes32 department);
    /// @notice The change is not allowed from the licence's current (effective) status.
    error InvalidTransition(bytes32 id, LicenceStatus status);
    /// @notice Licence `id` is already revoked.
    error AlreadyRevoked(bytes32 id);
    /// @notice The renewal `newId` differs from `oldId` in licence type or holder.
    error RenewalMismatch(bytes32 oldId, bytes32 newId);

    // ---------------------------------------------------------------- events
    /// @notice Licence `id` was issued in batch `merkleRoot`.
    event LicenceIssued(
        bytes32 indexed id,
        bytes32 licenceType,
        bytes32 indexed department,
        bytes32 indexed holder,
        bytes32 targetHash,
        bytes32 merkleRoot,
        uint64 validFrom,
        uint64 validUntil
    );
    /// @notice Licence `id` was suspended by `by` for reason code `reason`.
    event LicenceSuspended(bytes32 indexed id, uint16 reason, address by);
    /// @notice Suspended licence `id` was reinstated by `by`.
    event LicenceReinstated(bytes32 indexed id, address by);
    /// @notice Licence `id` was revoked by `by` for reason code `reason`.
    event LicenceRevoked(bytes32 indexed id, uint16 reason, address by);
    /// @notice Licence `oldId` was superseded by its renewal `newId`.
    event LicenceRenewed(bytes32 indexed oldId, bytes32 indexed newId, address by);

    // ---------------------------------------------------------------- state
    mapping(bytes32 => Licence) private _licences;
    mapping(bytes32 => bytes32) private _licenceOfDocument;

    /// @param registry_ The alliance registry: roles, departments and licence-type authorities.
    constructor(IAllianceRegistry registry_) AllianceAccess(registry_) {}

    // ---------------------------------------------------------------- writes

    /// @notice Issues a batch of licences in one transaction and anchors the batch's Merkle root.
    /// @dev Caller: an ISSUER member whose department is authorised for every item's licence type.
    ///      Emits `BatchAnchored`, then `LicenceIssued` per item.
    /// @param merkleRoot The Merkle root of the items' targetHashes (the targetHash for one item).
    /// @param items The licences to issue (at least one).
    function issueBatch(bytes32 merkleRoot, LicenceInput[] calldata items) external onlyRole(AllianceRoles.ISSUER) {
        bytes32 dept = registry.departmentOf(msg.sender);
        uint256 n = items.length;
        _anchor(merkleRoot, dept, uint32(n));
        bytes32 checkedType;
        for (uint256 i = 0; i < n; ++i) {
            LicenceInput calldata item = items[i];
            if (item.licenceType != checkedType) {
                _checkAuthority(item.licenceType, dept);
                checkedType = item.licenceType;
            }
            _issue(item, merkleRoot, dept);
        }
    }

    /// @notice Suspends a valid licence; `isRevoked(targetHash)` is true while it is suspended.
    /// @dev Caller: an ISSUER member of the issuing department. Only from Valid.
    /// @param id The licence.
    /// @param reason A reason code, recorded and emitted.
    function suspend(bytes32 id, uint16 reason) external onlyRole(AllianceRoles.ISSUER) {
        Licence storage l = _ownLicence(id);
        if (l.status != Lifecycle.Valid || l.supersededBy != bytes32(0)) revert InvalidTransition(id, statusOf(id));
        l.status = Lifecycle.Suspended;
        l.reason = reason;
        emit LicenceSuspended(id, reason, msg.sender);
    }

    /// @notice Reinstates a suspended licence.
    /// @dev Caller: an ISSUER member of the issuing department. Only from Suspended.
    /// @param id The licence.
    function reinstate(bytes32 id) external onlyRole(AllianceRoles.ISSUER) {
        Licence storage l = _ownLicence(id);
        if (l.status != Lifecycle.Suspended || l.supersededBy != bytes32(0)) {
            revert InvalidTransition(id, statusOf(id));
        }
        l.status = Lifecycle.Valid;
        l.reason = 0;
        emit LicenceReinstated(id, msg.sender);
    }

    /// @notice Revokes a licence for good (also one already superseded or expired).
    /// @dev Caller: an ISSUER member of the issuing department. From Valid or Suspended.
    /// @param id The licence.
    /// @param reason A reason code, recorded and emitted.
    function revoke(bytes32 id, uint16 reason) external onlyRole(AllianceRoles.ISSUER) {
        Licence storage l = _ownLicence(id);
        if (l.status == Lifecycle.Revoked) revert AlreadyRevoked(id);
        l.status = Lifecycle.Revoked;
        l.reason = reason;
        emit LicenceRevoked(id, reason, msg.sender);
    }

    /// @notice Renews a licence: issues `next` in its own batch and marks the old licence as
    ///         superseded by it.
    /// @dev Caller: an ISSUER member of the old licence's department, which must be authorised for
    ///      the type now. The old licence must be Valid or Suspended and not superseded; `next`
    ///      must have the same licence type and holder. Emits `BatchAnchored`, `LicenceIssued`,
    ///      `LicenceRenewed`.
    /// @param oldId The licence being renewed.
    /// @param merkleRoot The root of the batch holding `next` (its targetHash for a one-leaf batch).
    /// @param next The renewed licence.
    function renew(bytes32 oldId, bytes32 merkleRoot, LicenceInput calldata next)
        external
        onlyRole(AllianceRoles.ISSUER)
    {
        Licence storage old = _ownLicence(oldId);
        if (old.status == Lifecycle.Revoked || old.supersededBy != bytes32(0)) {
            revert InvalidTransition(oldId, statusOf(oldId));
        }
        if (next.licenceType != old.licenceType || next.holder != old.holder) revert RenewalMismatch(oldId, next.id);
        bytes32 dept = old.department;
        _checkAuthority(next.licenceType, dept);
        _anchor(merkleRoot, dept, 1);
        _issue(next, merkleRoot, dept);
        old.supersededBy = next.id;
        _licences[next.id].supersedes = oldId;
        emit LicenceRenewed(oldId, next.id, msg.sender);
    }

    // ---------------------------------------------------------------- views

    /// @notice True when `hash` is the targetHash of a licence that is revoked, suspended or
    ///         superseded (OpenAttestation DocumentStore; the stock verifier then refuses it).
    /// @dev Expiry is not revocation: check `statusOf` for the validity period.
    /// @param hash A document targetHash (any other hash gives false).
    function isRevoked(bytes32 hash) external view returns (bool) {
        bytes32 id = _licenceOfDocument[hash];
        if (id == bytes32(0)) return false;
        Licence storage l = _licences[id];
        return l.status != Lifecycle.Valid || l.supersededBy != bytes32(0);
    }

    /// @notice The effective status of licence `id` now: None (unknown), Revoked, Superseded,
    ///         Expired, Suspended, NotYetValid or Valid, in that order of precedence.
    /// @param id The licence.
    function statusOf(bytes32 id) public view returns (LicenceStatus) {
        Licence storage l = _licences[id];
        Lifecycle s = l.status;
        if (s == Lifecycle.None) return LicenceStatus.None;
        if (s == Lifecycle.Revoked) return LicenceStatus.Revoked;
        if (l.supersededBy != bytes32(0)) return LicenceStatus.Superseded;
        if (l.validUntil != 0 && block.timestamp >= l.validUntil) return LicenceStatus.Expired;
        if (s == Lifecycle.Suspended) return LicenceStatus.Suspended;
        if (block.timestamp < l.validFrom) return LicenceStatus.NotYetValid;
        return LicenceStatus.Valid;
    }

    /// @notice The stored record of licence `id`; reverts `UnknownLicence` when there is none.
    /// @param id The licence.
    function getLicence(bytes32 id) external view returns (Licence memory) {
        return _licence(id);
    }

    /// @notice The id of the licence whose document has `targetHash`; zero when there is none.
    /// @param targetHash The licence document's OpenAttestation targetHash.
    function licenceOfDocument(bytes32 targetHash) external view returns (bytes32) {
        return _licenceOfDocument[targetHash];
    }

    /// @notice The store's name (OpenAttestation DocumentStore).
    function name() external pure returns (string memory) {
        return "Alliance Ledger licences";
    }

    /// @notice The contract's version (OpenAttestation DocumentStore).
    function version() external pure returns (string memory) {
        return "1.0.0";
    }

    // ---------------------------------------------------------------- internals

    function _checkAuthority(bytes32 licenceType, bytes32 dept) private view {
        if (!registry.isAuthorisedIssuer(licenceType, dept)) revert NotAuthorisedForType(licenceType, dept);
    }

    /// @dev Stores a new Valid licence; the caller checked the type authority and anchored the root.
    function _issue(LicenceInput calldata item, bytes32 merkleRoot, bytes32 dept) private {
        bytes32 id = item.id;
        if (
            id == bytes32(0) || item.licenceType == bytes32(0) || item.holder == bytes32(0)
                || item.targetHash == bytes32(0)
        ) revert IncompleteLicence(id);
        if (item.validUntil != 0 && item.validUntil <= item.validFrom) {
            revert InvalidValidity(id, item.validFrom, item.validUntil);
        }
        Licence storage l = _licences[id];
        if (l.status != Lifecycle.None) revert LicenceExists(id);
        if (_licenceOfDocument[item.targetHash] != bytes32(0)) revert DocumentExists(item.targetHash);
        _licenceOfDocument[item.targetHash] = id;
        l.licenceType = item.licenceType;
        l.department = dept;
        l.holder = item.holder;
        l.targetHash = item.targetHash;
        l.merkleRoot = merkleRoot;
        l.validFrom = item.validFrom;
        l.validUntil = item.validUntil;
        l.issuedAt = uint64(block.timestamp);
        l.status = Lifecycle.Valid;
        l.issuedBy = msg.sender;
        emit LicenceIssued(
            id, item.licenceType, dept, item.holder, item.targetHash, merkleRoot, item.validFrom, item.validUntil
        );
    }

    function _licence(bytes32 id) private view returns (Licence storage l) {
        l = _licences[id];
        if (l.status == Lifecycle.None) revert UnknownLicence(id);
    }

    /// @dev Licence `id`, which the caller's department must have issued.
    function _ownLicence(bytes32 id) private view returns (Licence storage l) {
        l = _licence(id);
        bytes32 dept = registry.departmentOf(msg.sender);
        if (l.department != dept) revert NotIssuingDepartment(id, dept);
    }
}
