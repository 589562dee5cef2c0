// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AllianceRoles} from "./AllianceRoles.sol";
import {AllianceAccess, IAllianceRegistry} from "./IAllianceRegistry.sol";

/// @title AuditHolds
/// @notice Alarm holds (报警冻结): when a supervision point raises an alarm on a subsidy application,
///         the discipline commission (纪委监委, INSPECTOR members) places an on-chain hold that
///         freezes the application's payout until the commission releases it with a recorded
///         reason. Several alerts may hold one application; it stays held while any hold is active.
/// @dev Holds are keyed by (applicationId, alertId) and never deleted: a released hold keeps its
///      record and an alert's hold cannot be placed twice. The application need not exist yet
///      (an alarm may precede the application's on-chain record); `SubsidyLedger` asks `isHeld`
///      before every payout.
contract AuditHolds is AllianceAccess {
    /// @notice One hold as stored; placedAt 0 = no hold, releasedAt 0 = still active.
    struct Hold {
        bytes32 evidenceHash;
        bytes32 releaseReasonHash;
        uint64 placedAt;
        uint64 releasedAt;
        address placedBy;
        address releasedBy;
    }

    // ---------------------------------------------------------------- errors
    /// @notice A hold for alert `alertId` on `applicationId` was already placed (active or released).
    error HoldExists(bytes32 applicationId, bytes32 alertId);
    /// @notice No hold for alert `alertId` was ever placed on `applicationId`.
    error NoSuchHold(bytes32 applicationId, bytes32 alertId);
    /// @notice The hold for alert `alertId` on `applicationId` was already released at `releasedAt`.
    error HoldAlreadyReleased(bytes32 applicationId, bytes32 alertId, uint64 releasedAt);
    /// @notice The application id, alert id, evidence hash or reason hash is zero.
    error ZeroHash();

    // ---------------------------------------------------------------- events
    /// @notice `by` placed a hold for alert `alertId` on `applicationId`; `activeHolds` are now active on it.
    event HoldPlaced(
        bytes32 indexed applicationId, bytes32 indexed alertId, bytes32 evidenceHash, uint32 activeHolds, address by
    );
    /// @notice `by` released the hold for alert `alertId` on `applicationId`; `activeHolds` remain active on it.
    event HoldReleased(
        bytes32 indexed applicationId, bytes32 indexed alertId, bytes32 reasonHash, uint32 activeHolds, address by
    );

    // ---------------------------------------------------------------- state
    mapping(bytes32 => mapping(bytes32 => Hold)) private _holds;
    mapping(bytes32 => uint32) private _active;
    uint256 private _placed;
    uint256 private _released;

    /// @param registry_ The alliance registry: roles and members.
    constructor(IAllianceRegistry registry_) AllianceAccess(registry_) {}

    // ---------------------------------------------------------------- writes

    /// @notice Places a hold on an application's payout for one alarm.
    /// @dev Caller: an INSPECTOR member (the discipline commission). Emits `HoldPlaced`.
    /// @param applicationId The held application (SubsidyLedger id).
    /// @param alertId The alarm that triggered the hold (one hold per alert and application).
    /// @param evidenceHash Hash of the alert's evidence pack.
    function placeHold(bytes32 applicationId, bytes32 alertId, bytes32 evidenceHash)
        external
        onlyRole(AllianceRoles.INSPECTOR)
    {
        if (applicationId == bytes32(0) || alertId == bytes32(0) || evidenceHash == bytes32(0)) revert ZeroHash();
        Hold storage h = _holds[applicationId][alertId];
        if (h.placedAt != 0) revert HoldExists(applicationId, alertId);
        h.evidenceHash = evidenceHash;
        h.placedAt = uint64(block.timestamp);
        h.placedBy = msg.sender;
        uint32 active = _active[applicationId] + 1;
        _active[applicationId] = active;
        ++_placed;
        emit HoldPlaced(applicationId, alertId, evidenceHash, active, msg.sender);
    }

    /// @notice Releases the active hold of one alarm; the payout is free once no hold remains.
    /// @dev Caller: an INSPECTOR member (the discipline commission). Emits `HoldReleased`.
    /// @param applicationId The held application.
    /// @param alertId The alarm whose hold is released.
    /// @param reasonHash Hash of the commission's recorded reason (disposition) for the release.
    function releaseHold(bytes32 applicationId, bytes32 alertId, bytes32 reasonHash)
        external
        onlyRole(AllianceRoles.INSPECTOR)
    {
        if (reasonHash == bytes32(0)) revert ZeroHash();
        Hold storage h = _holds[applicationId][alertId];
        if (h.placedAt == 0) revert NoSuchHold(applicationId, alertId);
        if (h.releasedAt != 0) revert HoldAlreadyReleased(applicationId, alertId, h.releasedAt);
        h.releaseReasonHash = reasonHash;
        h.releasedAt = uint64(block.timestamp);
        h.releasedBy = msg.sender;
        uint32 active = _active[applicationId] - 1;
        _active[applicationId] = active;
        ++_released;
        emit HoldReleased(applicationId, alertId, reasonHash, active, msg.sender);
    }

    // ---------------------------------------------------------------- views

    /// @notice True while at least one hold on `applicationId` is active (its payout is frozen).
    /// @param applicationId The application.
    function isHeld(bytes32 applicationId) external view returns (bool) {
        return _active[applicationId] != 0;
    }

    /// @notice The number of active holds on `applicationId`.
    /// @param applicationId The application.
    function activeHolds(bytes32 applicationId) external view returns (uint32) {
        return _active[applicationId];
    }

    /// @notice The record of the hold for `alertId` on `applicationId`; reverts `NoSuchHold` when there is none.
    /// @param applicationId The application.
    /// @param alertId The alarm.
    function getHold(bytes32 applicationId, bytes32 alertId) external view returns (Hold memory) {
        Hold storage h = _holds[applicationId][alertId];
        if (h.placedAt == 0) revert NoSuchHold(applicationId, alertId);
        return h;
    }

    /// @notice How many holds were ever placed and how many of them were released.
    function holdCounts() external view returns (uint256 placed, uint256 released) {
        return (_placed, _released);
    }
}
