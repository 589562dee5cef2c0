// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AllianceRoles} from "./AllianceRoles.sol";
import {AllianceAccess, IAllianceRegistry} from "./IAllianceRegistry.sol";

/// @title OracleHub
/// @notice Signed attestations of off-chain facts from their one authoritative source (一数一源).
///         Each data type is bound in the alliance registry to one source department and a quorum M;
///         an attestation is accepted once M distinct ORACLE members of that department have signed
///         its EIP-712 digest. Signatures may arrive in separate transactions (each member submits
///         its own) and accumulate until the quorum is reached.
/// @dev No personal data: `subject` is a keyed hash (HMAC) of the enterprise's USCC and `valueHash`
///      the keccak256 of the fact's canonical JSON, both computed off-chain.
contract OracleHub is AllianceAccess {
    /// @notice One fact as its source observed it; what the source members sign (EIP-712).
    /// @param dataType The kind of fact, e.g. "ENTERPRISE_REGISTRY" as bytes32.
    /// @param subject Keyed hash (HMAC) of the enterprise's USCC.
    /// @param valueHash keccak256 of the canonical JSON of the fact's value.
    /// @param observedAt When the source observed the fact (unix seconds).
    /// @param sourceDigest SHA-256 of the source file the fact was read from.
    /// @param sourceLine Line of that file.
    struct Attestation {
        bytes32 dataType;
        bytes32 subject;
        bytes32 valueHash;
        uint64 observedAt;
        bytes32 sourceDigest;
        uint32 sourceLine;
    }

    /// @notice The latest accepted observation of a data type for a subject; digest 0 = none.
    struct Fact {
        bytes32 valueHash;
        uint64 observedAt;
        bytes32 digest;
        uint64 acceptedAt;
    }

    /// @dev `Fact` packed into three storage slots.
    struct StoredFact {
        bytes32 valueHash;
        bytes32 digest;
        uint64 observedAt;
        uint64 acceptedAt;
    }

    /// @dev Signatures collected for one digest. They count only for the source department they were
    ///      collected for: when the data type's source changes, the next submit starts a new round.
    struct Tally {
        bytes32 department;
        uint32 round;
        uint8 count;
        bool accepted;
    }

    /// @dev A signer already checked against the registry in this transaction (batches are usually
    ///      signed by the same few members).
    struct SignerCache {
        address signer;
        bytes32 department;
    }

    // ---------------------------------------------------------------- errors
    /// @notice `dataType` has no source department in the registry.
    error UnknownDataType(bytes32 dataType);
    /// @notice Signature number `index` is not a valid 65-byte (r, s, v) secp256k1 signature with
    ///         low s and v of 27 or 28.
    error InvalidSignature(uint256 index);
    /// @notice `signer` is not an active ORACLE member of `department`, the data type's source.
    error NotSourceMember(address signer, bytes32 department);
    /// @notice `signer` has already signed this attestation (in this call or an earlier one).
    error DuplicateSigner(address signer);
    /// @notice The attestation with EIP-712 digest `digest` is already accepted.
    error AlreadyAccepted(bytes32 digest);
    /// @notice The attestation's subject is zero.
    error ZeroSubject();
    /// @notice The attestation's observedAt is zero.
    error ZeroObservedAt();
    /// @notice `observedAt` lies more than `MAX_CLOCK_SKEW` seconds after the block time `now`.
    error FutureObservation(uint64 observedAt, uint64 now);
    /// @notice A submit carries no signature.
    error NoSignatures();
    /// @notice `submitMany` got a different number of attestations and signature lists.
    error LengthMismatch();
    /// @notice `submitMany` got no attestation.
    error EmptyBatch();

    // ---------------------------------------------------------------- events
    /// @notice `signer` signed the attestation `digest`; `count` signatures of the current source
    ///         department are now collected.
    event AttestationSigned(bytes32 indexed digest, address indexed signer, uint8 count);
    /// @notice The attestation `digest` reached its quorum of `department`'s signatures and is accepted.
    event AttestationAccepted(
        bytes32 indexed digest,
        bytes32 indexed dataType,
        bytes32 indexed subject,
        bytes32 valueHash,
        uint64 observedAt,
        bytes32 sourceDigest,
        uint32 sourceLine,
        bytes32 department
    );
    /// @notice The accepted attestation `digest` is now the latest fact of `dataType` for `subject`
    ///         (an accepted observation older than the latest one does not replace it).
    event LatestFactUpdated(
        bytes32 indexed dataType, bytes32 indexed subject, bytes32 indexed digest, bytes32 valueHash, uint64 observedAt
    );

    // ---------------------------------------------------------------- constants

    /// @notice Seconds an observation may lie after the block time (clock skew between nodes and sources).
    uint64 public constant MAX_CLOCK_SKEW = 300;

    /// @notice keccak256 of the EIP-712 type string of {Attestation}.
    bytes32 public constant ATTESTATION_TYPEHASH = keccak256(
        "Attestation(bytes32 dataType,bytes32 subject,bytes32 valueHash,uint64 observedAt,bytes32 sourceDigest,uint32 sourceLine)"
    );

    bytes32 private constant _DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant _NAME_HASH = keccak256("AllianceLedgerOracle");
    bytes32 private constant _VERSION_HASH = keccak256("1");

    /// @dev secp256k1n / 2: larger s values are the malleable twins of valid signatures (EIP-2).
    uint256 private constant _HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    // ---------------------------------------------------------------- state
    mapping(bytes32 => Tally) private _tallies;
    mapping(bytes32 => mapping(uint32 => mapping(address => bool))) private _signed;
    mapping(bytes32 => mapping(bytes32 => StoredFact)) private _latest;

    /// @param registry_ The alliance registry: roles, members' departments and data sources.
    /// @dev No immutables (a cached domain separator would be one): the deployed code must equal the
    ///      committed artifact's runtime code, which the deployment check compares by hash.
    constructor(IAllianceRegistry registry_) AllianceAccess(registry_) {}

    // ---------------------------------------------------------------- writes

    /// @notice Adds signatures to an attestation; accepts it when its source department's quorum is reached.
    /// @dev Caller: any ORACLE member (a relay; the signatures carry the authority). Every signature
    ///      must come from a distinct active ORACLE member of the data type's source department.
    ///      Emits `AttestationSigned` per signature, then on acceptance `AttestationAccepted` and, if the
    ///      observation is newer than the latest one, `LatestFactUpdated`.
    /// @param a The attestation.
    /// @param signatures 65-byte (r, s, v) signatures of its EIP-712 digest (at least one).
    function submit(Attestation calldata a, bytes[] calldata signatures) external onlyRole(AllianceRoles.ORACLE) {
        SignerCache memory cache;
        _submit(a, signatures, cache);
    }

    /// @notice `submit` for many attestations in one transaction (batch ingestion); all or nothing.
    /// @dev Caller: any ORACLE member. `signatures[i]` are the signatures of `items[i]`.
    /// @param items The attestations (at least one).
    /// @param signatures One list of signatures per attestation.
    function submitMany(Attestation[] calldata items, bytes[][] calldata signatures)
        external
        onlyRole(AllianceRoles.ORACLE)
    {
        uint256 n = items.length;
        if (n != signatures.length) revert LengthMismatch();
        if (n == 0) revert EmptyBatch();
        SignerCache memory cache;
        for (uint256 i = 0; i < n; ++i) {
            _submit(items[i], signatures[i], cache);
        }
    }

    function _submit(Attestation calldata a, bytes[] calldata signatures, SignerCache memory cache) private {
        if (a.subject == bytes32(0)) revert ZeroSubject();
        if (a.observedAt == 0) revert ZeroObservedAt();
        if (a.observedAt > block.timestamp + MAX_CLOCK_SKEW) {
            revert FutureObservation(a.observedAt, uint64(block.timestamp));
        }
        (bytes32 dept, uint8 quorum) = registry.dataSourceOf(a.dataType);
        if (dept == bytes32(0)) revert UnknownDataType(a.dataType);
        uint256 n = signatures.length;
        if (n == 0) revert NoSignatures();

        bytes32 digest = digestOf(a);
        Tally storage t = _tallies[digest];
        if (t.accepted) revert AlreadyAccepted(digest);
        if (t.department != dept) {
            // first signatures, or the source changed since: earlier ones no longer count
            if (t.department != bytes32(0)) t.round += 1;
            t.department = dept;
            t.count = 0;
        }
        uint32 round = t.round;
        uint8 count = t.count;
        for (uint256 i = 0; i < n; ++i) {
            address signer = _recover(digest, signatures[i], i);
            if (signer != cache.signer || dept != cache.department) {
                if (!registry.hasRole(signer, AllianceRoles.ORACLE) || registry.departmentOf(signer) != dept) {
                    revert NotSourceMember(signer, dept);
                }
                cache.signer = signer;
                cache.department = dept;
            }
            if (_signed[digest][round][signer]) revert DuplicateSigner(signer);
            _signed[digest][round][signer] = true;
            count += 1;
            emit AttestationSigned(digest, signer, count);
        }
        t.count = count;
        if (count >= quorum) _accept(a, digest, dept, t);
    }

    function _accept(Attestation calldata a, bytes32 digest, bytes32 dept, Tally storage t) private {
        t.accepted = true;
        emit AttestationAccepted(
            digest, a.dataType, a.subject, a.valueHash, a.observedAt, a.sourceDigest, a.sourceLine, dept
        );
        StoredFact storage latest = _latest[a.dataType][a.subject];
        if (latest.digest == bytes32(0) || a.observedAt > latest.observedAt) {
            latest.valueHash = a.valueHash;
            latest.digest = digest;
            latest.observedAt = a.observedAt;
            latest.acceptedAt = uint64(block.timestamp);
            emit LatestFactUpdated(a.dataType, a.subject, digest, a.valueHash, a.observedAt);
        }
    }

    // ---------------------------------------------------------------- signatures

    /// @dev ECDSA recovery as OpenZeppelin's ECDSA.tryRecover: 65 bytes (r, s, v), s in the lower
    ///      half order, v 27 or 28, a non-zero recovered address; otherwise InvalidSignature(index).
    function _recover(bytes32 digest, bytes calldata signature, uint256 index) private pure returns (address) {
        if (signature.length != 65) revert InvalidSignature(index);
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := calldataload(signature.offset)
            s := calldataload(add(signature.offset, 0x20))
            v := byte(0, calldataload(add(signature.offset, 0x40)))
        }
        if (uint256(s) > _HALF_ORDER || (v != 27 && v != 28)) revert InvalidSignature(index);
        address signer = ecrecover(digest, v, r, s);
        if (signer == address(0)) revert InvalidSignature(index);
        return signer;
    }

    // ---------------------------------------------------------------- views

    /// @notice The EIP-712 domain separator: {name: "AllianceLedgerOracle", version: "1", chainId,
    ///         verifyingContract: this contract}.
    function domainSeparator() public view returns (bytes32) {
        return keccak256(abi.encode(_DOMAIN_TYPEHASH, _NAME_HASH, _VERSION_HASH, block.chainid, address(this)));
    }

    /// @notice The EIP-712 digest the source members sign for `a` (lets off-chain code check its encoding).
    function digestOf(Attestation calldata a) public view returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(
                ATTESTATION_TYPEHASH, a.dataType, a.subject, a.valueHash, a.observedAt, a.sourceDigest, a.sourceLine
            )
        );
        return keccak256(abi.encodePacked(hex"1901", domainSeparator(), structHash));
    }

    /// @notice The latest accepted observation of `dataType` for `subject` (all zero if none).
    function latestFact(bytes32 dataType, bytes32 subject) external view returns (Fact memory) {
        StoredFact storage f = _latest[dataType][subject];
        return Fact({valueHash: f.valueHash, observedAt: f.observedAt, digest: f.digest, acceptedAt: f.acceptedAt});
    }

    /// @notice Whether the attestation with EIP-712 digest `digest` is accepted.
    function isAccepted(bytes32 digest) external view returns (bool) {
        return _tallies[digest].accepted;
    }

    /// @notice Signatures of `digest` collected so far (or that accepted it), from `signingDepartment`:
    ///         the data type's source when they were given. When the source changes before the quorum is
    ///         reached, the next submit discards them and counts only the new source's signatures.
    function signatureCount(bytes32 digest) external view returns (uint8) {
        return _tallies[digest].count;
    }

    /// @notice The source department whose signatures `signatureCount` counts (0 = none yet).
    function signingDepartment(bytes32 digest) external view returns (bytes32) {
        return _tallies[digest].department;
    }

    /// @notice Whether `signer`'s signature of `digest` is among those `signatureCount` counts.
    function hasSigned(bytes32 digest, address signer) external view returns (bool) {
        return _signed[digest][_tallies[digest].round][signer];
    }
}
