// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AllianceRoles} from "./AllianceRoles.sol";
import {IAllianceRegistry} from "./IAllianceRegistry.sol";

/// @title AllianceRegistry
/// @notice Who is in the alliance: departments, their members (accounts) and roles, and which
///         department may issue which licence type. After a one-time bootstrap by the deploying
///         account, every change goes through a proposal approved by M of the N active
///         departments (one vote per department, cast by any of its GOVERNOR members).
contract AllianceRegistry is IAllianceRegistry {
    /// @notice Kinds of governance change a proposal can carry.
    enum Action {
        AddDepartment, // abi.encode(bytes32 code, string name, string nameEn, uint256 roles)
        RemoveDepartment, // abi.encode(bytes32 code)
        SetDepartmentRoles, // abi.encode(bytes32 code, uint256 roles)
        AddMember, // abi.encode(address account, bytes32 department, uint256 roles)
        RemoveMember, // abi.encode(address account)
        SetMemberRoles, // abi.encode(address account, uint256 roles)
        SetLicenceTypeAuthority, // abi.encode(bytes32 licenceType, bytes32 department, bool allowed)
        SetThreshold, // abi.encode(uint256 threshold)
        SetDataSource // abi.encode(bytes32 dataType, bytes32 department, uint8 quorum)
    }

    enum ProposalStatus {
        None,
        Open,
        Executed,
        Cancelled
    }

    struct Department {
        bool active;
        uint256 roles;
        string name;
        string nameEn;
        uint32 memberCount;
    }

    struct Member {
        bool active;
        bytes32 department;
        uint256 roles;
    }

    struct Proposal {
        Action action;
        ProposalStatus status;
        bytes32 proposerDepartment;
        address proposer;
        uint64 createdAt;
        uint64 expiresAt;
        uint32 approvals;
        bytes data;
    }

    /// @notice The one authoritative source of a data type (一数一源): attestations of it need the
    ///         signatures of `quorum` distinct ORACLE members of `department`. department 0 = unbound.
    struct DataSource {
        bytes32 department;
        uint8 quorum;
    }

    /// @dev One authorisation interval of a department for a licence type; revokedAt 0 = still open.
    struct AuthorityInterval {
        uint64 grantedAt;
        uint64 revokedAt;
    }

    // ---------------------------------------------------------------- errors
    error NotBootstrapAdmin(address caller);
    error BootstrapAlreadySealed();
    error BootstrapIncomplete(uint256 departments, uint256 threshold);
    error NotGovernor(address caller);
    error UnknownDepartment(bytes32 code);
    error DepartmentExists(bytes32 code);
    error DepartmentHasMembers(bytes32 code, uint32 members);
    error EmptyCode();
    error UnknownMember(address account);
    error MemberExists(address account);
    error ZeroAccount();
    error RolesNotHeldByDepartment(bytes32 department, uint256 roles, uint256 departmentRoles);
    error InvalidRoles(uint256 roles);
    error InvalidThreshold(uint256 threshold, uint256 activeDepartments);
    error AuthorityUnchanged(bytes32 licenceType, bytes32 department, bool allowed);
    error UnknownProposal(uint256 id);
    error ProposalNotOpen(uint256 id, ProposalStatus status);
    error ProposalExpired(uint256 id, uint64 expiresAt);
    error AlreadyApproved(uint256 id, bytes32 department);
    error NotProposer(uint256 id, address caller);
    error InvalidLifetime(uint64 lifetime);
    /// @notice A data source needs a quorum of at least one signature.
    error InvalidQuorum(uint8 quorum);
    /// @notice `dataType` is already bound to `department` with `quorum`.
    error DataSourceUnchanged(bytes32 dataType, bytes32 department, uint8 quorum);

    // ---------------------------------------------------------------- events
    event DepartmentAdded(bytes32 indexed code, string name, string nameEn, uint256 roles);
    event DepartmentRemoved(bytes32 indexed code);
    event DepartmentRolesChanged(bytes32 indexed code, uint256 roles);
    event MemberAdded(address indexed account, bytes32 indexed department, uint256 roles);
    event MemberRemoved(address indexed account, bytes32 indexed department);
    event MemberRolesChanged(address indexed account, uint256 roles);
    event LicenceTypeAuthorityChanged(bytes32 indexed licenceType, bytes32 indexed department, bool allowed);
    event ThresholdChanged(uint256 previous, uint256 threshold);
    event ProposalCreated(
        uint256 indexed id, Action action, bytes32 indexed proposerDepartment, address proposer, uint64 expiresAt, bytes data
    );
    event ProposalApproved(uint256 indexed id, bytes32 indexed department, address member, uint32 approvals);
    event ProposalExecuted(uint256 indexed id, Action action);
    event ProposalCancelled(uint256 indexed id, address by);
    event BootstrapSealed(address by, uint256 departments, uint256 threshold);
    /// @notice `dataType` is now sourced from `department` with `quorum` signatures; department 0 and
    ///         quorum 0 = unbound (its source department was removed).
    event DataSourceChanged(bytes32 indexed dataType, bytes32 indexed department, uint8 quorum);

    // ---------------------------------------------------------------- state
    address public bootstrapAdmin;
    bool public isSealed;
    uint256 public threshold;
    uint256 public activeDepartmentCount;
    uint64 public proposalLifetime;

    mapping(bytes32 => Department) private _departments;
    bytes32[] private _departmentCodes;
    mapping(address => Member) private _members;
    address[] private _memberAccounts;
    mapping(bytes32 => mapping(bytes32 => AuthorityInterval[])) private _authority;
    bytes32[] private _licenceTypes;
    mapping(bytes32 => bool) private _licenceTypeKnown;

    Proposal[] private _proposals;
    mapping(uint256 => mapping(bytes32 => bool)) private _approvedBy;

    mapping(bytes32 => DataSource) private _dataSources;
    bytes32[] private _dataTypes;
    mapping(bytes32 => bool) private _dataTypeKnown;

    /// @param lifetime Seconds a proposal stays open for approvals.
    constructor(uint64 lifetime) {
        if (lifetime == 0) revert InvalidLifetime(lifetime);
        bootstrapAdmin = msg.sender;
        proposalLifetime = lifetime;
    }

    // ---------------------------------------------------------------- bootstrap

    modifier onlyBootstrap() {
        if (msg.sender != bootstrapAdmin) revert NotBootstrapAdmin(msg.sender);
        if (isSealed) revert BootstrapAlreadySealed();
        _;
    }

    /// @notice Bootstrap only: add a department before governance takes over.
    function bootstrapDepartment(bytes32 code, string calldata name, string calldata nameEn, uint256 roles)
        external
        onlyBootstrap
    {
        _addDepartment(code, name, nameEn, roles);
    }

    /// @notice Bootstrap only: add a member to an existing department.
    function bootstrapMember(address account, bytes32 department, uint256 roles) external onlyBootstrap {
        _addMember(account, department, roles);
    }

    /// @notice Bootstrap only: allow or disallow a department to issue a licence type.
    function bootstrapLicenceTypeAuthority(bytes32 licenceType, bytes32 department, bool allowed)
        external
        onlyBootstrap
    {
        _setAuthority(licenceType, department, allowed);
    }

    /// @notice Bootstrap only: bind a data type to its one authoritative source department.
    /// @param dataType The data type, e.g. "ENTERPRISE_REGISTRY" as bytes32.
    /// @param department An active department holding the ORACLE role.
    /// @param quorum Signatures of distinct ORACLE members of `department` an attestation needs (≥ 1;
    ///        more than the department has members is allowed, but then nothing is accepted until it grows).
    function bootstrapDataSource(bytes32 dataType, bytes32 department, uint8 quorum) external onlyBootstrap {
        _setDataSource(dataType, department, quorum);
    }

    /// @notice Bootstrap only: set M, the number of departments a proposal needs.
    function bootstrapThreshold(uint256 newThreshold) external onlyBootstrap {
        _setThreshold(newThreshold);
    }

    /// @notice Ends the bootstrap for good: from now on only M-of-N proposals change the alliance.
    function sealBootstrap() external onlyBootstrap {
        if (activeDepartmentCount == 0 || threshold == 0) {
            revert BootstrapIncomplete(activeDepartmentCount, threshold);
        }
        isSealed = true;
        emit BootstrapSealed(msg.sender, activeDepartmentCount, threshold);
    }

    // ---------------------------------------------------------------- governance

    modifier onlyGovernor() {
        if (!hasRole(msg.sender, AllianceRoles.GOVERNOR)) revert NotGovernor(msg.sender);
        _;
    }

    /// @notice Proposes a governance change; the proposer's department approves it at once.
    /// @param action What kind of change.
    /// @param data The change's arguments, ABI-encoded as documented on {Action}.
    /// @return id The proposal's number.
    function propose(Action action, bytes calldata data) external onlyGovernor returns (uint256 id) {
        _check(action, data);
        bytes32 dept = _members[msg.sender].department;
        uint64 expiresAt = uint64(block.timestamp) + proposalLifetime;
        id = _proposals.length;
        _proposals.push(
            Proposal({
                action: action,
                status: ProposalStatus.Open,
                proposerDepartment: dept,
                proposer: msg.sender,
                createdAt: uint64(block.timestamp),
                expiresAt: expiresAt,
                approvals: 0,
                data: data
            })
        );
        emit ProposalCreated(id, action, dept, msg.sender, expiresAt, data);
        _approve(id, dept);
    }

    /// @notice Approves an open proposal on behalf of the caller's department; executes it when
    ///         the approvals reach the threshold.
    /// @param id The proposal's number.
    function approve(uint256 id) external onlyGovernor {
        Proposal storage p = _openProposal(id);
        bytes32 dept = _members[msg.sender].department;
        if (_approvedBy[id][dept]) revert AlreadyApproved(id, dept);
        if (block.timestamp > p.expiresAt) revert ProposalExpired(id, p.expiresAt);
        _approve(id, dept);
    }

    /// @notice Withdraws an open proposal. Only its proposer may.
    /// @param id The proposal's number.
    function cancel(uint256 id) external {
        Proposal storage p = _openProposal(id);
        if (p.proposer != msg.sender) revert NotProposer(id, msg.sender);
        p.status = ProposalStatus.Cancelled;
        emit ProposalCancelled(id, msg.sender);
    }

    function _approve(uint256 id, bytes32 dept) private {
        Proposal storage p = _proposals[id];
        _approvedBy[id][dept] = true;
        p.approvals += 1;
        emit ProposalApproved(id, dept, msg.sender, p.approvals);
        if (p.approvals >= threshold) {
            p.status = ProposalStatus.Executed;
            _execute(p.action, p.data);
            emit ProposalExecuted(id, p.action);
        }
    }

    function _openProposal(uint256 id) private view returns (Proposal storage p) {
        if (id >= _proposals.length) revert UnknownProposal(id);
        p = _proposals[id];
        if (p.status != ProposalStatus.Open) revert ProposalNotOpen(id, p.status);
    }

    /// @dev Validates a change against the current state without applying it.
    function _check(Action action, bytes calldata data) private view {
        if (action == Action.AddDepartment) {
            (bytes32 code,,, uint256 roles) = abi.decode(data, (bytes32, string, string, uint256));
            if (code == bytes32(0)) revert EmptyCode();
            if (_departments[code].active) revert DepartmentExists(code);
            _checkRoles(roles);
        } else if (action == Action.RemoveDepartment) {
            bytes32 code = abi.decode(data, (bytes32));
            Department storage d = _activeDepartment(code);
            if (d.memberCount > 0) revert DepartmentHasMembers(code, d.memberCount);
            if (threshold > activeDepartmentCount - 1) revert InvalidThreshold(threshold, activeDepartmentCount - 1);
        } else if (action == Action.SetDepartmentRoles) {
            (bytes32 code, uint256 roles) = abi.decode(data, (bytes32, uint256));
            _activeDepartment(code);
            _checkRoles(roles);
        } else if (action == Action.AddMember) {
            (address account, bytes32 dept, uint256 roles) = abi.decode(data, (address, bytes32, uint256));
            _checkNewMember(account, dept, roles);
        } else if (action == Action.RemoveMember) {
            address account = abi.decode(data, (address));
            if (!_members[account].active) revert UnknownMember(account);
        } else if (action == Action.SetMemberRoles) {
            (address account, uint256 roles) = abi.decode(data, (address, uint256));
            Member storage m = _members[account];
            if (!m.active) revert UnknownMember(account);
            _checkMemberRoles(m.department, roles);
        } else if (action == Action.SetLicenceTypeAuthority) {
            (bytes32 licenceType, bytes32 dept, bool allowed) = abi.decode(data, (bytes32, bytes32, bool));
            if (licenceType == bytes32(0)) revert EmptyCode();
            _activeDepartment(dept);
            if (isAuthorisedIssuer(licenceType, dept) == allowed) revert AuthorityUnchanged(licenceType, dept, allowed);
        } else if (action == Action.SetThreshold) {
            uint256 newThreshold = abi.decode(data, (uint256));
            if (newThreshold == 0 || newThreshold > activeDepartmentCount) {
                revert InvalidThreshold(newThreshold, activeDepartmentCount);
            }
        } else {
            (bytes32 dataType, bytes32 dept, uint8 quorum) = abi.decode(data, (bytes32, bytes32, uint8));
            _checkDataSource(dataType, dept, quorum);
        }
    }

    function _execute(Action action, bytes memory data) private {
        if (action == Action.AddDepartment) {
            (bytes32 code, string memory name, string memory nameEn, uint256 roles) =
                abi.decode(data, (bytes32, string, string, uint256));
            _addDepartment(code, name, nameEn, roles);
        } else if (action == Action.RemoveDepartment) {
            bytes32 code = abi.decode(data, (bytes32));
            Department storage d = _activeDepartment(code);
            if (d.memberCount > 0) revert DepartmentHasMembers(code, d.memberCount);
            if (threshold > activeDepartmentCount - 1) revert InvalidThreshold(threshold, activeDepartmentCount - 1);
            d.active = false;
            activeDepartmentCount -= 1;
            _revokeAllAuthority(code);
            _unbindDataSources(code);
            emit DepartmentRemoved(code);
        } else if (action == Action.SetDepartmentRoles) {
            (bytes32 code, uint256 roles) = abi.decode(data, (bytes32, uint256));
            _activeDepartment(code).roles = _checkRoles(roles);
            emit DepartmentRolesChanged(code, roles);
        } else if (action == Action.AddMember) {
            (address account, bytes32 dept, uint256 roles) = abi.decode(data, (address, bytes32, uint256));
            _addMember(account, dept, roles);
        } else if (action == Action.RemoveMember) {
            address account = abi.decode(data, (address));
            Member storage m = _members[account];
            if (!m.active) revert UnknownMember(account);
            m.active = false;
            _departments[m.department].memberCount -= 1;
            emit MemberRemoved(account, m.department);
        } else if (action == Action.SetMemberRoles) {
            (address account, uint256 roles) = abi.decode(data, (address, uint256));
            Member storage m = _members[account];
            if (!m.active) revert UnknownMember(account);
            _checkMemberRoles(m.department, roles);
            m.roles = roles;
            emit MemberRolesChanged(account, roles);
        } else if (action == Action.SetLicenceTypeAuthority) {
            (bytes32 licenceType, bytes32 dept, bool allowed) = abi.decode(data, (bytes32, bytes32, bool));
            _setAuthority(licenceType, dept, allowed);
        } else if (action == Action.SetThreshold) {
            _setThreshold(abi.decode(data, (uint256)));
        } else {
            (bytes32 dataType, bytes32 dept, uint8 quorum) = abi.decode(data, (bytes32, bytes32, uint8));
            _setDataSource(dataType, dept, quorum);
        }
    }

    // ---------------------------------------------------------------- state changes

    function _addDepartment(bytes32 code, string memory name, string memory nameEn, uint256 roles) private {
        if (code == bytes32(0)) revert EmptyCode();
        Department storage d = _departments[code];
        if (d.active) revert DepartmentExists(code);
        _checkRoles(roles);
        if (bytes(d.name).length == 0 && d.memberCount == 0 && d.roles == 0) {
            _departmentCodes.push(code);
        }
        d.active = true;
        d.roles = roles;
        d.name = name;
        d.nameEn = nameEn;
        activeDepartmentCount += 1;
        emit DepartmentAdded(code, name, nameEn, roles);
    }

    function _addMember(address account, bytes32 dept, uint256 roles) private {
        _checkNewMember(account, dept, roles);
        Member storage m = _members[account];
        if (m.department == bytes32(0)) _memberAccounts.push(account);
        m.active = true;
        m.department = dept;
        m.roles = roles;
        _departments[dept].memberCount += 1;
        emit MemberAdded(account, dept, roles);
    }

    function _setAuthority(bytes32 licenceType, bytes32 dept, bool allowed) private {
        if (licenceType == bytes32(0)) revert EmptyCode();
        _activeDepartment(dept);
        if (isAuthorisedIssuer(licenceType, dept) == allowed) revert AuthorityUnchanged(licenceType, dept, allowed);
        AuthorityInterval[] storage intervals = _authority[licenceType][dept];
        if (allowed) {
            intervals.push(AuthorityInterval({grantedAt: uint64(block.timestamp), revokedAt: 0}));
        } else {
            intervals[intervals.length - 1].revokedAt = uint64(block.timestamp);
        }
        if (!_licenceTypeKnown[licenceType]) {
            _licenceTypeKnown[licenceType] = true;
            _licenceTypes.push(licenceType);
        }
        emit LicenceTypeAuthorityChanged(licenceType, dept, allowed);
    }

    /// @dev Ends every open licence-type authority of a department being removed, so that it is
    ///      not authorised while removed (history included) nor again if the code is re-added.
    function _revokeAllAuthority(bytes32 dept) private {
        uint256 count = _licenceTypes.length;
        for (uint256 i = 0; i < count; i++) {
            bytes32 licenceType = _licenceTypes[i];
            AuthorityInterval[] storage intervals = _authority[licenceType][dept];
            uint256 n = intervals.length;
            if (n > 0 && intervals[n - 1].revokedAt == 0) {
                intervals[n - 1].revokedAt = uint64(block.timestamp);
                emit LicenceTypeAuthorityChanged(licenceType, dept, false);
            }
        }
    }

    function _setDataSource(bytes32 dataType, bytes32 dept, uint8 quorum) private {
        _checkDataSource(dataType, dept, quorum);
        _dataSources[dataType] = DataSource({department: dept, quorum: quorum});
        if (!_dataTypeKnown[dataType]) {
            _dataTypeKnown[dataType] = true;
            _dataTypes.push(dataType);
        }
        emit DataSourceChanged(dataType, dept, quorum);
    }

    /// @dev Unbinds every data type sourced from a department being removed: a removed department
    ///      is no authoritative source, nor again if the code is re-added (governance rebinds).
    function _unbindDataSources(bytes32 dept) private {
        uint256 count = _dataTypes.length;
        for (uint256 i = 0; i < count; i++) {
            bytes32 dataType = _dataTypes[i];
            if (_dataSources[dataType].department == dept) {
                delete _dataSources[dataType];
                emit DataSourceChanged(dataType, bytes32(0), 0);
            }
        }
    }

    function _setThreshold(uint256 newThreshold) private {
        if (newThreshold == 0 || newThreshold > activeDepartmentCount) {
            revert InvalidThreshold(newThreshold, activeDepartmentCount);
        }
        emit ThresholdChanged(threshold, newThreshold);
        threshold = newThreshold;
    }

    // ---------------------------------------------------------------- checks

    function _activeDepartment(bytes32 code) private view returns (Department storage d) {
        d = _departments[code];
        if (!d.active) revert UnknownDepartment(code);
    }

    function _checkRoles(uint256 roles) private pure returns (uint256) {
        if (roles == 0 || roles & ~AllianceRoles.ALL != 0) revert InvalidRoles(roles);
        return roles;
    }

    function _checkMemberRoles(bytes32 dept, uint256 roles) private view {
        _checkRoles(roles);
        uint256 held = _departments[dept].roles;
        if (roles & ~held != 0) revert RolesNotHeldByDepartment(dept, roles, held);
    }

    function _checkDataSource(bytes32 dataType, bytes32 dept, uint8 quorum) private view {
        if (dataType == bytes32(0)) revert EmptyCode();
        uint256 held = _activeDepartment(dept).roles;
        if (held & AllianceRoles.ORACLE == 0) revert RolesNotHeldByDepartment(dept, AllianceRoles.ORACLE, held);
        if (quorum == 0) revert InvalidQuorum(quorum);
        DataSource storage current = _dataSources[dataType];
        if (current.department == dept && current.quorum == quorum) revert DataSourceUnchanged(dataType, dept, quorum);
    }

    function _checkNewMember(address account, bytes32 dept, uint256 roles) private view {
        if (account == address(0)) revert ZeroAccount();
        if (_members[account].active) revert MemberExists(account);
        _activeDepartment(dept);
        _checkMemberRoles(dept, roles);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IAllianceRegistry
    /// @dev A member holds only those of its roles its department still holds (department roles
    ///      may be narrowed after the member was given them).
    function hasRole(address account, uint256 role) public view returns (bool) {
        Member storage m = _members[account];
        Department storage d = _departments[m.department];
        return m.active && d.active && (m.roles & d.roles & role) == role;
    }

    /// @inheritdoc IAllianceRegistry
    function departmentOf(address account) external view returns (bytes32) {
        Member storage m = _members[account];
        if (!m.active) revert UnknownMember(account);
        return m.department;
    }

    /// @inheritdoc IAllianceRegistry
    function isAuthorisedIssuer(bytes32 licenceType, bytes32 department) public view returns (bool) {
        AuthorityInterval[] storage intervals = _authority[licenceType][department];
        return intervals.length > 0 && intervals[intervals.length - 1].revokedAt == 0
            && _departments[department].active;
    }

    /// @inheritdoc IAllianceRegistry
    function wasAuthorisedIssuerAt(bytes32 licenceType, bytes32 department, uint64 timestamp)
        external
        view
        returns (bool)
    {
        AuthorityInterval[] storage intervals = _authority[licenceType][department];
        for (uint256 i = intervals.length; i > 0; i--) {
            AuthorityInterval storage it = intervals[i - 1];
            if (it.grantedAt <= timestamp && (it.revokedAt == 0 || timestamp < it.revokedAt)) return true;
        }
        return false;
    }

    /// @inheritdoc IAllianceRegistry
    function dataSourceOf(bytes32 dataType) external view returns (bytes32 department, uint8 quorum) {
        DataSource storage s = _dataSources[dataType];
        return (s.department, s.quorum);
    }

    /// @inheritdoc IAllianceRegistry
    function dataTypes() external view returns (bytes32[] memory) {
        return _dataTypes;
    }

    /// @notice A department's record (active or removed).
    function getDepartment(bytes32 code) external view returns (Department memory) {
        return _departments[code];
    }

    /// @notice Every department code ever added, in order (check `active` for removed ones).
    function departmentCodes() external view returns (bytes32[] memory) {
        return _departmentCodes;
    }

    /// @notice A member's record.
    function getMember(address account) external view returns (Member memory) {
        return _members[account];
    }

    /// @notice Every account ever added as a member, in order (check `active`).
    function memberAccounts() external view returns (address[] memory) {
        return _memberAccounts;
    }

    /// @notice Every licence type that has ever had an issuing department.
    function licenceTypes() external view returns (bytes32[] memory) {
        return _licenceTypes;
    }

    /// @notice A proposal's record.
    function getProposal(uint256 id) external view returns (Proposal memory) {
        if (id >= _proposals.length) revert UnknownProposal(id);
        return _proposals[id];
    }

    /// @notice Whether a department has approved a proposal.
    function hasApproved(uint256 id, bytes32 department) external view returns (bool) {
        return _approvedBy[id][department];
    }

    /// @notice Number of proposals ever made.
    function proposalCount() external view returns (uint256) {
        return _proposals.length;
    }
}
