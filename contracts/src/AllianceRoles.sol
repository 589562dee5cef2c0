// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title AllianceRoles
/// @notice Role bits shared by every Alliance Ledger contract. A department holds a set of
///         roles; each of its members holds a subset of them.
library AllianceRoles {
    /// @notice Votes on governance proposals for its department.
    uint256 internal constant GOVERNOR = 1 << 0;
    /// @notice Issues, suspends, revokes and renews licences of the types its department is authorised for.
    uint256 internal constant ISSUER = 1 << 1;
    /// @notice Publishes and amends subsidy policies.
    uint256 internal constant POLICY = 1 << 2;
    /// @notice Reviews applications.
    uint256 internal constant REVIEWER = 1 << 3;
    /// @notice Confirms payouts.
    uint256 internal constant FINANCE = 1 << 4;
    /// @notice Discipline inspection: reads everything, handles alarms, holds and releases payouts.
    uint256 internal constant INSPECTOR = 1 << 5;
    /// @notice Signs attestations of facts its department is the authoritative source of.
    uint256 internal constant ORACLE = 1 << 6;
    /// @notice Runs the gateway: anchors document batches, records notices.
    uint256 internal constant OPERATOR = 1 << 7;

    /// @notice Every role bit defined above.
    uint256 internal constant ALL = (1 << 8) - 1;
}
