// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AllianceRoles} from "./AllianceRoles.sol";
import {AllianceAccess, IAllianceRegistry} from "./IAllianceRegistry.sol";

/// @title AgencyDraws
/// @notice Each policy department's pool of registered third-party verification agencies
///         (第三方核查机构), and double-random draws (双随机: a random agency checks randomly chosen
///         applications) recorded so that anyone can recompute the pick from on-chain inputs.
///
///         A draw takes two transactions. `requestDraw` fixes every input — the pool snapshot (the
///         department's active agencies at that moment), the subjects (application ids) and how many
///         to pick — and records the request's block number. `executeDraw`, in any later block (within
///         256 blocks, while the request's block hash is readable), takes the seed
///         `keccak256(abi.encode(blockhash(requestBlock), drawId))`: the hash of the block that
///         recorded the request, which nobody knew when the request was sent. From the seed:
///         agency = candidates[uint256(keccak256(abi.encode(seed, "agency"))) % candidates.length];
///         subjects by a partial Fisher–Yates shuffle: for i = 0 .. picks-1,
///         j = i + uint256(keccak256(abi.encode(seed, "subject", i))) % (subjects.length - i), swap i and j;
///         the first `picks` are drawn. `recompute` runs exactly this over stored inputs.
/// @dev Agency ids are opaque bytes32 (the gateway uses keccak of the agency's USCC, an organisation's
///      public code, not personal data). A request whose block hash is no longer readable (more than
///      256 blocks old) cannot be executed: `executeDraw` reverts `SeedUnavailable` and the department
///      requests a new draw; the stale request stays on record.
contract AgencyDraws is AllianceAccess {
    /// @notice A draw as stored; requestBlock 0 = no draw.
    struct Draw {
        bytes32 department;
        bytes32 policyId;
        bytes32 seed;
        bytes32 agencyId;
        uint64 requestBlock;
        uint64 requestedAt;
        uint64 executedAt;
        uint32 picks;
        address requestedBy;
        address executedBy;
    }

    /// @notice An agency as stored; registeredAt 0 = none.
    struct Agency {
        bytes32 department;
        bytes32 detailsHash;
        uint64 registeredAt;
        bool active;
    }

    /// @notice Most candidates or subjects in one draw.
    uint256 public constant MAX_ITEMS = 512;

    // ---------------------------------------------------------------- errors
    /// @notice The agency id or details hash is zero.
    error ZeroId();
    /// @notice An agency with this id is registered.
    error AgencyExists(bytes32 agencyId);
    /// @notice No agency has this id.
    error UnknownAgency(bytes32 agencyId);
    /// @notice The agency belongs to another department's pool than the caller's.
    error NotAgencyDepartment(bytes32 agencyId, bytes32 department);
    /// @notice The agency is already inactive.
    error AgencyInactive(bytes32 agencyId);
    /// @notice A draw with this id exists.
    error DrawExists(bytes32 drawId);
    /// @notice No draw has this id.
    error UnknownDraw(bytes32 drawId);
    /// @notice The draw was requested by another department than the caller's.
    error NotDrawDepartment(bytes32 drawId, bytes32 department);
    /// @notice The caller's department has no active agency in its pool.
    error EmptyPool(bytes32 department);
    /// @notice `picks` must be between 1 and the number of subjects (`subjects`); both at most MAX_ITEMS.
    error InvalidPicks(uint256 picks, uint256 subjects);
    /// @notice A subject appears twice in the request, or is zero.
    error InvalidSubject(bytes32 subject);
    /// @notice The draw is already executed.
    error AlreadyExecuted(bytes32 drawId);
    /// @notice The draw can be executed only after its request's block (`requestBlock`).
    error DrawNotReady(uint64 requestBlock, uint256 currentBlock);
    /// @notice The request's block hash is no longer readable (more than 256 blocks ago): request anew.
    error SeedUnavailable(uint64 requestBlock, uint256 currentBlock);
    /// @notice The draw is not executed yet.
    error NotExecuted(bytes32 drawId);

    // ---------------------------------------------------------------- events
    /// @notice `by` registered agency `agencyId` (details `detailsHash`) in `department`'s pool.
    event AgencyRegistered(bytes32 indexed agencyId, bytes32 indexed department, bytes32 detailsHash, address by);
    /// @notice `by` removed agency `agencyId` from `department`'s pool (it stays on record).
    event AgencyDeactivated(bytes32 indexed agencyId, bytes32 indexed department, bytes32 reasonHash, address by);
    /// @notice `by` requested draw `drawId` for `policyId`: `picks` of `subjects` by an agency of `candidates`.
    event DrawRequested(
        bytes32 indexed drawId,
        bytes32 indexed department,
        bytes32 indexed policyId,
        bytes32[] candidates,
        bytes32[] subjects,
        uint32 picks,
        uint64 requestBlock,
        address by
    );
    /// @notice `by` executed draw `drawId` with `seed`: agency `agencyId` checks `picked`.
    event DrawExecuted(bytes32 indexed drawId, bytes32 seed, bytes32 indexed agencyId, bytes32[] picked, address by);

    // ---------------------------------------------------------------- state
    mapping(bytes32 => Agency) private _agencies;
    mapping(bytes32 => bytes32[]) private _pool; // department => agency ids ever registered
    mapping(bytes32 => Draw) private _draws;
    mapping(bytes32 => bytes32[]) private _candidates;
    mapping(bytes32 => bytes32[]) private _subjects;
    mapping(bytes32 => bytes32[]) private _picked;
    uint256 private _drawCount;

    /// @param registry_ The alliance registry: roles and members' departments.
    constructor(IAllianceRegistry registry_) AllianceAccess(registry_) {}

    // ---------------------------------------------------------------- the pool

    /// @notice Registers a verification agency in the caller's department's pool.
    /// @dev Caller: a POLICY member. Emits `AgencyRegistered`.
    /// @param agencyId The agency's id (opaque, non-zero, unique across departments).
    /// @param detailsHash Hash of the agency's registration details (name, code, qualifications).
    function registerAgency(bytes32 agencyId, bytes32 detailsHash) external onlyRole(AllianceRoles.POLICY) {
        if (agencyId == bytes32(0) || detailsHash == bytes32(0)) revert ZeroId();
        Agency storage a = _agencies[agencyId];
        if (a.registeredAt != 0) revert AgencyExists(agencyId);
        bytes32 dept = registry.departmentOf(msg.sender);
        a.department = dept;
        a.detailsHash = detailsHash;
        a.registeredAt = uint64(block.timestamp);
        a.active = true;
        _pool[dept].push(agencyId);
        emit AgencyRegistered(agencyId, dept, detailsHash, msg.sender);
    }

    /// @notice Removes an agency from its department's pool for future draws.
    /// @dev Caller: a POLICY member of the agency's department. Emits `AgencyDeactivated`.
    /// @param agencyId The agency.
    /// @param reasonHash Hash of the reason (e.g. a conflict, a lapsed qualification).
    function deactivateAgency(bytes32 agencyId, bytes32 reasonHash) external onlyRole(AllianceRoles.POLICY) {
        Agency storage a = _agencies[agencyId];
        if (a.registeredAt == 0) revert UnknownAgency(agencyId);
        bytes32 dept = registry.departmentOf(msg.sender);
        if (a.department != dept) revert NotAgencyDepartment(agencyId, dept);
        if (!a.active) revert AgencyInactive(agencyId);
        if (reasonHash == bytes32(0)) revert ZeroId();
        a.active = false;
        emit AgencyDeactivated(agencyId, dept, reasonHash, msg.sender);
    }

    // ---------------------------------------------------------------- draws

    /// @notice Requests a double-random draw: fixes the pool snapshot, the subjects and the count.
    /// @dev Caller: a POLICY member; the draw belongs to the caller's department. Emits `DrawRequested`.
    /// @param drawId The new draw's id (non-zero, unique).
    /// @param policyId The policy whose applications are checked.
    /// @param subjects The application ids to draw from (distinct, non-zero, at most MAX_ITEMS).
    /// @param picks How many subjects to draw (1 ≤ picks ≤ subjects.length).
    function requestDraw(bytes32 drawId, bytes32 policyId, bytes32[] calldata subjects, uint32 picks)
        external
        onlyRole(AllianceRoles.POLICY)
    {
        if (drawId == bytes32(0) || policyId == bytes32(0)) revert ZeroId();
        Draw storage d = _draws[drawId];
        if (d.requestBlock != 0) revert DrawExists(drawId);
        uint256 n = subjects.length;
        if (picks == 0 || picks > n || n > MAX_ITEMS) revert InvalidPicks(picks, n);
        for (uint256 i = 0; i < n; ++i) {
            bytes32 s = subjects[i];
            if (s == bytes32(0)) revert InvalidSubject(s);
            for (uint256 k = 0; k < i; ++k) {
                if (subjects[k] == s) revert InvalidSubject(s);
            }
        }
        bytes32 dept = registry.departmentOf(msg.sender);
        bytes32[] storage pool = _pool[dept];
        bytes32[] storage candidates = _candidates[drawId];
        for (uint256 i = 0; i < pool.length && candidates.length < MAX_ITEMS; ++i) {
            if (_agencies[pool[i]].active) candidates.push(pool[i]);
        }
        if (candidates.length == 0) revert EmptyPool(dept);
        _subjects[drawId] = subjects;
        d.department = dept;
        d.policyId = policyId;
        d.requestBlock = uint64(block.number);
        d.requestedAt = uint64(block.timestamp);
        d.picks = picks;
        d.requestedBy = msg.sender;
        ++_drawCount;
        emit DrawRequested(drawId, dept, policyId, candidates, subjects, picks, uint64(block.number), msg.sender);
    }

    /// @notice Executes a requested draw from the hash of the request's block.
    /// @dev Caller: a POLICY member of the draw's department, in a block after the request's and
    ///      within 256 blocks of it. Emits `DrawExecuted`.
    /// @param drawId The draw.
    function executeDraw(bytes32 drawId) external onlyRole(AllianceRoles.POLICY) {
        Draw storage d = _draws[drawId];
        if (d.requestBlock == 0) revert UnknownDraw(drawId);
        bytes32 dept = registry.departmentOf(msg.sender);
        if (d.department != dept) revert NotDrawDepartment(drawId, dept);
        if (d.executedAt != 0) revert AlreadyExecuted(drawId);
        if (block.number <= d.requestBlock) revert DrawNotReady(d.requestBlock, block.number);
        bytes32 blockHash = blockhash(d.requestBlock);
        if (blockHash == bytes32(0)) revert SeedUnavailable(d.requestBlock, block.number);
        bytes32 seed = keccak256(abi.encode(blockHash, drawId));
        (bytes32 agencyId, bytes32[] memory picked) = recompute(seed, _candidates[drawId], _subjects[drawId], d.picks);
        d.seed = seed;
        d.agencyId = agencyId;
        d.executedAt = uint64(block.timestamp);
        d.executedBy = msg.sender;
        _picked[drawId] = picked;
        emit DrawExecuted(drawId, seed, agencyId, picked, msg.sender);
    }

    // ---------------------------------------------------------------- views

    /// @notice The pick a seed gives over given inputs (what `executeDraw` runs; anyone can re-run it).
    /// @param seed keccak256(abi.encode(blockhash(requestBlock), drawId)).
    /// @param candidates The pool snapshot (agency ids), non-empty.
    /// @param subjects The subjects to draw from.
    /// @param picks How many subjects to draw (≤ subjects.length).
    /// @return agencyId The drawn agency.
    /// @return picked The drawn subjects, in draw order.
    function recompute(bytes32 seed, bytes32[] memory candidates, bytes32[] memory subjects, uint32 picks)
        public
        pure
        returns (bytes32 agencyId, bytes32[] memory picked)
    {
        if (candidates.length == 0) revert EmptyPool(bytes32(0));
        if (picks > subjects.length) revert InvalidPicks(picks, subjects.length);
        agencyId = candidates[uint256(keccak256(abi.encode(seed, "agency"))) % candidates.length];
        bytes32[] memory order = new bytes32[](subjects.length);
        for (uint256 i = 0; i < subjects.length; ++i) order[i] = subjects[i];
        picked = new bytes32[](picks);
        for (uint256 i = 0; i < picks; ++i) {
            uint256 j = i + uint256(keccak256(abi.encode(seed, "subject", i))) % (order.length - i);
            (order[i], order[j]) = (order[j], order[i]);
            picked[i] = order[i];
        }
    }

    /// @notice The stored draw; reverts `UnknownDraw` when there is none.
    /// @param drawId The draw.
    function getDraw(bytes32 drawId) external view returns (Draw memory) {
        Draw storage d = _draws[drawId];
        if (d.requestBlock == 0) revert UnknownDraw(drawId);
        return d;
    }

    /// @notice The inputs and result of a draw: pool snapshot, subjects, and the picked subjects
    ///         (empty until executed).
    /// @param drawId The draw.
    function drawInputs(bytes32 drawId)
        external
        view
        returns (bytes32[] memory candidates, bytes32[] memory subjects, bytes32[] memory picked)
    {
        if (_draws[drawId].requestBlock == 0) revert UnknownDraw(drawId);
        return (_candidates[drawId], _subjects[drawId], _picked[drawId]);
    }

    /// @notice The stored agency; reverts `UnknownAgency` when there is none.
    /// @param agencyId The agency.
    function getAgency(bytes32 agencyId) external view returns (Agency memory) {
        Agency storage a = _agencies[agencyId];
        if (a.registeredAt == 0) revert UnknownAgency(agencyId);
        return a;
    }

    /// @notice Every agency ever registered in `department`'s pool (check `getAgency(..).active`).
    /// @param department The department code.
    function poolOf(bytes32 department) external view returns (bytes32[] memory) {
        return _pool[department];
    }

    /// @notice How many draws were requested.
    function drawCount() external view returns (uint256) {
        return _drawCount;
    }
}
