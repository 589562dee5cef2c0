// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AllianceRoles} from "./AllianceRoles.sol";
import {AllianceAccess, IAllianceRegistry} from "./IAllianceRegistry.sol";
import {MerkleBatches} from "./MerkleBatches.sol";
import {OAMerkle} from "./OAMerkle.sol";

/// @title AuditTrail
/// @notice The supervision system's permanent record (3-6-29): alerts are anchored in Merkle
///         batches (one transaction anchors many alert records), each alert ends only by recorded
///         dispositions (rectified, explained, escalated, case opened, closed 销号) signed by the
///         member who took them, and an alarm's problem clue (问题线索) records every case step
///         (立案 / 初核 / 函询 / 暂存 / 了结). Nothing is ever deleted or overwritten.
/// @dev An alert leaf is `keccak256(abi.encode(alertId, department, recordHash))`, where
///      `department` is the department responsible for the alert's subject (bytes32 code, zero
///      when none) and `recordHash` the keccak256 of the alert record's canonical JSON. The first
///      disposition of an alert proves its leaf against an anchored batch and binds the alert's
///      department; later dispositions need no proof. Role checks: rectified / explained by a
///      member of the responsible department; escalated by an INSPECTOR or OPERATOR member (the
///      gateway escalating a missed deadline); case opened, case steps and closed by INSPECTOR
///      members (the discipline commission).
contract AuditTrail is AllianceAccess, MerkleBatches {
    /// @notice What a disposition did to an alert.
    enum Disposition {
        None,
        Rectified, // 已整改: the responsible department fixed it
        Explained, // 已说明: the responsible department explained it (no problem)
        Escalated, // 升级: the rectification deadline passed; the alert became an alarm
        CaseOpened, // 转问题线索: the commission opened a case
        Closed // 销号: the commission closed the alert; no disposition may follow
    }

    /// @notice The dispositions of a problem clue (问题线索处置方式).
    enum CaseStep {
        None,
        Filed, // 立案: put on file for formal investigation (terminal)
        Preliminary, // 初核: preliminary verification
        Inquiry, // 函询: written inquiry to the person concerned
        Shelved, // 暂存: kept pending further information
        Concluded, // 了结: concluded with no further action (terminal)
        Escalated // 超期升级: a step overdue, escalated to the commission's head (the case stays where it was)
    }

    /// @notice One disposition as recorded.
    struct DispositionRecord {
        Disposition kind;
        bytes32 noteHash;
        bytes32 department;
        address by;
        uint64 at;
    }

    /// @notice The state of an alert that has at least one disposition.
    struct AlertState {
        bytes32 department;
        bytes32 boundRoot;
        uint32 dispositions;
        bool closed;
        bytes32 caseId;
    }

    /// @notice One case step as recorded.
    struct StepRecord {
        CaseStep step;
        bytes32 noteHash;
        address by;
        uint64 at;
    }

    /// @notice A problem clue opened from an alert.
    struct CaseState {
        bytes32 alertId;
        uint64 openedAt;
        address openedBy;
        uint32 steps;
        CaseStep last;
    }

    /// @notice Roles of which the caller of `anchorAlerts` must hold at least one.
    uint256 public constant ANCHOR_ROLES = AllianceRoles.INSPECTOR | AllianceRoles.OPERATOR;

    // ---------------------------------------------------------------- errors
    /// @notice The caller holds none of the roles in `roles`.
    error MissingAnyRole(address caller, uint256 roles);
    /// @notice `proof` does not lead from the alert's leaf `leaf` to the anchored batch `root`.
    error InvalidAlertProof(bytes32 alertId, bytes32 leaf, bytes32 root);
    /// @notice The alert id, note hash or case id is zero.
    error ZeroValue();
    /// @notice The disposition kind is not one of the recordable kinds here.
    error InvalidDisposition(uint8 kind);
    /// @notice The caller is not a member of the department `department` responsible for the alert.
    error NotResponsibleDepartment(address caller, bytes32 department);
    /// @notice The alert was bound to department `bound`; the reference names `given`.
    error DepartmentMismatch(bytes32 alertId, bytes32 bound, bytes32 given);
    /// @notice The alert was closed (销号); nothing may be recorded on it any more.
    error AlertClosed(bytes32 alertId);
    /// @notice The alert already has case `caseId`.
    error CaseAlreadyOpen(bytes32 alertId, bytes32 caseId);
    /// @notice Case id `caseId` is already used.
    error CaseExists(bytes32 caseId);
    /// @notice No case `caseId` was opened.
    error UnknownCase(bytes32 caseId);
    /// @notice Case `caseId` ended with step `step` (立案 or 了结); no step may follow.
    error CaseEnded(bytes32 caseId, CaseStep step);
    /// @notice The case step is not one of 立案 / 初核 / 函询 / 暂存 / 了结 / escalated.
    error InvalidCaseStep(uint8 step);
    /// @notice The alert has no disposition (it was never bound).
    error UnknownAlert(bytes32 alertId);
    /// @notice Index `index` is beyond the `count` records.
    error IndexOutOfRange(uint256 index, uint256 count);

    // ---------------------------------------------------------------- events
    /// @notice Alert `alertId` was bound to department `department` by proof against batch `root`.
    event AlertBound(bytes32 indexed alertId, bytes32 indexed department, bytes32 root, bytes32 recordHash);
    /// @notice `by`, a member of `byDepartment`, recorded disposition `kind` (the `index`-th) on `alertId`.
    event DispositionRecorded(
        bytes32 indexed alertId, Disposition kind, bytes32 noteHash, uint32 index, bytes32 byDepartment, address by
    );
    /// @notice `by` opened case `caseId` (问题线索) on alert `alertId`.
    event CaseOpened(bytes32 indexed caseId, bytes32 indexed alertId, bytes32 noteHash, address by);
    /// @notice `by` recorded step `step` (the `index`-th) on case `caseId`.
    event CaseStepRecorded(bytes32 indexed caseId, CaseStep step, bytes32 noteHash, uint32 index, address by);

    // ---------------------------------------------------------------- state
    mapping(bytes32 => AlertState) private _alerts;
    mapping(bytes32 => DispositionRecord[]) private _dispositions;
    mapping(bytes32 => CaseState) private _cases;
    mapping(bytes32 => StepRecord[]) private _steps;

    /// @param registry_ The alliance registry: roles and members.
    constructor(IAllianceRegistry registry_) AllianceAccess(registry_) {}

    // ---------------------------------------------------------------- writes

    /// @notice Anchors a batch of alert records: `root` is the Merkle root of `count` alert leaves.
    /// @dev Caller: an INSPECTOR or OPERATOR member; the batch is recorded under the caller's
    ///      department. Emits `BatchAnchored`. Reverts `BatchExists` for a root anchored before.
    /// @param root The batch's Merkle root (sorted-pair keccak256, OpenAttestation scheme).
    /// @param count How many alert leaves the batch holds.
    function anchorAlerts(bytes32 root, uint32 count) external {
        _requireAny(ANCHOR_ROLES);
        _anchor(root, registry.departmentOf(msg.sender), count);
    }

    /// @notice Records a disposition on an alert, signed by the caller.
    /// @dev Rectified / Explained: a member of the alert's department. Escalated: an INSPECTOR or
    ///      OPERATOR member. Closed (销号): an INSPECTOR member. CaseOpened is recorded by `openCase`.
    ///      The first disposition of an alert must prove its leaf against an anchored batch; later
    ///      ones may pass an empty proof and zero root. Emits `AlertBound` (first time) and
    ///      `DispositionRecorded`.
    /// @param alertId The alert (keccak256 of its point, subject type and subject id).
    /// @param department The department responsible for the alert (as in its leaf).
    /// @param recordHash keccak256 of the alert record anchored in `root`.
    /// @param root The anchored batch holding the alert's leaf.
    /// @param proof The Merkle proof of the leaf in `root`.
    /// @param kind The disposition.
    /// @param noteHash Hash of the disposition's written note (reason, rectification report).
    function recordDisposition(
        bytes32 alertId,
        bytes32 department,
        bytes32 recordHash,
        bytes32 root,
        bytes32[] calldata proof,
        Disposition kind,
        bytes32 noteHash
    ) external {
        if (noteHash == bytes32(0)) revert ZeroValue();
        AlertState storage a = _bind(alertId, department, recordHash, root, proof);
        if (kind == Disposition.Rectified || kind == Disposition.Explained) {
            if (!registry.hasRole(msg.sender, 0) || registry.departmentOf(msg.sender) != a.department) {
                revert NotResponsibleDepartment(msg.sender, a.department);
            }
        } else if (kind == Disposition.Escalated) {
            _requireAny(AllianceRoles.INSPECTOR | AllianceRoles.OPERATOR);
        } else if (kind == Disposition.Closed) {
            if (!registry.hasRole(msg.sender, AllianceRoles.INSPECTOR)) {
                revert MissingRole(msg.sender, AllianceRoles.INSPECTOR);
            }
            a.closed = true;
        } else {
            revert InvalidDisposition(uint8(kind));
        }
        _record(alertId, a, kind, noteHash);
    }

    /// @notice Opens a case (问题线索) on an alert; records the CaseOpened disposition.
    /// @dev Caller: an INSPECTOR member. The alert's leaf is proven as for `recordDisposition`
    ///      when it has no disposition yet. Emits `AlertBound` (first time), `DispositionRecorded`
    ///      and `CaseOpened`.
    /// @param caseId The new case's id.
    /// @param alertId The alert the case is opened on.
    /// @param department The department responsible for the alert (as in its leaf).
    /// @param recordHash keccak256 of the alert record anchored in `root`.
    /// @param root The anchored batch holding the alert's leaf.
    /// @param proof The Merkle proof of the leaf in `root`.
    /// @param noteHash Hash of the opening note.
    function openCase(
        bytes32 caseId,
        bytes32 alertId,
        bytes32 department,
        bytes32 recordHash,
        bytes32 root,
        bytes32[] calldata proof,
        bytes32 noteHash
    ) external onlyRole(AllianceRoles.INSPECTOR) {
        if (caseId == bytes32(0) || noteHash == bytes32(0)) revert ZeroValue();
        if (_cases[caseId].openedAt != 0) revert CaseExists(caseId);
        AlertState storage a = _bind(alertId, department, recordHash, root, proof);
        if (a.caseId != bytes32(0)) revert CaseAlreadyOpen(alertId, a.caseId);
        a.caseId = caseId;
        CaseState storage c = _cases[caseId];
        c.alertId = alertId;
        c.openedAt = uint64(block.timestamp);
        c.openedBy = msg.sender;
        _record(alertId, a, Disposition.CaseOpened, noteHash);
        emit CaseOpened(caseId, alertId, noteHash, msg.sender);
    }

    /// @notice Records one step of a case: 立案 / 初核 / 函询 / 暂存 / 了结, or a timer escalation.
    /// @dev Caller: an INSPECTOR member. No step follows 立案 (Filed) or 了结 (Concluded). An
    ///      `Escalated` step (an overdue step escalated) is recorded without changing the case's last
    ///      disposition. Emits `CaseStepRecorded`.
    /// @param caseId The case.
    /// @param step The disposition of the problem clue.
    /// @param noteHash Hash of the step's written note.
    function recordCaseStep(bytes32 caseId, CaseStep step, bytes32 noteHash)
        external
        onlyRole(AllianceRoles.INSPECTOR)
    {
        if (noteHash == bytes32(0)) revert ZeroValue();
        if (step == CaseStep.None) revert InvalidCaseStep(uint8(step));
        CaseState storage c = _cases[caseId];
        if (c.openedAt == 0) revert UnknownCase(caseId);
        if (c.last == CaseStep.Filed || c.last == CaseStep.Concluded) revert CaseEnded(caseId, c.last);
        _steps[caseId].push(StepRecord(step, noteHash, msg.sender, uint64(block.timestamp)));
        if (step != CaseStep.Escalated) c.last = step;
        uint32 index = c.steps;
        c.steps = index + 1;
        emit CaseStepRecorded(caseId, step, noteHash, index, msg.sender);
    }

    // ---------------------------------------------------------------- views

    /// @notice The leaf of an alert record: keccak256(abi.encode(alertId, department, recordHash)).
    /// @param alertId The alert.
    /// @param department The responsible department.
    /// @param recordHash keccak256 of the alert record's canonical JSON.
    function alertLeaf(bytes32 alertId, bytes32 department, bytes32 recordHash) public pure returns (bytes32) {
        return keccak256(abi.encode(alertId, department, recordHash));
    }

    /// @notice True when the alert record is in the anchored batch `root` by `proof`.
    /// @param alertId The alert.
    /// @param department The responsible department.
    /// @param recordHash keccak256 of the alert record's canonical JSON.
    /// @param root The batch's Merkle root.
    /// @param proof The leaf's Merkle proof.
    function isAnchoredAlert(
        bytes32 alertId,
        bytes32 department,
        bytes32 recordHash,
        bytes32 root,
        bytes32[] calldata proof
    ) external view returns (bool) {
        return isIssued(root) && OAMerkle.verify(proof, root, alertLeaf(alertId, department, recordHash));
    }

    /// @notice The state of an alert; reverts `UnknownAlert` when it has no disposition.
    /// @param alertId The alert.
    function getAlert(bytes32 alertId) external view returns (AlertState memory) {
        AlertState storage a = _alerts[alertId];
        if (a.boundRoot == bytes32(0)) revert UnknownAlert(alertId);
        return a;
    }

    /// @notice The `index`-th disposition of an alert.
    /// @param alertId The alert.
    /// @param index Position from 0.
    function getDisposition(bytes32 alertId, uint256 index) external view returns (DispositionRecord memory) {
        DispositionRecord[] storage list = _dispositions[alertId];
        if (index >= list.length) revert IndexOutOfRange(index, list.length);
        return list[index];
    }

    /// @notice The state of a case; reverts `UnknownCase` when it was not opened.
    /// @param caseId The case.
    function getCase(bytes32 caseId) external view returns (CaseState memory) {
        CaseState storage c = _cases[caseId];
        if (c.openedAt == 0) revert UnknownCase(caseId);
        return c;
    }

    /// @notice The `index`-th step of a case.
    /// @param caseId The case.
    /// @param index Position from 0.
    function getCaseStep(bytes32 caseId, uint256 index) external view returns (StepRecord memory) {
        StepRecord[] storage list = _steps[caseId];
        if (index >= list.length) revert IndexOutOfRange(index, list.length);
        return list[index];
    }

    // ---------------------------------------------------------------- internals

    function _requireAny(uint256 roles) private view {
        if ((roles & AllianceRoles.INSPECTOR != 0 && registry.hasRole(msg.sender, AllianceRoles.INSPECTOR))
            || (roles & AllianceRoles.OPERATOR != 0 && registry.hasRole(msg.sender, AllianceRoles.OPERATOR))) {
            return;
        }
        revert MissingAnyRole(msg.sender, roles);
    }

    function _bind(bytes32 alertId, bytes32 department, bytes32 recordHash, bytes32 root, bytes32[] calldata proof)
        private
        returns (AlertState storage a)
    {
        if (alertId == bytes32(0)) revert ZeroValue();
        a = _alerts[alertId];
        if (a.closed) revert AlertClosed(alertId);
        if (a.boundRoot != bytes32(0)) {
            if (department != a.department) revert DepartmentMismatch(alertId, a.department, department);
            return a;
        }
        bytes32 leaf = alertLeaf(alertId, department, recordHash);
        if (!isIssued(root) || !OAMerkle.verify(proof, root, leaf)) revert InvalidAlertProof(alertId, leaf, root);
        a.department = department;
        a.boundRoot = root;
        emit AlertBound(alertId, department, root, recordHash);
    }

    function _record(bytes32 alertId, AlertState storage a, Disposition kind, bytes32 noteHash) private {
        bytes32 byDepartment = registry.departmentOf(msg.sender);
        _dispositions[alertId].push(DispositionRecord(kind, noteHash, byDepartment, msg.sender, uint64(block.timestamp)));
        uint32 index = a.dispositions;
        a.dispositions = index + 1;
        emit DispositionRecorded(alertId, kind, noteHash, index, byDepartment, msg.sender);
    }
}
