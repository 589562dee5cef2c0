// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AllianceRoles} from "./AllianceRoles.sol";
import {AllianceAccess, IAllianceRegistry} from "./IAllianceRegistry.sol";
import {AuditHolds} from "./AuditHolds.sol";

/// @title SubsidyLedger
/// @notice The life of an enterprise subsidy (惠企政策): policy → application → review → public
///         notice (公示) → payout (拨付) → use (使用), with the invariants enforced on-chain:
///         an application only inside the policy's window and one per enterprise per policy;
///         approved amount ≤ the per-enterprise cap and the policy's total approved ≤ its budget;
///         no payout before the public notice has run its full period with no open objection on
///         the application; paid ≤ approved, one record per payout batch line, no payout while an
///         alarm hold (AuditHolds) is active; every step by a member whose department holds the role.
///
///         Application states (`Status`):
///         - `Submitted`: filed by the gateway (OPERATOR) inside the window; awaits review.
///         - `UnderReview`: first review (level 1) passed, or also re-review (level 2); awaits the next level.
///         - `Approved`: approved with an amount, by sign-off (level 3), by the auto-approval rule
///           (秒批, OPERATOR, recorded with the rule version) or by a no-application enrolment
///           (免申即享); awaits a public notice.
///         - `Noticed`: on a public notice; payable once the notice has ended with no open objection.
///         - `PartiallyPaid` / `Paid`: some / all of the approved amount paid out.
///         - `Rejected` (final): a review level failed, or an objection against it was upheld
///           (its amount returns to the budget).
///         Transitions: Submitted → UnderReview → … → Approved (level 3); Submitted → Approved
///         (auto); Submitted | UnderReview → Rejected (failed level); (enrolment) → Approved;
///         Approved → Noticed (openNotice); Noticed → Rejected (upheld objection);
///         Noticed | PartiallyPaid → PartiallyPaid | Paid (recordPayout, recordPayoutBatch). Usage reports and claw
///         backs are recorded against PartiallyPaid / Paid applications and do not change the status.
/// @dev No personal data: `applicant` is a keyed hash (HMAC) of the enterprise's USCC computed
///      off-chain; documents appear as hashes. Amounts are in fen (分). A policy belongs to the
///      department of the POLICY member who published it; that department's POLICY members amend,
///      close, enrol, notice, answer objections and claw back, and its REVIEWER members review.
///      Policy closure stops new applications and enrolments only; applications already filed
///      go on through review, notice and payout.
contract SubsidyLedger is AllianceAccess {
    /// @notice Application status; see the contract documentation for the transitions.
    enum Status {
        None,
        Submitted,
        UnderReview,
        Approved,
        Rejected,
        Noticed,
        PartiallyPaid,
        Paid
    }

    /// @notice Objection status.
    enum ObjectionStatus {
        None,
        Open,
        Dismissed,
        Upheld
    }

    /// @notice The terms of a policy as published or amended.
    /// @param budget Total that may be approved under the policy (fen).
    /// @param perEnterpriseCap Most one enterprise may be approved (fen), ≤ budget.
    /// @param opensAt Start of the application window (unix seconds, inclusive).
    /// @param closesAt End of the application window (unix seconds, exclusive), after opensAt.
    /// @param noticePeriodSeconds Shortest public notice; the gateway turns working days into a
    ///        concrete end per notice, which must be at least this long.
    /// @param payoutDeadlineSeconds Time from the notice's end by which payout is due (supervised off-chain).
    /// @param guideHash Hash of the anchored application guide / legal basis.
    /// @param criteriaHash Hash of the machine-readable eligibility criteria.
    /// @param noApplication True for a no-application policy (免申即享): the department enrols eligible firms.
    struct PolicyInput {
        uint128 budget;
        uint128 perEnterpriseCap;
        uint64 opensAt;
        uint64 closesAt;
        uint64 noticePeriodSeconds;
        uint64 payoutDeadlineSeconds;
        bytes32 guideHash;
        bytes32 criteriaHash;
        bool noApplication;
    }

    /// @notice A policy as stored; version 0 = no policy.
    /// @param maxApproved The largest amount ever approved under the policy (floor of an amended cap).
    struct Policy {
        PolicyInput terms;
        bytes32 department;
        uint128 approvedTotal;
        uint128 paidTotal;
        uint128 recoveredTotal;
        uint128 maxApproved;
        uint64 publishedAt;
        uint64 amendedAt;
        uint32 version;
        uint32 applications;
        bool closed;
        address publishedBy;
    }

    /// @notice An application as stored.
    /// @param ruleVersion The auto-approval rule version that decided it (0 when decided by people).
    /// @param decidedBy The account that approved it (operator, level-3 reviewer or enrolling officer).
    /// @param reviewLevel The highest review level passed (0–3).
    /// @param enrolled True for a no-application enrolment.
    struct Application {
        bytes32 policyId;
        bytes32 applicant;
        bytes32 materialsHash;
        uint128 requested;
        uint128 approved;
        uint128 paid;
        uint128 spent;
        uint128 recovered;
        uint64 submittedAt;
        uint64 decidedAt;
        bytes32 noticeId;
        bytes32 ruleVersion;
        address decidedBy;
        uint16 licenceRefs;
        uint8 reviewLevel;
        Status status;
        bool enrolled;
        uint32 openObjections;
        uint32 useReports;
    }

    /// @notice A public notice as stored; openedAt 0 = no notice.
    struct Notice {
        bytes32 policyId;
        bytes32 listDigest;
        uint64 openedAt;
        uint64 endsAt;
        uint32 count;
        uint32 objections;
        uint32 openObjections;
        address openedBy;
    }

    /// @notice An objection as stored.
    struct Objection {
        bytes32 applicationId;
        bytes32 objectionHash;
        bytes32 answerHash;
        uint64 filedAt;
        uint64 answeredAt;
        ObjectionStatus status;
        address filedBy;
        address answeredBy;
    }

    /// @notice One payout batch line as stored; paidAt 0 = no such line.
    struct PayoutLine {
        bytes32 applicationId;
        bytes32 bankReference;
        uint128 amount;
        uint64 paidAt;
        address recordedBy;
    }

    /// @notice One line of a payout batch as finance confirms it from the bank's return file.
    /// @param applicationId The application paid.
    /// @param lineNo The line of the batch (as exported).
    /// @param amount Amount paid on this line (fen).
    /// @param bankReference The bank's reference of the transfer.
    struct PayoutInput {
        bytes32 applicationId;
        uint32 lineNo;
        uint128 amount;
        bytes32 bankReference;
    }

    /// @notice Ledger-wide counts and sums (fen).
    struct Totals {
        uint32 policies;
        uint32 applications;
        uint32 notices;
        uint32 payoutLines;
        uint128 approved;
        uint128 paid;
        uint128 spent;
        uint128 recovered;
    }

    // ---------------------------------------------------------------- errors
    /// @notice A policy with this id exists.
    error PolicyExists(bytes32 policyId);
    /// @notice No policy has this id.
    error UnknownPolicy(bytes32 policyId);
    /// @notice The policy is closed.
    error PolicyIsClosed(bytes32 policyId);
    /// @notice The caller's department `department` does not own policy `policyId`.
    error NotPolicyDepartment(bytes32 policyId, bytes32 department);
    /// @notice The budget is zero, or the cap is zero or above the budget.
    error InvalidCap(uint128 perEnterpriseCap, uint128 budget);
    /// @notice The window does not open before it closes.
    error InvalidWindow(uint64 opensAt, uint64 closesAt);
    /// @notice The policy id, guide hash, criteria hash or notice period is zero.
    error IncompletePolicy(bytes32 policyId);
    /// @notice An amendment may not switch a policy between application and no-application mode.
    error ModeChange(bytes32 policyId);
    /// @notice An amended budget below the total already approved.
    error BudgetBelowApproved(uint128 budget, uint128 approvedTotal);
    /// @notice An amended cap below an amount already approved.
    error CapBelowApproved(uint128 perEnterpriseCap, uint128 maxApproved);
    /// @notice The application window is not open now: [opensAt, closesAt).
    error OutsideWindow(uint64 opensAt, uint64 closesAt, uint64 now);
    /// @notice The enterprise already has an application under this policy.
    error DuplicateApplication(bytes32 applicationId);
    /// @notice The amount is above the per-enterprise cap.
    error AboveCap(uint128 cap, uint128 amount);
    /// @notice The amount to approve is above the amount requested.
    error AboveRequested(uint128 requested, uint128 amount);
    /// @notice Approving `amount` would take the policy's total approved above its budget.
    error BudgetExceeded(uint128 budget, uint128 approvedTotal, uint128 amount);
    /// @notice A no-application policy (免申即享) takes no applications: enrol instead.
    error NoApplicationPolicy(bytes32 policyId);
    /// @notice Only a no-application policy takes enrolments.
    error NotNoApplicationPolicy(bytes32 policyId);
    /// @notice The applicant hash, materials hash or rule version is zero.
    error ZeroHash();
    /// @notice The amount is zero.
    error ZeroAmount();
    /// @notice No application has this id.
    error UnknownApplication(bytes32 applicationId);
    /// @notice The step is not allowed in the application's current status.
    error InvalidStatus(bytes32 applicationId, Status status);
    /// @notice Review levels go 1, 2, 3 in order.
    error WrongReviewLevel(uint8 expected, uint8 got);
    /// @notice `reviewer` already reviewed a level of this application.
    error SameReviewer(bytes32 applicationId, address reviewer);
    /// @notice `reviewer` declared a recusal from this application.
    error ReviewerRecused(bytes32 applicationId, address reviewer);
    /// @notice `reviewer` already declared a recusal from this application.
    error AlreadyRecused(bytes32 applicationId, address reviewer);
    /// @notice A notice with this id exists.
    error NoticeExists(bytes32 noticeId);
    /// @notice No notice has this id.
    error UnknownNotice(bytes32 noticeId);
    /// @notice A notice must list at least one application.
    error EmptyNotice();
    /// @notice The notice ends before `minimum` (now + the policy's notice period).
    error NoticeTooShort(uint64 endsAt, uint64 minimum);
    /// @notice The application belongs to another policy than the notice.
    error WrongPolicy(bytes32 applicationId, bytes32 policyId);
    /// @notice The application is not on this notice.
    error NotOnNotice(bytes32 noticeId, bytes32 applicationId);
    /// @notice The notice is not running any more (objections only while it runs).
    error NoticeEnded(bytes32 noticeId, uint64 endsAt, uint64 now);
    /// @notice The notice has not run its full period yet.
    error NoticeNotEnded(uint64 endsAt, uint64 now);
    /// @notice No objection has this number on this notice.
    error UnknownObjection(bytes32 noticeId, uint256 objectionId);
    /// @notice The objection was already answered.
    error ObjectionAlreadyAnswered(bytes32 noticeId, uint256 objectionId);
    /// @notice `open` objections against the application are not answered yet.
    error ObjectionOpen(bytes32 applicationId, uint32 open);
    /// @notice The application has not been on a public notice.
    error NotNoticed(bytes32 applicationId);
    /// @notice Paying `amount` would take the paid total above the approved amount.
    error OverPayment(uint128 approved, uint128 paid, uint128 amount);
    /// @notice A payout for this batch line is already recorded.
    error PayoutLineExists(bytes32 batchId, uint32 lineNo);
    /// @notice An alarm hold freezes the application's payout.
    error PayoutHeld(bytes32 applicationId);
    /// @notice The batch id or bank reference is zero.
    error IncompletePayout();
    /// @notice A payout batch must hold at least one line.
    error EmptyBatch();
    /// @notice The enrolment lists differ in length.
    error LengthMismatch(uint256 applicants, uint256 amounts);
    /// @notice More enterprises than one enrolment transaction takes.
    error BatchTooLarge(uint256 size, uint256 max);
    /// @notice Reported spending would exceed the amount received.
    error SpendAboveReceived(uint128 paid, uint128 spent, uint128 amount);
    /// @notice Recovering `amount` would exceed the amount paid.
    error ClawBackAbovePaid(uint128 paid, uint128 recovered, uint128 amount);

    // ---------------------------------------------------------------- events
    /// @notice Policy `policyId` of `department` was published (version 1) by `by`.
    event PolicyPublished(
        bytes32 indexed policyId, bytes32 indexed department, uint32 version, PolicyInput terms, address by
    );
    /// @notice Policy `policyId` was amended to `version` with `terms` by `by`.
    event PolicyAmended(bytes32 indexed policyId, uint32 version, PolicyInput terms, address by);
    /// @notice Policy `policyId` was closed by `by`.
    event PolicyClosed(bytes32 indexed policyId, address by);
    /// @notice The reason (hash of its document) for an amendment (`closed` false) or the closing of a policy.
    event PolicyChangeReason(bytes32 indexed policyId, uint32 version, bool closed, bytes32 reasonHash);
    /// @notice The evidence an automatic approval (秒批) decided on.
    event AutoApprovalEvidence(bytes32 indexed applicationId, bytes32 ruleVersion, bytes32 evidenceHash);
    /// @notice The gateway `by` filed application `applicationId` of `applicant` under `policyId`.
    event ApplicationSubmitted(
        bytes32 indexed applicationId,
        bytes32 indexed policyId,
        bytes32 indexed applicant,
        uint128 requested,
        bytes32 materialsHash,
        uint16 licenceRefs,
        address by
    );
    /// @notice `by` enrolled `applicant` in no-application policy `policyId` for `amount` (followed by
    ///         `ApplicationApproved`).
    event ApplicationEnrolled(
        bytes32 indexed applicationId, bytes32 indexed policyId, bytes32 indexed applicant, uint128 amount, address by
    );
    /// @notice `reviewer` recorded review `level` of `applicationId`: pass or fail, with an amount and an opinion.
    event ReviewRecorded(
        bytes32 indexed applicationId,
        uint8 level,
        bool pass,
        uint128 amount,
        bytes32 opinionHash,
        address indexed reviewer
    );
    /// @notice `reviewer` declared a recusal from `applicationId`.
    event RecusalDeclared(bytes32 indexed applicationId, address indexed reviewer, bytes32 reasonHash);
    /// @notice `applicationId` was approved for `amount` by `by` (rule `ruleVersion` when auto-approved,
    ///         else 0); the policy's total approved is now `approvedTotal`.
    event ApplicationApproved(
        bytes32 indexed applicationId,
        bytes32 indexed policyId,
        uint128 amount,
        uint128 approvedTotal,
        bytes32 ruleVersion,
        address by
    );
    /// @notice `applicationId` was rejected by `by` at review `level` (0 = an upheld objection); the
    ///         policy's total approved is now `approvedTotal`.
    event ApplicationRejected(
        bytes32 indexed applicationId, bytes32 indexed policyId, uint8 level, uint128 approvedTotal, address by
    );
    /// @notice Public notice `noticeId` of `count` applications of `policyId` runs until `endsAt`.
    event NoticeOpened(
        bytes32 indexed noticeId, bytes32 indexed policyId, bytes32 listDigest, uint64 endsAt, uint32 count, address by
    );
    /// @notice `applicationId` is listed on notice `noticeId`.
    event ApplicationNoticed(bytes32 indexed applicationId, bytes32 indexed noticeId);
    /// @notice The gateway `by` filed objection `objectionId` of notice `noticeId` against `applicationId`.
    event ObjectionFiled(
        bytes32 indexed noticeId, uint256 objectionId, bytes32 indexed applicationId, bytes32 objectionHash, address by
    );
    /// @notice `by` answered objection `objectionId` of `noticeId`; `upheld` rejects the application.
    event ObjectionAnswered(
        bytes32 indexed noticeId,
        uint256 objectionId,
        bytes32 indexed applicationId,
        bytes32 answerHash,
        bool upheld,
        address by
    );
    /// @notice FINANCE member `by` recorded line `lineNo` of payout batch `batchId`: `amount` paid to
    ///         `applicant` for `applicationId` (notice `noticeId`), bank reference `bankReference`;
    ///         the application's paid total is now `paidTotal`.
    event PayoutRecorded(
        bytes32 indexed applicationId,
        bytes32 indexed batchId,
        bytes32 indexed policyId,
        uint32 lineNo,
        bytes32 applicant,
        uint128 amount,
        uint128 paidTotal,
        bytes32 bankReference,
        bytes32 noticeId,
        address by
    );
    /// @notice FINANCE member `by` recorded payout batch `batchId` (bank return file `returnDigest`):
    ///         `lines` lines paying `total` fen, each also emitted as `PayoutRecorded`.
    event PayoutBatchRecorded(bytes32 indexed batchId, bytes32 returnDigest, uint32 lines, uint128 total, address by);
    /// @notice The gateway `by` recorded usage report `reportHash` of `applicationId`: `spent` in `category`;
    ///         the application's reported spending is now `spentTotal`.
    event UseReported(
        bytes32 indexed applicationId, bytes32 reportHash, uint128 spent, uint8 category, uint128 spentTotal, address by
    );
    /// @notice `by` recorded `amount` recovered (追回) from `applicationId` for `reasonHash`; now `recoveredTotal`.
    event ClawedBack(
        bytes32 indexed applicationId,
        bytes32 indexed policyId,
        uint128 amount,
        uint128 recoveredTotal,
        bytes32 reasonHash,
        address by
    );

    // ---------------------------------------------------------------- state
    /// @notice The most enterprises one `enrolMany` call enrols.
    uint256 public constant MAX_ENROL = 200;
    /// @notice The alarm holds consulted before every payout.
    AuditHolds public holds;

    mapping(bytes32 => Policy) private _policies;
    mapping(bytes32 => Application) private _applications;
    mapping(bytes32 => mapping(uint8 => address)) private _reviewers;
    mapping(bytes32 => mapping(address => bool)) private _recused;
    mapping(bytes32 => Notice) private _notices;
    mapping(bytes32 => mapping(uint256 => Objection)) private _objections;
    mapping(bytes32 => PayoutLine) private _payoutLines;
    Totals private _totals;

    /// @param registry_ The alliance registry: roles and members' departments.
    /// @param holds_ The alarm holds that freeze payouts.
    constructor(IAllianceRegistry registry_, AuditHolds holds_) AllianceAccess(registry_) {
        holds = holds_;
    }

    // ---------------------------------------------------------------- policies

    /// @notice Publishes a policy (version 1) owned by the caller's department.
    /// @dev Caller: a POLICY member. Emits `PolicyPublished`.
    /// @param policyId The new policy's id.
    /// @param terms The policy's terms.
    function publishPolicy(bytes32 policyId, PolicyInput calldata terms) external onlyRole(AllianceRoles.POLICY) {
        Policy storage p = _policies[policyId];
        if (p.version != 0) revert PolicyExists(policyId);
        _checkTerms(policyId, terms);
        bytes32 dept = registry.departmentOf(msg.sender);
        p.terms = terms;
        p.department = dept;
        p.publishedAt = uint64(block.timestamp);
        p.version = 1;
        p.publishedBy = msg.sender;
        ++_totals.policies;
        emit PolicyPublished(policyId, dept, 1, terms, msg.sender);
    }

    /// @notice Amends an open policy: its version goes up by one.
    /// @dev Caller: a POLICY member of the policy's department. The budget may not go below the total
    ///      approved, nor the cap below an amount approved; the no-application flag cannot change.
    ///      Emits `PolicyAmended`.
    /// @param policyId The policy.
    /// @param terms The new terms.
    function amendPolicy(bytes32 policyId, PolicyInput calldata terms) external onlyRole(AllianceRoles.POLICY) {
        _amend(policyId, terms);
    }

    /// @notice Amends an open policy with the hash of its stated reason (the amendment decision document).
    /// @dev As `amendPolicy`; the reason hash may not be zero. Emits `PolicyAmended`, `PolicyChangeReason`.
    /// @param policyId The policy.
    /// @param terms The new terms.
    /// @param reasonHash SHA-256 of the reason document (stored off-chain).
    function amendPolicy(bytes32 policyId, PolicyInput calldata terms, bytes32 reasonHash)
        external
        onlyRole(AllianceRoles.POLICY)
    {
        if (reasonHash == bytes32(0)) revert ZeroHash();
        emit PolicyChangeReason(policyId, _amend(policyId, terms), false, reasonHash);
    }

    function _amend(bytes32 policyId, PolicyInput calldata terms) private returns (uint32 version) {
        Policy storage p = _ownPolicy(policyId);
        if (p.closed) revert PolicyIsClosed(policyId);
        _checkTerms(policyId, terms);
        if (terms.noApplication != p.terms.noApplication) revert ModeChange(policyId);
        if (terms.budget < p.approvedTotal) revert BudgetBelowApproved(terms.budget, p.approvedTotal);
        if (terms.perEnterpriseCap < p.maxApproved) revert CapBelowApproved(terms.perEnterpriseCap, p.maxApproved);
        p.terms = terms;
        p.amendedAt = uint64(block.timestamp);
        version = p.version + 1;
        p.version = version;
        emit PolicyAmended(policyId, version, terms, msg.sender);
    }

    /// @notice Closes a policy to new applications and enrolments (filed ones go on).
    /// @dev Caller: a POLICY member of the policy's department. Emits `PolicyClosed`.
    /// @param policyId The policy.
    function closePolicy(bytes32 policyId) external onlyRole(AllianceRoles.POLICY) {
        _close(policyId);
    }

    /// @notice Closes a policy with the hash of its stated reason.
    /// @dev As `closePolicy`; the reason hash may not be zero. Emits `PolicyClosed`, `PolicyChangeReason`.
    /// @param policyId The policy.
    /// @param reasonHash SHA-256 of the reason document (stored off-chain).
    function closePolicy(bytes32 policyId, bytes32 reasonHash) external onlyRole(AllianceRoles.POLICY) {
        if (reasonHash == bytes32(0)) revert ZeroHash();
        emit PolicyChangeReason(policyId, _close(policyId), true, reasonHash);
    }

    function _close(bytes32 policyId) private returns (uint32 version) {
        Policy storage p = _ownPolicy(policyId);
        if (p.closed) revert PolicyIsClosed(policyId);
        p.closed = true;
        version = p.version;
        emit PolicyClosed(policyId, msg.sender);
    }

    // ---------------------------------------------------------------- applications

    /// @notice Files an enterprise's application on its behalf (Status Submitted).
    /// @dev Caller: an OPERATOR member (the service centre's gateway). Only inside the window of an
    ///      open policy that takes applications, one per enterprise per policy, requested ≤ cap.
    ///      Emits `ApplicationSubmitted`.
    /// @param policyId The policy.
    /// @param applicant Keyed hash (HMAC) of the enterprise's USCC.
    /// @param requested Amount requested (fen).
    /// @param materialsHash Hash of the application materials.
    /// @param licenceRefs Number of electronic licences the materials reference.
    /// @return applicationId keccak256(abi.encode(policyId, applicant)).
    function submitApplication(
        bytes32 policyId,
        bytes32 applicant,
        uint128 requested,
        bytes32 materialsHash,
        uint16 licenceRefs
    ) external onlyRole(AllianceRoles.OPERATOR) returns (bytes32 applicationId) {
        Policy storage p = _openPolicy(policyId);
        if (p.terms.noApplication) revert NoApplicationPolicy(policyId);
        if (materialsHash == bytes32(0)) revert ZeroHash();
        if (requested == 0) revert ZeroAmount();
        if (requested > p.terms.perEnterpriseCap) revert AboveCap(p.terms.perEnterpriseCap, requested);
        Application storage a;
        (applicationId, a) = _newApplication(policyId, p, applicant);
        a.materialsHash = materialsHash;
        a.requested = requested;
        a.licenceRefs = licenceRefs;
        a.status = Status.Submitted;
        emit ApplicationSubmitted(
            applicationId, policyId, applicant, requested, materialsHash, licenceRefs, msg.sender
        );
    }

    /// @notice Enrols an eligible enterprise in a no-application policy (免申即享): the application is
    ///         created directly in the Approved state; it still needs a public notice before payout.
    /// @dev Caller: a POLICY member of the policy's department. Same window, duplicate, cap and
    ///      budget checks as an application and its approval. Emits `ApplicationEnrolled`, `ApplicationApproved`.
    /// @param policyId The no-application policy.
    /// @param applicant Keyed hash (HMAC) of the enterprise's USCC.
    /// @param amount Amount granted (fen).
    /// @return applicationId keccak256(abi.encode(policyId, applicant)).
    function enrolEligible(bytes32 policyId, bytes32 applicant, uint128 amount)
        external
        onlyRole(AllianceRoles.POLICY)
        returns (bytes32 applicationId)
    {
        Policy storage p = _enrolPolicy(policyId);
        applicationId = _enrol(policyId, p, applicant, amount);
    }

    /// @notice Enrols many eligible enterprises of a no-application policy (免申即享) in one transaction:
    ///         all or none (any refusal reverts the whole batch with that enterprise's error).
    /// @dev Caller: a POLICY member of the policy's department. Each enterprise as in `enrolEligible`
    ///      (window, duplicate, cap, budget); at most MAX_ENROL per call. Emits `ApplicationEnrolled` and
    ///      `ApplicationApproved` per enterprise.
    /// @param policyId The no-application policy.
    /// @param applicants Keyed hashes (HMAC) of the enterprises' USCCs.
    /// @param amounts Amount granted to each (fen), in the same order.
    /// @return applicationIds keccak256(abi.encode(policyId, applicant)) of each.
    function enrolMany(bytes32 policyId, bytes32[] calldata applicants, uint128[] calldata amounts)
        external
        onlyRole(AllianceRoles.POLICY)
        returns (bytes32[] memory applicationIds)
    {
        uint256 n = applicants.length;
        if (n == 0) revert EmptyBatch();
        if (n != amounts.length) revert LengthMismatch(n, amounts.length);
        if (n > MAX_ENROL) revert BatchTooLarge(n, MAX_ENROL);
        Policy storage p = _enrolPolicy(policyId);
        applicationIds = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            applicationIds[i] = _enrol(policyId, p, applicants[i], amounts[i]);
        }
    }

    function _enrolPolicy(bytes32 policyId) private view returns (Policy storage p) {
        p = _ownPolicy(policyId);
        if (p.closed) revert PolicyIsClosed(policyId);
        if (!p.terms.noApplication) revert NotNoApplicationPolicy(policyId);
    }

    function _enrol(bytes32 policyId, Policy storage p, bytes32 applicant, uint128 amount)
        private
        returns (bytes32 applicationId)
    {
        Application storage a;
        (applicationId, a) = _newApplication(policyId, p, applicant);
        a.requested = amount;
        a.enrolled = true;
        emit ApplicationEnrolled(applicationId, policyId, applicant, amount, msg.sender);
        _approve(applicationId, a, p, amount, bytes32(0));
    }

    // ---------------------------------------------------------------- review

    /// @notice Approves a submitted application by the auto-approval rule (秒批); the rule version is
    ///         recorded as the deciding party.
    /// @dev Caller: an OPERATOR member (the gateway running the rule). Only from Submitted (no manual
    ///      review started). amount ≤ requested, ≤ cap, within budget. Emits `ApplicationApproved`.
    /// @param applicationId The application.
    /// @param amount Amount approved (fen).
    /// @param ruleVersion The version of the rule that decided.
    function autoApprove(bytes32 applicationId, uint128 amount, bytes32 ruleVersion)
        external
        onlyRole(AllianceRoles.OPERATOR)
    {
        _autoApprove(applicationId, amount, ruleVersion);
    }

    /// @notice Approves by the auto-approval rule (秒批) with the hash of the evidence it decided on (the
    ///         field-by-field verification and criteria result).
    /// @dev As `autoApprove`; the evidence hash may not be zero. Emits `ApplicationApproved`,
    ///      `AutoApprovalEvidence`.
    /// @param applicationId The application.
    /// @param amount Amount approved (fen).
    /// @param ruleVersion The version of the rule that decided.
    /// @param evidenceHash keccak256 of the canonical evidence document (kept off-chain by the gateway).
    function autoApprove(bytes32 applicationId, uint128 amount, bytes32 ruleVersion, bytes32 evidenceHash)
        external
        onlyRole(AllianceRoles.OPERATOR)
    {
        if (evidenceHash == bytes32(0)) revert ZeroHash();
        _autoApprove(applicationId, amount, ruleVersion);
        emit AutoApprovalEvidence(applicationId, ruleVersion, evidenceHash);
    }

    function _autoApprove(bytes32 applicationId, uint128 amount, bytes32 ruleVersion) private {
        Application storage a = _application(applicationId);
        if (a.status != Status.Submitted) revert InvalidStatus(applicationId, a.status);
        if (ruleVersion == bytes32(0)) revert ZeroHash();
        _approve(applicationId, a, _policies[a.policyId], amount, ruleVersion);
    }

    /// @notice Records one level of the manual review: 1 first review (初审), 2 re-review (复审),
    ///         3 sign-off (审定). A fail at any level rejects; a pass at level 3 approves `amount`.
    /// @dev Caller: a REVIEWER member of the policy's department who has neither reviewed another
    ///      level of this application nor recused. Levels strictly in order. Emits `ReviewRecorded`,
    ///      then `ApplicationApproved` or `ApplicationRejected` when the review decides.
    /// @param applicationId The application.
    /// @param level The review level (1–3), the next one due.
    /// @param pass The reviewer's verdict.
    /// @param amount The amount the reviewer recommends (level 3: approves) in fen.
    /// @param opinionHash Hash of the reviewer's written opinion.
    function review(bytes32 applicationId, uint8 level, bool pass, uint128 amount, bytes32 opinionHash)
        external
        onlyRole(AllianceRoles.REVIEWER)
    {
        Application storage a = _application(applicationId);
        Policy storage p = _ownPolicy(a.policyId);
        if (a.status != Status.Submitted && a.status != Status.UnderReview) {
            revert InvalidStatus(applicationId, a.status);
        }
        uint8 expected = a.reviewLevel + 1;
        if (level != expected) revert WrongReviewLevel(expected, level);
        _checkReviewer(applicationId);
        _reviewers[applicationId][level] = msg.sender;
        a.reviewLevel = level;
        emit ReviewRecorded(applicationId, level, pass, amount, opinionHash, msg.sender);
        if (!pass) {
            a.status = Status.Rejected;
            a.decidedAt = uint64(block.timestamp);
            a.decidedBy = msg.sender;
            emit ApplicationRejected(applicationId, a.policyId, level, p.approvedTotal, msg.sender);
        } else if (level == 3) {
            _approve(applicationId, a, p, amount, bytes32(0));
        } else {
            a.status = Status.UnderReview;
        }
    }

    /// @notice Records a reviewer's recusal (回避); the reviewer may then review no level of the application.
    /// @dev Caller: a REVIEWER member of the policy's department, while the application is under
    ///      review (Submitted or UnderReview). Emits `RecusalDeclared`.
    /// @param applicationId The application.
    /// @param reasonHash Hash of the declared reason (the conflict of interest).
    function declareRecusal(bytes32 applicationId, bytes32 reasonHash) external onlyRole(AllianceRoles.REVIEWER) {
        Application storage a = _application(applicationId);
        _ownPolicy(a.policyId);
        if (a.status != Status.Submitted && a.status != Status.UnderReview) {
            revert InvalidStatus(applicationId, a.status);
        }
        if (_recused[applicationId][msg.sender]) revert AlreadyRecused(applicationId, msg.sender);
        _recused[applicationId][msg.sender] = true;
        emit RecusalDeclared(applicationId, msg.sender, reasonHash);
    }

    // ---------------------------------------------------------------- public notice

    /// @notice Opens a public notice (公示) of approved applications of one policy.
    /// @dev Caller: a POLICY member of the policy's department. Every listed application must belong
    ///      to the policy and be Approved (so not on another notice); `endsAt` at least the policy's
    ///      notice period from now. Emits `NoticeOpened`, then `ApplicationNoticed` per application.
    /// @param noticeId The new notice's id.
    /// @param policyId The policy.
    /// @param applicationIds The listed applications (at least one).
    /// @param listDigest Hash of the published list (as shown to the public).
    /// @param endsAt When the notice ends (unix seconds), the working-day end computed by the gateway.
    function openNotice(
        bytes32 noticeId,
        bytes32 policyId,
        bytes32[] calldata applicationIds,
        bytes32 listDigest,
        uint64 endsAt
    ) external onlyRole(AllianceRoles.POLICY) {
        Policy storage p = _ownPolicy(policyId);
        if (noticeId == bytes32(0) || listDigest == bytes32(0)) revert ZeroHash();
        Notice storage n = _notices[noticeId];
        if (n.openedAt != 0) revert NoticeExists(noticeId);
        uint256 count = applicationIds.length;
        if (count == 0) revert EmptyNotice();
        uint64 minimum = uint64(block.timestamp) + p.terms.noticePeriodSeconds;
        if (endsAt < minimum) revert NoticeTooShort(endsAt, minimum);
        n.policyId = policyId;
        n.listDigest = listDigest;
        n.openedAt = uint64(block.timestamp);
        n.endsAt = endsAt;
        n.count = uint32(count);
        n.openedBy = msg.sender;
        ++_totals.notices;
        emit NoticeOpened(noticeId, policyId, listDigest, endsAt, uint32(count), msg.sender);
        for (uint256 i = 0; i < count; ++i) {
            bytes32 id = applicationIds[i];
            Application storage a = _application(id);
            if (a.policyId != policyId) revert WrongPolicy(id, policyId);
            if (a.status != Status.Approved) revert InvalidStatus(id, a.status);
            a.status = Status.Noticed;
            a.noticeId = noticeId;
            emit ApplicationNoticed(id, noticeId);
        }
    }

    /// @notice Files an objection (异议) against an application on a running notice.
    /// @dev Caller: an OPERATOR member (objections come in through the gateway). Only while the
    ///      notice runs, against a Noticed application listed on it. Emits `ObjectionFiled`.
    /// @param noticeId The notice.
    /// @param applicationId The application objected to.
    /// @param objectionHash Hash of the objection's text and evidence.
    /// @return objectionId The objection's number on the notice (from 1).
    function fileObjection(bytes32 noticeId, bytes32 applicationId, bytes32 objectionHash)
        external
        onlyRole(AllianceRoles.OPERATOR)
        returns (uint256 objectionId)
    {
        Notice storage n = _notice(noticeId);
        if (block.timestamp >= n.endsAt) revert NoticeEnded(noticeId, n.endsAt, uint64(block.timestamp));
        Application storage a = _applications[applicationId];
        if (a.noticeId != noticeId) revert NotOnNotice(noticeId, applicationId);
        if (a.status != Status.Noticed) revert InvalidStatus(applicationId, a.status);
        if (objectionHash == bytes32(0)) revert ZeroHash();
        objectionId = ++n.objections;
        ++n.openObjections;
        ++a.openObjections;
        Objection storage o = _objections[noticeId][objectionId];
        o.applicationId = applicationId;
        o.objectionHash = objectionHash;
        o.filedAt = uint64(block.timestamp);
        o.status = ObjectionStatus.Open;
        o.filedBy = msg.sender;
        emit ObjectionFiled(noticeId, objectionId, applicationId, objectionHash, msg.sender);
    }

    /// @notice Answers an objection. An upheld objection rejects the application (if not rejected
    ///         already) and returns its approved amount to the policy's budget.
    /// @dev Caller: a POLICY member of the policy's department; also after the notice ended.
    ///      Emits `ObjectionAnswered`, then `ApplicationRejected` when it rejects.
    /// @param noticeId The notice.
    /// @param objectionId The objection's number on the notice.
    /// @param answerHash Hash of the department's answer.
    /// @param upheld True when the objection is founded.
    function answerObjection(bytes32 noticeId, uint256 objectionId, bytes32 answerHash, bool upheld)
        external
        onlyRole(AllianceRoles.POLICY)
    {
        Notice storage n = _notice(noticeId);
        Policy storage p = _ownPolicy(n.policyId);
        Objection storage o = _objections[noticeId][objectionId];
        if (o.status == ObjectionStatus.None) revert UnknownObjection(noticeId, objectionId);
        if (o.status != ObjectionStatus.Open) revert ObjectionAlreadyAnswered(noticeId, objectionId);
        if (answerHash == bytes32(0)) revert ZeroHash();
        o.answerHash = answerHash;
        o.answeredAt = uint64(block.timestamp);
        o.status = upheld ? ObjectionStatus.Upheld : ObjectionStatus.Dismissed;
        o.answeredBy = msg.sender;
        --n.openObjections;
        bytes32 applicationId = o.applicationId;
        Application storage a = _applications[applicationId];
        --a.openObjections;
        emit ObjectionAnswered(noticeId, objectionId, applicationId, answerHash, upheld, msg.sender);
        if (upheld && a.status == Status.Noticed) {
            uint128 total = p.approvedTotal - a.approved;
            p.approvedTotal = total;
            _totals.approved -= a.approved;
            a.status = Status.Rejected;
            a.decidedAt = uint64(block.timestamp);
            a.decidedBy = msg.sender;
            emit ApplicationRejected(applicationId, a.policyId, 0, total, msg.sender);
        }
    }

    // ---------------------------------------------------------------- payout and use

    /// @notice Records one line of a payout batch (拨付) to an application.
    /// @dev Caller: a FINANCE member. The application must have been on a public notice that has
    ///      ended, with no open objection against it, no active alarm hold, and paid + amount ≤
    ///      approved; one record per (batchId, lineNo). Emits `PayoutRecorded`.
    /// @param applicationId The application paid.
    /// @param batchId The finance payout batch (export file) id.
    /// @param lineNo The line of the batch.
    /// @param amount Amount paid on this line (fen).
    /// @param bankReference The bank's reference of the transfer (from the bank return file).
    function recordPayout(bytes32 applicationId, bytes32 batchId, uint32 lineNo, uint128 amount, bytes32 bankReference)
        external
        onlyRole(AllianceRoles.FINANCE)
    {
        _pay(batchId, PayoutInput(applicationId, lineNo, amount, bankReference));
    }

    /// @notice Records the paid lines of a payout batch (拨付) in one transaction, from the bank's
    ///         return file: every line is checked as by `recordPayout`, and any refused line refuses
    ///         the whole batch (nothing is half-recorded).
    /// @dev Caller: a FINANCE member. Emits `PayoutRecorded` per line, then `PayoutBatchRecorded`.
    /// @param batchId The finance payout batch (export file) id.
    /// @param returnDigest Hash of the bank return file the lines come from.
    /// @param lines The paid lines (at least one).
    function recordPayoutBatch(bytes32 batchId, bytes32 returnDigest, PayoutInput[] calldata lines)
        external
        onlyRole(AllianceRoles.FINANCE)
    {
        uint256 count = lines.length;
        if (count == 0) revert EmptyBatch();
        if (returnDigest == bytes32(0)) revert ZeroHash();
        uint128 total;
        for (uint256 i = 0; i < count; ++i) {
            _pay(batchId, lines[i]);
            total += lines[i].amount;
        }
        emit PayoutBatchRecorded(batchId, returnDigest, uint32(count), total, msg.sender);
    }

    /// @dev Records one payout line after the notice, objection, hold, amount and line checks.
    function _pay(bytes32 batchId, PayoutInput memory l) private {
        bytes32 applicationId = l.applicationId;
        Application storage a = _application(applicationId);
        Status s = a.status;
        if (s == Status.Approved) revert NotNoticed(applicationId);
        if (s != Status.Noticed && s != Status.PartiallyPaid) revert InvalidStatus(applicationId, s);
        uint64 endsAt = _notices[a.noticeId].endsAt;
        if (block.timestamp < endsAt) revert NoticeNotEnded(endsAt, uint64(block.timestamp));
        if (a.openObjections != 0) revert ObjectionOpen(applicationId, a.openObjections);
        if (holds.isHeld(applicationId)) revert PayoutHeld(applicationId);
        if (batchId == bytes32(0) || l.bankReference == bytes32(0)) revert IncompletePayout();
        uint128 amount = l.amount;
        if (amount == 0) revert ZeroAmount();
        uint128 paid = a.paid;
        if (amount > a.approved - paid) revert OverPayment(a.approved, paid, amount);
        PayoutLine storage line = _payoutLines[keccak256(abi.encode(batchId, l.lineNo))];
        if (line.paidAt != 0) revert PayoutLineExists(batchId, l.lineNo);
        line.applicationId = applicationId;
        line.bankReference = l.bankReference;
        line.amount = amount;
        line.paidAt = uint64(block.timestamp);
        line.recordedBy = msg.sender;
        paid += amount;
        a.paid = paid;
        a.status = paid == a.approved ? Status.Paid : Status.PartiallyPaid;
        _policies[a.policyId].paidTotal += amount;
        _totals.paid += amount;
        ++_totals.payoutLines;
        emit PayoutRecorded(
            applicationId, batchId, a.policyId, l.lineNo, a.applicant, amount, paid, l.bankReference, a.noticeId,
            msg.sender
        );
    }

    /// @notice Records an enterprise's usage report (资金使用) for money it received.
    /// @dev Caller: an OPERATOR member (the gateway, on the enterprise's behalf). The application must
    ///      be (partly) paid and the reported spending in total ≤ the amount paid. Emits `UseReported`.
    /// @param applicationId The application.
    /// @param reportHash Hash of the usage report.
    /// @param spent Amount spent according to this report (fen, may be 0).
    /// @param category Spending category code of the report.
    function reportUse(bytes32 applicationId, bytes32 reportHash, uint128 spent, uint8 category)
        external
        onlyRole(AllianceRoles.OPERATOR)
    {
        Application storage a = _application(applicationId);
        _checkPaid(applicationId, a);
        if (reportHash == bytes32(0)) revert ZeroHash();
        if (spent > a.paid - a.spent) revert SpendAboveReceived(a.paid, a.spent, spent);
        uint128 total = a.spent + spent;
        a.spent = total;
        ++a.useReports;
        _totals.spent += spent;
        emit UseReported(applicationId, reportHash, spent, category, total, msg.sender);
    }

    /// @notice Records an amount recovered (追回) from an enterprise that was paid.
    /// @dev Caller: a POLICY member of the policy's department. In total at most the amount paid.
    ///      Emits `ClawedBack`.
    /// @param applicationId The application.
    /// @param amount Amount recovered (fen).
    /// @param reasonHash Hash of the decision to recover.
    function clawBack(bytes32 applicationId, uint128 amount, bytes32 reasonHash)
        external
        onlyRole(AllianceRoles.POLICY)
    {
        Application storage a = _application(applicationId);
        Policy storage p = _ownPolicy(a.policyId);
        _checkPaid(applicationId, a);
        if (reasonHash == bytes32(0)) revert ZeroHash();
        if (amount == 0) revert ZeroAmount();
        if (amount > a.paid - a.recovered) revert ClawBackAbovePaid(a.paid, a.recovered, amount);
        uint128 total = a.recovered + amount;
        a.recovered = total;
        p.recoveredTotal += amount;
        _totals.recovered += amount;
        emit ClawedBack(applicationId, a.policyId, amount, total, reasonHash, msg.sender);
    }

    // ---------------------------------------------------------------- views

    /// @notice The id of `applicant`'s application under `policyId`: keccak256(abi.encode(policyId, applicant)).
    /// @param policyId The policy.
    /// @param applicant Keyed hash (HMAC) of the enterprise's USCC.
    function applicationIdOf(bytes32 policyId, bytes32 applicant) public pure returns (bytes32) {
        return keccak256(abi.encode(policyId, applicant));
    }

    /// @notice The stored policy; reverts `UnknownPolicy` when there is none.
    /// @param policyId The policy.
    function getPolicy(bytes32 policyId) external view returns (Policy memory) {
        return _policy(policyId);
    }

    /// @notice The stored application; reverts `UnknownApplication` when there is none.
    /// @param applicationId The application.
    function getApplication(bytes32 applicationId) external view returns (Application memory) {
        return _application(applicationId);
    }

    /// @notice The status of an application (None when there is none).
    /// @param applicationId The application.
    function statusOf(bytes32 applicationId) external view returns (Status) {
        return _applications[applicationId].status;
    }

    /// @notice The reviewer who recorded review `level` of an application (zero when not reviewed).
    /// @param applicationId The application.
    /// @param level The review level (1–3).
    function reviewerOf(bytes32 applicationId, uint8 level) external view returns (address) {
        return _reviewers[applicationId][level];
    }

    /// @notice True when `reviewer` declared a recusal from the application.
    /// @param applicationId The application.
    /// @param reviewer The reviewer.
    function isRecused(bytes32 applicationId, address reviewer) external view returns (bool) {
        return _recused[applicationId][reviewer];
    }

    /// @notice The stored notice; reverts `UnknownNotice` when there is none.
    /// @param noticeId The notice.
    function getNotice(bytes32 noticeId) external view returns (Notice memory) {
        return _notice(noticeId);
    }

    /// @notice The stored objection; reverts `UnknownObjection` when there is none.
    /// @param noticeId The notice.
    /// @param objectionId The objection's number on the notice.
    function getObjection(bytes32 noticeId, uint256 objectionId) external view returns (Objection memory) {
        Objection storage o = _objections[noticeId][objectionId];
        if (o.status == ObjectionStatus.None) revert UnknownObjection(noticeId, objectionId);
        return o;
    }

    /// @notice The recorded payout line; paidAt 0 when there is none.
    /// @param batchId The payout batch.
    /// @param lineNo The line of the batch.
    function getPayoutLine(bytes32 batchId, uint32 lineNo) external view returns (PayoutLine memory) {
        return _payoutLines[keccak256(abi.encode(batchId, lineNo))];
    }

    /// @notice Ledger-wide counts and sums (fen): approved is net of rejections by upheld objections.
    function totals() external view returns (Totals memory) {
        return _totals;
    }

    // ---------------------------------------------------------------- internals

    function _checkTerms(bytes32 policyId, PolicyInput calldata t) private pure {
        if (
            policyId == bytes32(0) || t.guideHash == bytes32(0) || t.criteriaHash == bytes32(0)
                || t.noticePeriodSeconds == 0
        ) revert IncompletePolicy(policyId);
        if (t.budget == 0 || t.perEnterpriseCap == 0 || t.perEnterpriseCap > t.budget) {
            revert InvalidCap(t.perEnterpriseCap, t.budget);
        }
        if (t.opensAt >= t.closesAt) revert InvalidWindow(t.opensAt, t.closesAt);
    }

    function _policy(bytes32 policyId) private view returns (Policy storage p) {
        p = _policies[policyId];
        if (p.version == 0) revert UnknownPolicy(policyId);
    }

    /// @dev Policy `policyId`, which must belong to the caller's department.
    function _ownPolicy(bytes32 policyId) private view returns (Policy storage p) {
        p = _policy(policyId);
        bytes32 dept = registry.departmentOf(msg.sender);
        if (p.department != dept) revert NotPolicyDepartment(policyId, dept);
    }

    /// @dev A policy that is not closed (the window is checked by `_newApplication`).
    function _openPolicy(bytes32 policyId) private view returns (Policy storage p) {
        p = _policy(policyId);
        if (p.closed) revert PolicyIsClosed(policyId);
    }

    /// @dev Creates the application of `applicant` under `p` (window, zero and duplicate checks).
    function _newApplication(bytes32 policyId, Policy storage p, bytes32 applicant)
        private
        returns (bytes32 id, Application storage a)
    {
        uint64 t = uint64(block.timestamp);
        if (t < p.terms.opensAt || t >= p.terms.closesAt) revert OutsideWindow(p.terms.opensAt, p.terms.closesAt, t);
        if (applicant == bytes32(0)) revert ZeroHash();
        id = applicationIdOf(policyId, applicant);
        a = _applications[id];
        if (a.status != Status.None) revert DuplicateApplication(id);
        a.policyId = policyId;
        a.applicant = applicant;
        a.submittedAt = t;
        ++p.applications;
        ++_totals.applications;
    }

    /// @dev Approves `a` for `amount` (cap, requested and budget checks), deciding party = caller.
    function _approve(bytes32 id, Application storage a, Policy storage p, uint128 amount, bytes32 ruleVersion)
        private
    {
        if (amount == 0) revert ZeroAmount();
        if (amount > p.terms.perEnterpriseCap) revert AboveCap(p.terms.perEnterpriseCap, amount);
        if (amount > a.requested) revert AboveRequested(a.requested, amount);
        uint128 total = p.approvedTotal;
        if (amount > p.terms.budget - total) revert BudgetExceeded(p.terms.budget, total, amount);
        total += amount;
        p.approvedTotal = total;
        if (amount > p.maxApproved) p.maxApproved = amount;
        _totals.approved += amount;
        a.approved = amount;
        a.status = Status.Approved;
        a.decidedAt = uint64(block.timestamp);
        a.decidedBy = msg.sender;
        a.ruleVersion = ruleVersion;
        emit ApplicationApproved(id, a.policyId, amount, total, ruleVersion, msg.sender);
    }

    /// @dev Reverts unless the caller may review the application: not recused, no earlier level.
    function _checkReviewer(bytes32 id) private view {
        if (_recused[id][msg.sender]) revert ReviewerRecused(id, msg.sender);
        mapping(uint8 => address) storage r = _reviewers[id];
        if (r[1] == msg.sender || r[2] == msg.sender || r[3] == msg.sender) revert SameReviewer(id, msg.sender);
    }

    function _application(bytes32 id) private view returns (Application storage a) {
        a = _applications[id];
        if (a.status == Status.None) revert UnknownApplication(id);
    }

    function _checkPaid(bytes32 id, Application storage a) private view {
        if (a.status != Status.PartiallyPaid && a.status != Status.Paid) revert InvalidStatus(id, a.status);
    }

    function _notice(bytes32 noticeId) private view returns (Notice storage n) {
        n = _notices[noticeId];
        if (n.openedAt == 0) revert UnknownNotice(noticeId);
    }
}
