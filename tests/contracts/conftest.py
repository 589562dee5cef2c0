"""Fixtures for AllianceRegistry contract tests on an in-process eth-tester (py-evm) chain.

How eth-tester 0.14.0b1 + web3 8.0.0 report a revert (observed, see ``revert_data``):

* ``.call()`` / ``w3.eth.call`` and ``.transact()`` / ``.estimate_gas()`` without an explicit
  ``gas`` all raise ``eth_tester.exceptions.TransactionFailed`` -- *not* web3's
  ``ContractCustomError`` / ``ContractLogicError`` -- and the exception has no ``.data``.
  Its only argument is the text ``"execution reverted: b'<revert data as a Python bytes repr>'"``
  (web3's eth-tester provider re-raises it in ``_make_request``).
* The raw revert bytes are on the implicit exception chain (``__context__``):
  on the transact/estimate_gas path ``TransactionFailed(Revert(b"..."))`` then
  ``eth.exceptions.Revert(b"...")``; on the call path ``TransactionFailed("b'...'")`` (a str).
* ``.transact({"gas": N})`` with an explicit gas (and ``send_raw_transaction``) does not raise:
  the transaction is mined with receipt ``status == 0`` and the revert data is not reported.
* Only Solidity panics on the call path become ``web3.exceptions.ContractPanicError`` (with
  ``.data``); a real node (anvil, Besu) gives ``ContractCustomError`` with ``.data`` instead.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

import pytest
from eth_abi import decode as abi_decode
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.exceptions import TransactionFailed
from eth_utils import function_signature_to_4byte_selector, to_checksum_address
from eth_utils.abi import collapse_if_tuple
from web3 import Web3
from web3.exceptions import ContractLogicError
from web3.providers.eth_tester import EthereumTesterProvider

from chain.artifacts import load

# ---------------------------------------------------------------- constants

GOVERNOR = 1
ISSUER = 2
POLICY = 4
REVIEWER = 8
FINANCE = 16
INSPECTOR = 32
ORACLE = 64
OPERATOR = 128
ALL_ROLES = 255

LIFETIME = 7 * 24 * 3600  # seconds a proposal stays open
THRESHOLD = 3


def code(text: str) -> bytes:
    """A bytes32 department code / licence type."""
    return text.encode().ljust(32, b"\0")


MARKET, HEALTH, TAX, AUDIT, TRANSPORT = (code(c) for c in ("MARKET", "HEALTH", "TAX", "AUDIT", "TRANSPORT"))

# code, name, nameEn, roles
DEPARTMENTS = [
    (MARKET, "市场监督管理局", "Market Regulation", GOVERNOR | ISSUER | REVIEWER | OPERATOR),
    (HEALTH, "卫生健康委员会", "Health Commission", GOVERNOR | ISSUER | ORACLE),
    (TAX, "税务局", "Taxation", GOVERNOR | FINANCE | POLICY),
    (AUDIT, "审计局", "Audit Office", GOVERNOR | INSPECTOR),
    (TRANSPORT, "交通运输局", "Transport", GOVERNOR | ISSUER),
]
FOOD = code("FOOD_BUSINESS")


# ---------------------------------------------------------------- revert decoding


class _ErrorTable:
    """selector -> (name, input types) for every ``type == "error"`` entry of an ABI."""

    def __init__(self, abi: list[dict[str, Any]]):
        self.by_selector: dict[bytes, tuple[str, list[str]]] = {}
        for entry in abi:
            if entry.get("type") != "error":
                continue
            types = [collapse_if_tuple(i) for i in entry.get("inputs", [])]
            signature = f"{entry['name']}({','.join(types)})"
            self.by_selector[function_signature_to_4byte_selector(signature)] = (entry["name"], types)

    def decode(self, data: bytes) -> tuple[str, tuple[Any, ...]]:
        if len(data) < 4:
            raise AssertionError(f"revert without a custom error (data {data!r})")
        try:
            name, types = self.by_selector[data[:4]]
        except KeyError:
            raise AssertionError(f"revert data {data.hex()} matches no error in the ABI") from None
        values = abi_decode(types, data[4:])
        return name, tuple(_normalise(t, v) for t, v in zip(types, values))


def _normalise(abi_type: str, value: Any) -> Any:
    if abi_type == "address":
        return to_checksum_address(value)
    return value


def _bytes_literal(text: str) -> bytes | None:
    text = text.removeprefix("execution reverted: ").strip()
    if text[:2] in ("b'", 'b"'):
        try:
            value = ast.literal_eval(text)
        except (SyntaxError, ValueError):
            return None
        return value if isinstance(value, bytes) else None
    return None


def revert_data(exc: BaseException) -> bytes | None:
    """The raw revert data carried by a revert exception, or None if it carries none.

    Prefers exact bytes: ``.data`` of a web3 ``ContractLogicError`` (real nodes), then bytes
    found along eth-tester's exception chain, then the ``b'...'`` repr in the message text.
    """
    parsed: bytes | None = None
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        data = getattr(e, "data", None)
        if isinstance(data, str) and data.startswith("0x"):
            return bytes.fromhex(data[2:])
        for arg in e.args:
            if isinstance(arg, BaseException) and arg.args:
                arg = arg.args[0]
            if isinstance(arg, (bytes, bytearray)):
                return bytes(arg)
            if isinstance(arg, str) and parsed is None:
                parsed = _bytes_literal(arg)
        e = e.__cause__ or e.__context__
    return parsed


def _attempt(fn: Any, via: str, sender: str) -> BaseException | None:
    try:
        getattr(fn, via)({"from": sender})
    except (TransactionFailed, ContractLogicError) as exc:
        return exc
    return None


def assert_reverts(fn: Any, error: str, *args: Any, sender: str, via: tuple[str, ...] = ("call", "transact")):
    """Assert that ``fn`` (a bound contract function or constructor) reverts with the custom
    error ``error`` and, if ``args`` are given, exactly those arguments -- both as a call and as a
    transaction (no block is mined for the refused transaction). Returns the decoded arguments.
    """
    abi = getattr(fn, "contract_abi", None) or fn.abi
    table = _ErrorTable(abi)
    w3 = fn.w3
    decoded: tuple[Any, ...] = ()
    for how in via:
        block_before = w3.eth.block_number
        exc = _attempt(fn, how, sender)
        if exc is None:
            raise AssertionError(f"{how} did not revert (expected {error})")
        assert w3.eth.block_number == block_before, f"refused {how} mined a block"
        data = revert_data(exc)
        if data is None:
            raise AssertionError(f"{how} reverted without revert data: {exc!r}")
        name, decoded = table.decode(data)
        assert name == error, f"{how} reverted with {name}{decoded}, expected {error}"
        if args:
            expected = tuple(
                to_checksum_address(a) if isinstance(a, str) and Web3.is_address(a) else a for a in args
            )
            assert decoded == expected, f"{how} reverted with {name}{decoded}, expected {error}{expected}"
    return decoded


# ---------------------------------------------------------------- chain and deployment


@pytest.fixture(scope="module")
def w3() -> Web3:
    return Web3(EthereumTesterProvider(EthereumTester(PyEVMBackend())))


@pytest.fixture(scope="module")
def accounts(w3: Web3) -> list[str]:
    return list(w3.eth.accounts)


GAS = 3_000_000  # explicit: skips py-evm's gas estimation (a binary search of executions)


def send(fn: Any, sender: str):
    """Transact and return the receipt; fail unless it succeeded (status 1)."""
    receipt = fn.w3.eth.wait_for_transaction_receipt(fn.transact({"from": sender, "gas": GAS}))
    assert receipt.status == 1, f"transaction reverted: {fn}"
    return receipt


def deploy_contract(w3: Web3, name: str, *args: Any, sender: str):
    """Deploy the committed artifact ``name`` with constructor ``args``; return the bound contract."""
    artifact = load(name)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    tx = factory.constructor(*args).transact({"from": sender, "gas": 8_000_000})
    receipt = w3.eth.wait_for_transaction_receipt(tx)
    assert receipt.status == 1, f"deploying {name} failed"
    return w3.eth.contract(address=receipt.contractAddress, abi=artifact.abi)


def deploy_registry(w3: Web3, admin: str, lifetime: int = LIFETIME):
    """A fresh, unsealed AllianceRegistry deployed by ``admin``."""
    return deploy_contract(w3, "AllianceRegistry", lifetime, sender=admin)


def bootstrap_registry(
    w3: Web3,
    admin: str,
    departments: list[tuple[bytes, str, str, int]],
    members: list[tuple[str, bytes, int]],
    authorities: list[tuple[bytes, bytes]],
    threshold: int,
    data_sources: list[tuple[bytes, bytes, int]] = (),
):
    """A sealed AllianceRegistry with the given departments (code, name, nameEn, roles), members
    (account, department, roles), licence-type authorities (licenceType, department) and data
    sources (dataType, department, quorum)."""
    reg = deploy_registry(w3, admin)
    for dept_code, name, name_en, dept_roles in departments:
        send(reg.functions.bootstrapDepartment(dept_code, name, name_en, dept_roles), admin)
    for account, dept_code, member_roles in members:
        send(reg.functions.bootstrapMember(account, dept_code, member_roles), admin)
    for licence_type, dept_code in authorities:
        send(reg.functions.bootstrapLicenceTypeAuthority(licence_type, dept_code, True), admin)
    for data_type, dept_code, quorum in data_sources:
        send(reg.functions.bootstrapDataSource(data_type, dept_code, quorum), admin)
    send(reg.functions.bootstrapThreshold(threshold), admin)
    send(reg.functions.sealBootstrap(), admin)
    return reg


def events(receipt: Any, contract: Any, name: str) -> list[dict[str, Any]]:
    """The decoded arguments of every ``name`` event ``contract`` emitted in ``receipt``, in order."""
    from web3.logs import DISCARD

    return [dict(e.args) for e in contract.events[name]().process_receipt(receipt, errors=DISCARD)]


def time_travel(w3: Web3, seconds: int) -> int:
    """Mine a block ``seconds`` after the latest one; return its timestamp."""
    target = w3.eth.get_block("latest").timestamp + seconds
    w3.testing.timeTravel(target)
    return target


@pytest.fixture(scope="module")
def roles(accounts: list[str]) -> dict[str, str]:
    """Who is who in the bootstrapped alliance."""
    return {
        "admin": accounts[0],
        "gov_market": accounts[1],
        "gov_health": accounts[2],
        "gov_tax": accounts[3],
        "gov_audit": accounts[4],
        "gov_transport": accounts[5],
        "gov_market_2": accounts[6],  # second GOVERNOR of MARKET
        "issuer_market": accounts[7],  # MARKET member without GOVERNOR
        "spare": accounts[8],  # not a member, free to be added
        "outsider": accounts[9],  # never a member
    }


@pytest.fixture(scope="module")
def registry(w3: Web3, roles: dict[str, str]):
    """A sealed registry: 5 departments, one GOVERNOR each (two for MARKET), threshold 3,
    FOOD_BUSINESS licences issued by MARKET. Shared by the module; every test runs in a snapshot."""
    admin = roles["admin"]
    reg = deploy_registry(w3, admin)
    for dept_code, name, name_en, dept_roles in DEPARTMENTS:
        send(reg.functions.bootstrapDepartment(dept_code, name, name_en, dept_roles), admin)
    governors = ["gov_market", "gov_health", "gov_tax", "gov_audit", "gov_transport"]
    for who, (dept_code, *_rest) in zip(governors, DEPARTMENTS):
        send(reg.functions.bootstrapMember(roles[who], dept_code, GOVERNOR), admin)
    send(reg.functions.bootstrapMember(roles["gov_market_2"], MARKET, GOVERNOR | ISSUER), admin)
    send(reg.functions.bootstrapMember(roles["issuer_market"], MARKET, ISSUER), admin)
    send(reg.functions.bootstrapLicenceTypeAuthority(FOOD, MARKET, True), admin)
    send(reg.functions.bootstrapThreshold(THRESHOLD), admin)
    send(reg.functions.sealBootstrap(), admin)
    return reg


@pytest.fixture(scope="module")
def module_contracts() -> dict[str, Any]:
    """Contracts a test module deploys once, before every test's snapshot is taken. A module
    overrides this fixture to deploy its own (anything deployed inside a test is reverted)."""
    return {}


@pytest.fixture(autouse=True)
def _isolate(w3: Web3, registry, module_contracts) -> Iterator[None]:
    """Run each test in an eth-tester snapshot of the bootstrapped chain, reverted afterwards."""
    snapshot = w3.testing.snapshot()
    yield
    w3.testing.revert(snapshot)


@pytest.fixture
def fresh(w3: Web3, roles: dict[str, str]):
    """An unsealed registry deployed by the admin (discarded with the test's snapshot)."""
    return deploy_registry(w3, roles["admin"])


# ---------------------------------------------------------------- the licence / document alliance

# Departments of the LicenceRegistry and DocumentStore tests (code, name, nameEn, roles).
IP, APPROVAL = code("IP"), code("APPROVAL")
LEDGER_DEPARTMENTS = [
    (MARKET, "市场监督管理局", "Market Regulation", GOVERNOR | ISSUER | REVIEWER | OPERATOR),
    (HEALTH, "卫生健康委员会", "Health Commission", GOVERNOR | ISSUER | ORACLE),
    (IP, "知识产权局", "Intellectual Property", GOVERNOR | ISSUER),
    (APPROVAL, "行政审批局", "Administrative Approval", GOVERNOR | OPERATOR),
    (TAX, "税务局", "Taxation", GOVERNOR | FINANCE | POLICY),
]
BUSINESS_LICENCE = code("BUSINESS_LICENCE")
PATENT_CERTIFICATE = code("PATENT_CERTIFICATE")
MEDICAL_INSTITUTION = code("MEDICAL_INSTITUTION")
# licence type -> the one department authorised to issue it
LEDGER_AUTHORITIES = [
    (FOOD, MARKET),
    (BUSINESS_LICENCE, MARKET),
    (PATENT_CERTIFICATE, IP),
    (MEDICAL_INSTITUTION, HEALTH),
]


def ledger_people(accounts: list[str]) -> dict[str, str]:
    """Who is who in the licence / document alliance (threshold 1: one GOVERNOR's proposal executes)."""
    names = ["admin", "market_issuer", "market_issuer_2", "market_operator", "market_reviewer", "health_issuer",
             "ip_issuer", "approval_operator", "tax_finance", "outsider"]
    return dict(zip(names, accounts))


LEDGER_MEMBERS = [  # (person, department, roles)
    ("market_issuer", MARKET, ISSUER),
    ("market_issuer_2", MARKET, ISSUER | GOVERNOR),
    ("market_operator", MARKET, OPERATOR),
    ("market_reviewer", MARKET, REVIEWER),  # in MARKET, but neither ISSUER nor OPERATOR
    ("health_issuer", HEALTH, ISSUER | GOVERNOR),
    ("ip_issuer", IP, ISSUER | GOVERNOR),
    ("approval_operator", APPROVAL, OPERATOR | GOVERNOR),
    ("tax_finance", TAX, FINANCE | GOVERNOR),
]


def bootstrap_ledger_registry(w3: Web3, people: dict[str, str]):
    """The sealed registry of the licence / document alliance (admin and outsider are not members)."""
    return bootstrap_registry(
        w3,
        people["admin"],
        LEDGER_DEPARTMENTS,
        [(people[who], dept, member_roles) for who, dept, member_roles in LEDGER_MEMBERS],
        LEDGER_AUTHORITIES,
        threshold=1,
    )


# ---------------------------------------------------------------- the subsidy alliance (SubsidyLedger, AuditHolds)

# Departments of the SubsidyLedger and AuditHolds tests (code, name, nameEn, roles). COMMERCE is a
# second policy department: its members hold POLICY and REVIEWER, but not for SCIENCE's policies.
SCIENCE, COMMERCE, TREASURY, SERVICE, DISCIPLINE = (
    code(c) for c in ("SCIENCE", "COMMERCE", "TREASURY", "SERVICE", "DISCIPLINE"))
SUBSIDY_DEPARTMENTS = [
    (SCIENCE, "科技局", "Science and Technology", GOVERNOR | POLICY | REVIEWER),
    (COMMERCE, "商务局", "Commerce", GOVERNOR | POLICY | REVIEWER),
    (TREASURY, "财政局", "Finance Bureau", GOVERNOR | FINANCE),
    (SERVICE, "政务服务中心", "Government Service Centre", GOVERNOR | OPERATOR),
    (DISCIPLINE, "纪委监委", "Discipline Commission", GOVERNOR | INSPECTOR),
]
SUBSIDY_MEMBERS = [  # (person, department, roles)
    ("sci_policy", SCIENCE, POLICY | GOVERNOR),
    ("sci_rev1", SCIENCE, REVIEWER),
    ("sci_rev2", SCIENCE, REVIEWER),
    ("sci_rev3", SCIENCE, REVIEWER),
    ("com_officer", COMMERCE, POLICY | REVIEWER | GOVERNOR),  # right roles, wrong department
    ("finance", TREASURY, FINANCE | GOVERNOR),
    ("operator", SERVICE, OPERATOR | GOVERNOR),
    ("inspector", DISCIPLINE, INSPECTOR | GOVERNOR),
]


def subsidy_people(accounts: list[str]) -> dict[str, str]:
    """Who is who in the subsidy alliance (admin and outsider are not members)."""
    names = ["admin", "sci_policy", "sci_rev1", "sci_rev2", "sci_rev3", "com_officer", "finance", "operator",
             "inspector", "outsider"]
    return dict(zip(names, accounts))


def bootstrap_subsidy_registry(w3: Web3, people: dict[str, str]):
    """The sealed registry of the subsidy alliance (threshold 1)."""
    return bootstrap_registry(
        w3,
        people["admin"],
        SUBSIDY_DEPARTMENTS,
        [(people[who], dept, member_roles) for who, dept, member_roles in SUBSIDY_MEMBERS],
        [],
        threshold=1,
    )


def deploy_subsidy(w3: Web3, registry: Any, people: dict[str, str]) -> dict[str, Any]:
    """AuditHolds and SubsidyLedger wired to ``registry``, in deployment order."""
    holds = deploy_contract(w3, "AuditHolds", registry.address, sender=people["admin"])
    ledger = deploy_contract(w3, "SubsidyLedger", registry.address, holds.address, sender=people["admin"])
    return {"holds": holds, "ledger": ledger}


DAY = 86400
SUBSIDY_KEY = b"alliance test secret"  # the alliance's HMAC key for USCCs (test value)

TERMS_FIELDS = ("budget", "perEnterpriseCap", "opensAt", "closesAt", "noticePeriodSeconds", "payoutDeadlineSeconds",
                "guideHash", "criteriaHash", "noApplication")
POLICY_FIELDS = ("terms", "department", "approvedTotal", "paidTotal", "recoveredTotal", "maxApproved", "publishedAt",
                 "amendedAt", "version", "applications", "closed", "publishedBy")
APPLICATION_FIELDS = ("policyId", "applicant", "materialsHash", "requested", "approved", "paid", "spent", "recovered",
                      "submittedAt", "decidedAt", "noticeId", "ruleVersion", "decidedBy", "licenceRefs",
                      "reviewLevel", "status", "enrolled", "openObjections", "useReports")
NOTICE_FIELDS = ("policyId", "listDigest", "openedAt", "endsAt", "count", "objections", "openObjections", "openedBy")
OBJECTION_FIELDS = ("applicationId", "objectionHash", "answerHash", "filedAt", "answeredAt", "status", "filedBy",
                    "answeredBy")
PAYOUT_LINE_FIELDS = ("applicationId", "bankReference", "amount", "paidAt", "recordedBy")
TOTALS_FIELDS = ("policies", "applications", "notices", "payoutLines", "approved", "paid", "spent", "recovered")


class AppStatus:
    """SubsidyLedger.Status."""

    NONE, SUBMITTED, UNDER_REVIEW, APPROVED, REJECTED, NOTICED, PARTIALLY_PAID, PAID = range(8)


class ObjectionStatus:
    """SubsidyLedger.ObjectionStatus."""

    NONE, OPEN, DISMISSED, UPHELD = range(4)


def h(text: str) -> bytes:
    """A stand-in bytes32 hash of a document."""
    from eth_utils import keccak

    return keccak(text=text)


def applicant_of(uscc: str) -> bytes:
    """The keyed hash (HMAC-SHA256) under which an enterprise appears on chain."""
    import hashlib
    import hmac

    return hmac.new(SUBSIDY_KEY, uscc.encode(), hashlib.sha256).digest()


def application_id(policy_id: bytes, applicant: bytes) -> bytes:
    """keccak256(abi.encode(policyId, applicant))."""
    from eth_abi import encode
    from eth_utils import keccak

    return keccak(encode(["bytes32", "bytes32"], [policy_id, applicant]))


def as_record(fields: tuple[str, ...], value: Any) -> dict[str, Any]:
    return dict(zip(fields, value))


def latest_time(w3: Web3) -> int:
    return w3.eth.get_block("latest").timestamp


def policy_terms(w3: Web3, *, budget: int = 1_000_000_00, cap: int = 300_000_00, opens_in: int = -60,
                 lasts: int = 30 * DAY, notice: int = 5 * DAY, payout_deadline: int = 15 * DAY,
                 no_application: bool = False, guide: str = "guide v1", criteria: str = "criteria v1") -> tuple:
    """A PolicyInput tuple; the window opens ``opens_in`` seconds from the latest block and lasts ``lasts``."""
    opens = latest_time(w3) + opens_in
    return (budget, cap, opens, opens + lasts, notice, payout_deadline, h(guide), h(criteria), no_application)


class SubsidyFlow:
    """Drives SubsidyLedger through its steps with the subsidy alliance's members (test helper)."""

    def __init__(self, w3: Web3, ledger: Any, holds: Any, people: dict[str, str]):
        self.w3, self.ledger, self.holds, self.people = w3, ledger, holds, people
        self.f = ledger.functions

    def tx(self, fn: Any, who: str):
        return send(fn, self.people[who])

    def publish(self, policy_id: bytes, who: str = "sci_policy", **terms: Any):
        return self.tx(self.f.publishPolicy(policy_id, policy_terms(self.w3, **terms)), who)

    def submit(self, policy_id: bytes, uscc: str, requested: int = 200_000_00, refs: int = 2) -> bytes:
        applicant = applicant_of(uscc)
        self.tx(self.f.submitApplication(policy_id, applicant, requested, h(f"materials {uscc}"), refs), "operator")
        return application_id(policy_id, applicant)

    def review_all(self, app: bytes, amount: int, reviewers: tuple[str, str, str] = ("sci_rev1", "sci_rev2",
                                                                                       "sci_rev3")) -> list:
        return [self.tx(self.f.review(app, level, True, amount, h(f"opinion {level}")), who)
                for level, who in zip((1, 2, 3), reviewers)]

    def approved(self, policy_id: bytes, uscc: str, amount: int = 150_000_00, requested: int = 200_000_00) -> bytes:
        """An application submitted and approved by three-level review."""
        app = self.submit(policy_id, uscc, requested)
        self.review_all(app, amount)
        return app

    def notice(self, notice_id: bytes, policy_id: bytes, apps: list[bytes], period: int = 5 * DAY,
               who: str = "sci_policy"):
        ends = latest_time(self.w3) + period + 120
        return self.tx(self.f.openNotice(notice_id, policy_id, apps, h(f"list {notice_id.hex()}"), ends), who), ends

    def noticed(self, policy_id: bytes, uscc: str, amount: int = 150_000_00, ended: bool = True) -> bytes:
        """An approved application on its own notice, ended unless ``ended`` is False."""
        app = self.approved(policy_id, uscc, amount)
        self.notice(h(f"notice {uscc}"), policy_id, [app])
        if ended:
            time_travel(self.w3, 6 * DAY)
        return app

    def pay(self, app: bytes, amount: int, batch: str = "batch 1", line: int = 1, ref: str | None = None):
        return self.tx(self.f.recordPayout(app, h(batch), line, amount, h(ref or f"bank {batch} {line}")), "finance")

    def application(self, app: bytes) -> dict[str, Any]:
        return as_record(APPLICATION_FIELDS, self.f.getApplication(app).call())

    def policy(self, policy_id: bytes) -> dict[str, Any]:
        rec = as_record(POLICY_FIELDS, self.f.getPolicy(policy_id).call())
        rec["terms"] = as_record(TERMS_FIELDS, rec["terms"])
        return rec
