// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IAllianceRegistry
/// @notice What other Alliance Ledger contracts ask the registry: who holds which role, and which
///         department may issue which licence type.
interface IAllianceRegistry {
    /// @notice True when `account` is an active member of an active department and holds every bit of `role`.
    function hasRole(address account, uint256 role) external view returns (bool);

    /// @notice The department code of an active member; reverts for a non-member.
    function departmentOf(address account) external view returns (bytes32);

    /// @notice True when `department` may issue `licenceType` now.
    function isAuthorisedIssuer(bytes32 licenceType, bytes32 department) external view returns (bool);

    /// @notice True when `department` was authorised for `licenceType` at `timestamp`.
    function wasAuthorisedIssuerAt(bytes32 licenceType, bytes32 department, uint64 timestamp)
        external
        view
        returns (bool);

    /// @notice The one authoritative source department of `dataType` (一数一源) and the number of
    ///         distinct ORACLE members of it whose signatures an attestation needs; department 0 =
    ///         no source (unknown data type).
    function dataSourceOf(bytes32 dataType) external view returns (bytes32 department, uint8 quorum);

    /// @notice Every data type that has ever been bound to a source (check `dataSourceOf` for unbound ones).
    function dataTypes() external view returns (bytes32[] memory);
}

/// @title AllianceAccess
/// @notice Reusable caller check for contracts governed by the alliance registry.
abstract contract AllianceAccess {
    /// @notice The caller lacks `role` in the alliance registry.
    error MissingRole(address caller, uint256 role);

    IAllianceRegistry public registry;

    constructor(IAllianceRegistry registry_) {
        registry = registry_;
    }

    modifier onlyRole(uint256 role) {
        if (!registry.hasRole(msg.sender, role)) revert MissingRole(msg.sender, role);
        _;
    }
}
