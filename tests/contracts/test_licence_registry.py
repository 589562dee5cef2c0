"""LicenceRegistry on eth-tester: batch issuance with issuer-authority checks, the licence
lifecycle (suspend, reinstate, revoke, renew), effective status with expiry, events, and the
OpenAttestation DocumentStore view (`isIssued` / `isRevoked`) as the stock verifier reads it."""

from __future__ import annotations

import hashlib
import hmac
from enum import IntEnum
from typing import Any

import pytest
from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from chain.artifacts import load
from tests.contracts.conftest import (
    BUSINESS_LICENCE,
    FOOD,
    HEALTH,
    IP,
    ISSUER,
    MARKET,
    MEDICAL_INSTITUTION,
    PATENT_CERTIFICATE,
    assert_reverts,
    bootstrap_ledger_registry,
    code,
    deploy_contract,
    events,
    ledger_people,
    send,
    time_travel,
)

SET_LICENCE_TYPE_AUTHORITY = 6  # AllianceRegistry.Action
HOLDER_KEY = b"alliance test secret"  # the alliance's HMAC key for USCCs (test value)
ZERO = b"\0" * 32


class Lifecycle(IntEnum):
    None_ = 0
    Valid = 1
    Suspended = 2
    Revoked = 3


class Status(IntEnum):
    None_ = 0
    Valid = 1
    Suspended = 2
    Revoked = 3
    Expired = 4
    Superseded = 5
    NotYetValid = 6


LICENCE_FIELDS = ("licenceType", "department", "holder", "targetHash", "merkleRoot", "validFrom", "validUntil",
                  "issuedAt", "status", "reason", "issuedBy", "supersededBy", "supersedes")


# ---------------------------------------------------------------- OpenAttestation v2 Merkle tree (test helper)


def hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak(min(a, b) + max(a, b))


def oa_layers(leaves: list[bytes]) -> list[list[bytes]]:
    """Layers from the leaves up to the root; an odd last node is promoted unchanged."""
    layers = [list(leaves)]
    while len(layers[-1]) > 1:
        prev = layers[-1]
        layers.append([hash_pair(prev[i], prev[i + 1]) if i + 1 < len(prev) else prev[i]
                       for i in range(0, len(prev), 2)])
    return layers


def oa_proof(layers: list[list[bytes]], index: int) -> list[bytes]:
    proof = []
    for layer in layers[:-1]:
        pair = index ^ 1
        if pair < len(layer):
            proof.append(layer[pair])
        index //= 2
    return proof


def path_hashes(leaf: bytes, proof: list[bytes]) -> list[bytes]:
    """What the stock oa-verify checks with isRevoked: the targetHash and every node up to the root."""
    hashes = [leaf]
    for node in proof:
        hashes.append(hash_pair(hashes[-1], node))
    return hashes


def oa_verdict(store, leaf: bytes, proof: list[bytes]) -> str:
    """The verdict of OpenAttestation's DocumentStore status fragment for one document."""
    hashes = path_hashes(leaf, proof)
    if not store.functions.isIssued(hashes[-1]).call():
        return "not issued"
    return "revoked" if any(store.functions.isRevoked(h).call() for h in hashes) else "valid"


# ---------------------------------------------------------------- licence data


def licence_id(licence_type: bytes, number: str) -> bytes:
    return keccak(licence_type + number.encode())


def holder_of(uscc: str) -> bytes:
    return hmac.new(HOLDER_KEY, uscc.encode(), hashlib.sha256).digest()


ACME = holder_of("91310000MA1FL0001X")
BETA = holder_of("91310000MA1FL0002Y")


def doc(name: str) -> bytes:
    """A stand-in for a licence document's OpenAttestation targetHash."""
    return keccak(text=f"document {name}")


def item(number: str, licence_type: bytes = FOOD, holder: bytes = ACME, valid_from: int = 0,
         valid_until: int = 0, target: bytes | None = None) -> tuple:
    """A LicenceInput tuple (id, licenceType, holder, targetHash, validFrom, validUntil)."""
    return (licence_id(licence_type, number), licence_type, holder, target or doc(number), valid_from, valid_until)


def as_dict(record: Any) -> dict[str, Any]:
    return dict(zip(LICENCE_FIELDS, record))


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def people(accounts: list[str]) -> dict[str, str]:
    return ledger_people(accounts)


@pytest.fixture(scope="module")
def registry(w3, people):
    """Overrides the conftest registry: the licence alliance (MARKET, HEALTH, IP, APPROVAL, TAX)."""
    return bootstrap_ledger_registry(w3, people)


@pytest.fixture(scope="module")
def module_contracts(w3, registry, people) -> dict[str, Any]:
    return {"licences": deploy_contract(w3, "LicenceRegistry", registry.address, sender=people["admin"])}


@pytest.fixture
def lic(module_contracts):
    return module_contracts["licences"]


def issue(lic, people, items: list[tuple], root: bytes | None = None, who: str = "market_issuer"):
    """Issue ``items`` in one batch (root = their OA Merkle root); return (receipt, root, layers)."""
    layers = oa_layers([i[3] for i in items])
    root = root or layers[-1][0]
    receipt = send(lic.functions.issueBatch(root, items), people[who])
    return receipt, root, layers


def now(w3) -> int:
    return w3.eth.get_block("latest").timestamp


def withdraw_authority(registry, people, licence_type: bytes, dept: bytes) -> None:
    """Governance (threshold 1): a MARKET governor withdraws ``dept``'s authority for ``licence_type``."""
    data = encode(["bytes32", "bytes32", "bool"], [licence_type, dept, False])
    send(registry.functions.propose(SET_LICENCE_TYPE_AUTHORITY, data), people["market_issuer_2"])
    assert not registry.functions.isAuthorisedIssuer(licence_type, dept).call()


# ---------------------------------------------------------------- deployment and identity


def test_deployed_code_is_the_artifact_and_names_the_store(w3, lic, registry) -> None:
    assert w3.eth.get_code(lic.address).hex().removeprefix("0x") == load("LicenceRegistry").deployed_bytecode[2:]
    assert lic.functions.registry().call() == registry.address
    assert lic.functions.name().call() == "Alliance Ledger licences"
    assert lic.functions.version().call() == "1.0.0"


# ---------------------------------------------------------------- issuing


def test_issue_batch_stores_licences_anchors_the_root_and_emits_events(w3, lic, people) -> None:
    t = now(w3)
    items = [item("SP001", valid_from=t, valid_until=t + 365 * 86400),
             item("SP002", holder=BETA),
             item("YY001", licence_type=BUSINESS_LICENCE)]
    receipt, root, _ = issue(lic, people, items)
    block = w3.eth.get_block(receipt.blockNumber)

    assert events(receipt, lic, "BatchAnchored") == [
        {"root": root, "department": MARKET, "count": 3, "by": people["market_issuer"]}]
    assert events(receipt, lic, "LicenceIssued") == [
        {"id": i[0], "licenceType": i[1], "department": MARKET, "holder": i[2], "targetHash": i[3],
         "merkleRoot": root, "validFrom": i[4], "validUntil": i[5]} for i in items]
    # BatchAnchored comes first, then one LicenceIssued per item in order
    assert len(receipt.logs) == 4

    assert lic.functions.isIssued(root).call()
    assert lic.functions.getIssuedBlock(root).call() == receipt.blockNumber
    assert lic.functions.getBatch(root).call() == (receipt.blockNumber, block.timestamp, MARKET, 3,
                                                   people["market_issuer"])
    for i in items:
        rec = as_dict(lic.functions.getLicence(i[0]).call())
        assert rec == {"licenceType": i[1], "department": MARKET, "holder": i[2], "targetHash": i[3],
                       "merkleRoot": root, "validFrom": i[4], "validUntil": i[5], "issuedAt": block.timestamp,
                       "status": Lifecycle.Valid, "reason": 0, "issuedBy": people["market_issuer"],
                       "supersededBy": ZERO, "supersedes": ZERO}
        assert lic.functions.statusOf(i[0]).call() == Status.Valid
        assert lic.functions.licenceOfDocument(i[3]).call() == i[0]
        assert not lic.functions.isRevoked(i[3]).call()
    # a batch's intermediate nodes and unknown hashes are neither issued nor licences
    assert not lic.functions.isIssued(items[0][3]).call()
    assert lic.functions.licenceOfDocument(doc("unknown")).call() == ZERO
    assert lic.functions.statusOf(licence_id(FOOD, "unknown")).call() == Status.None_


def test_a_one_licence_batch_has_its_target_hash_as_root(lic, people) -> None:
    single = item("SP100")
    _, root, _ = issue(lic, people, [single])
    assert root == single[3]
    assert lic.functions.isIssued(single[3]).call()
    assert lic.functions.getBatch(root).call()[3] == 1


def test_any_issuer_member_of_the_department_may_issue(lic, people) -> None:
    receipt, _, _ = issue(lic, people, [item("SP200")], who="market_issuer_2")
    assert events(receipt, lic, "LicenceIssued")[0]["department"] == MARKET
    assert as_dict(lic.functions.getLicence(item("SP200")[0]).call())["issuedBy"] == people["market_issuer_2"]


@pytest.mark.parametrize("who", ["outsider", "admin", "market_operator", "market_reviewer", "tax_finance"])
def test_issue_is_refused_without_the_issuer_role(lic, people, who) -> None:
    assert_reverts(lic.functions.issueBatch(doc("SP300"), [item("SP300")]), "MissingRole", people[who], ISSUER,
                   sender=people[who])


def test_a_department_may_issue_only_the_types_it_is_authorised_for(lic, people) -> None:
    patent = item("ZL2024001", licence_type=PATENT_CERTIFICATE)
    assert_reverts(lic.functions.issueBatch(patent[3], [patent]), "NotAuthorisedForType", PATENT_CERTIFICATE,
                   MARKET, sender=people["market_issuer"])
    food = item("SP301")
    assert_reverts(lic.functions.issueBatch(food[3], [food]), "NotAuthorisedForType", FOOD, HEALTH,
                   sender=people["health_issuer"])
    # the authorised department issues both
    send(lic.functions.issueBatch(patent[3], [patent]), people["ip_issuer"])
    medical = item("YL001", licence_type=MEDICAL_INSTITUTION)
    send(lic.functions.issueBatch(medical[3], [medical]), people["health_issuer"])
    assert lic.functions.getLicence(patent[0]).call()[1] == IP


def test_one_unauthorised_item_refuses_the_whole_batch(lic, people) -> None:
    items = [item("SP400"), item("SP401"), item("ZL400", licence_type=PATENT_CERTIFICATE)]
    root = oa_layers([i[3] for i in items])[-1][0]
    assert_reverts(lic.functions.issueBatch(root, items), "NotAuthorisedForType", PATENT_CERTIFICATE, MARKET,
                   sender=people["market_issuer"])
    assert not lic.functions.isIssued(root).call()
    assert lic.functions.statusOf(items[0][0]).call() == Status.None_


def test_withdrawn_authority_stops_issuing_but_not_the_care_of_issued_licences(lic, registry, people) -> None:
    old = item("SP500")
    issue(lic, people, [old])
    withdraw_authority(registry, people, FOOD, MARKET)
    new = item("SP501")
    assert_reverts(lic.functions.issueBatch(new[3], [new]), "NotAuthorisedForType", FOOD, MARKET,
                   sender=people["market_issuer"])
    assert_reverts(lic.functions.renew(old[0], new[3], new), "NotAuthorisedForType", FOOD, MARKET,
                   sender=people["market_issuer"])
    send(lic.functions.suspend(old[0], 7), people["market_issuer"])
    send(lic.functions.revoke(old[0], 8), people["market_issuer"])
    assert lic.functions.statusOf(old[0]).call() == Status.Revoked


def test_issue_validates_every_item(w3, lic, people) -> None:
    issuer = people["market_issuer"]
    existing = item("SP600")
    issue(lic, people, [existing])

    def refused(items, error, *args, root=None):
        root = root or oa_layers([i[3] for i in items])[-1][0]
        assert_reverts(lic.functions.issueBatch(root, items), error, *args, sender=issuer)

    refused([], "EmptyBatch", root=doc("empty"))
    refused([item("SP601")], "ZeroRoot", root=ZERO)
    refused([item("SP602", target=doc("SP600x"))], "BatchExists", existing[3], root=existing[3])
    refused([item("SP600", target=doc("other"))], "LicenceExists", existing[0])
    refused([item("SP603"), item("SP603", target=doc("other"))], "LicenceExists", item("SP603")[0])
    refused([item("SP604", target=existing[3])], "DocumentExists", existing[3], root=doc("fresh root"))
    refused([item("SP605"), item("SP606", target=doc("SP605"))], "DocumentExists", doc("SP605"))
    t = now(w3)
    refused([item("SP607", valid_from=t, valid_until=t)], "InvalidValidity", item("SP607")[0], t, t)
    refused([item("SP608", valid_from=t, valid_until=t - 1)], "InvalidValidity", item("SP608")[0], t, t - 1)
    bad = list(item("SP609"))
    for field in range(4):  # id, licenceType, holder, targetHash
        incomplete = list(bad)
        incomplete[field] = ZERO
        refused([tuple(incomplete)], "IncompleteLicence", incomplete[0], root=doc(f"incomplete {field}"))
    # validUntil 0 = no expiry, validFrom in the future is allowed
    issue(lic, people, [item("SP610", valid_from=t + 86400, valid_until=0)])


# ---------------------------------------------------------------- lifecycle


def test_revoking_one_licence_of_a_batch_of_three(lic, people) -> None:
    items = [item("SP700"), item("SP701"), item("SP702")]
    _, root, layers = issue(lic, people, items)
    receipt = send(lic.functions.revoke(items[1][0], 3), people["market_issuer_2"])
    assert events(receipt, lic, "LicenceRevoked") == [{"id": items[1][0], "reason": 3, "by": people["market_issuer_2"]}]

    assert [lic.functions.isRevoked(i[3]).call() for i in items] == [False, True, False]
    assert lic.functions.isIssued(root).call()
    assert not lic.functions.isRevoked(root).call()
    assert [lic.functions.statusOf(i[0]).call() for i in items] == [Status.Valid, Status.Revoked, Status.Valid]
    rec = as_dict(lic.functions.getLicence(items[1][0]).call())
    assert (rec["status"], rec["reason"]) == (Lifecycle.Revoked, 3)
    # the stock OpenAttestation verifier's verdict for each document of the batch
    verdicts = [oa_verdict(lic, i[3], oa_proof(layers, n)) for n, i in enumerate(items)]
    assert verdicts == ["valid", "revoked", "valid"]


def test_suspend_then_reinstate(lic, people) -> None:
    lic_item = item("SP800")
    issue(lic, people, [lic_item])
    receipt = send(lic.functions.suspend(lic_item[0], 12), people["market_issuer"])
    assert events(receipt, lic, "LicenceSuspended") == [
        {"id": lic_item[0], "reason": 12, "by": people["market_issuer"]}]
    assert lic.functions.isRevoked(lic_item[3]).call()
    assert lic.functions.statusOf(lic_item[0]).call() == Status.Suspended
    assert as_dict(lic.functions.getLicence(lic_item[0]).call())["reason"] == 12
    assert oa_verdict(lic, lic_item[3], []) == "revoked"

    receipt = send(lic.functions.reinstate(lic_item[0]), people["market_issuer_2"])
    assert events(receipt, lic, "LicenceReinstated") == [{"id": lic_item[0], "by": people["market_issuer_2"]}]
    assert not lic.functions.isRevoked(lic_item[3]).call()
    assert lic.functions.statusOf(lic_item[0]).call() == Status.Valid
    rec = as_dict(lic.functions.getLicence(lic_item[0]).call())
    assert (rec["status"], rec["reason"]) == (Lifecycle.Valid, 0)
    assert oa_verdict(lic, lic_item[3], []) == "valid"

    # a suspended licence can be revoked
    send(lic.functions.suspend(lic_item[0], 1), people["market_issuer"])
    send(lic.functions.revoke(lic_item[0], 2), people["market_issuer"])
    assert lic.functions.statusOf(lic_item[0]).call() == Status.Revoked


def test_renewal_supersedes_the_old_licence(w3, lic, people) -> None:
    old = item("SP900", valid_until=now(w3) + 30 * 86400)
    issue(lic, people, [old])
    new = item("SP900-2", valid_from=now(w3), valid_until=now(w3) + 400 * 86400)
    receipt = send(lic.functions.renew(old[0], new[3], new), people["market_issuer_2"])

    assert events(receipt, lic, "BatchAnchored") == [
        {"root": new[3], "department": MARKET, "count": 1, "by": people["market_issuer_2"]}]
    assert events(receipt, lic, "LicenceIssued") == [
        {"id": new[0], "licenceType": FOOD, "department": MARKET, "holder": ACME, "targetHash": new[3],
         "merkleRoot": new[3], "validFrom": new[4], "validUntil": new[5]}]
    assert events(receipt, lic, "LicenceRenewed") == [
        {"oldId": old[0], "newId": new[0], "by": people["market_issuer_2"]}]

    assert lic.functions.statusOf(old[0]).call() == Status.Superseded
    assert lic.functions.isRevoked(old[3]).call()
    assert oa_verdict(lic, old[3], []) == "revoked"
    assert lic.functions.statusOf(new[0]).call() == Status.Valid
    assert not lic.functions.isRevoked(new[3]).call()
    assert oa_verdict(lic, new[3], []) == "valid"
    old_rec, new_rec = (as_dict(lic.functions.getLicence(i).call()) for i in (old[0], new[0]))
    assert (old_rec["supersededBy"], old_rec["supersedes"], old_rec["status"]) == (new[0], ZERO, Lifecycle.Valid)
    assert (new_rec["supersedes"], new_rec["supersededBy"], new_rec["merkleRoot"]) == (old[0], ZERO, new[3])


def test_renewal_of_a_suspended_licence_into_a_real_batch(lic, people) -> None:
    old = item("SP950")
    issue(lic, people, [old])
    send(lic.functions.suspend(old[0], 4), people["market_issuer"])
    new = item("SP950-2")
    root = oa_layers([new[3], doc("another document of the batch")])[-1][0]
    send(lic.functions.renew(old[0], root, new), people["market_issuer"])
    assert lic.functions.statusOf(old[0]).call() == Status.Superseded
    assert lic.functions.getLicence(new[0]).call()[4] == root
    assert lic.functions.isIssued(root).call()
    # a superseded licence (renewed while suspended) cannot be reinstated
    assert_reverts(lic.functions.reinstate(old[0]), "InvalidTransition", old[0], Status.Superseded,
                   sender=people["market_issuer"])


def test_renewal_refusals(lic, registry, people) -> None:
    issuer = people["market_issuer"]
    old = item("SP960")
    issue(lic, people, [old])

    def refused(new, error, *args, root=None, old_id=old[0], who="market_issuer"):
        assert_reverts(lic.functions.renew(old_id, root or new[3], new), error, *args, sender=people[who])

    other_type = item("SP960-2", licence_type=BUSINESS_LICENCE)
    refused(other_type, "RenewalMismatch", old[0], other_type[0])
    other_holder = item("SP960-3", holder=BETA)
    refused(other_holder, "RenewalMismatch", old[0], other_holder[0])
    refused(item("SP960-4"), "NotIssuingDepartment", old[0], HEALTH, who="health_issuer")
    refused(item("SP960-5"), "MissingRole", people["market_operator"], ISSUER, who="market_operator")
    refused(item("SP960-6"), "UnknownLicence", licence_id(FOOD, "nope"), old_id=licence_id(FOOD, "nope"))
    refused(old, "LicenceExists", old[0], root=doc("fresh root"))
    refused(item("SP960-7", target=old[3]), "DocumentExists", old[3], root=doc("fresh root"))
    refused(item("SP960-8", valid_from=10, valid_until=5), "InvalidValidity", item("SP960-8")[0], 10, 5)
    refused(item("SP960-9"), "BatchExists", old[3], root=old[3])
    refused(item("SP960-10"), "ZeroRoot", root=ZERO)

    # renewed once: the old licence is superseded and cannot be renewed again
    send(lic.functions.renew(old[0], item("SP960-11")[3], item("SP960-11")), issuer)
    refused(item("SP960-12"), "InvalidTransition", old[0], Status.Superseded)
    # a revoked licence cannot be renewed
    gone = item("SP961")
    issue(lic, people, [gone])
    send(lic.functions.revoke(gone[0], 1), issuer)
    refused(item("SP961-2"), "InvalidTransition", gone[0], Status.Revoked, old_id=gone[0])


def test_every_invalid_transition(lic, people) -> None:
    issuer = people["market_issuer"]
    a, b, c, d = item("SPA"), item("SPB"), item("SPC"), item("SPD")
    issue(lic, people, [a, b, c, d])

    def refused(fn, error, *args):
        assert_reverts(fn, error, *args, sender=issuer)

    # Valid: cannot be reinstated
    refused(lic.functions.reinstate(a[0]), "InvalidTransition", a[0], Status.Valid)
    # Suspended: cannot be suspended again
    send(lic.functions.suspend(b[0], 1), issuer)
    refused(lic.functions.suspend(b[0], 1), "InvalidTransition", b[0], Status.Suspended)
    # Revoked: nothing but a refusal
    send(lic.functions.revoke(c[0], 1), issuer)
    refused(lic.functions.suspend(c[0], 1), "InvalidTransition", c[0], Status.Revoked)
    refused(lic.functions.reinstate(c[0]), "InvalidTransition", c[0], Status.Revoked)
    refused(lic.functions.revoke(c[0], 2), "AlreadyRevoked", c[0])
    refused(lic.functions.renew(c[0], doc("SPC-2"), item("SPC-2")), "InvalidTransition", c[0], Status.Revoked)
    # Superseded: cannot be suspended, reinstated or renewed; it may still be revoked
    send(lic.functions.renew(d[0], doc("SPD-2"), item("SPD-2")), issuer)
    refused(lic.functions.suspend(d[0], 1), "InvalidTransition", d[0], Status.Superseded)
    refused(lic.functions.reinstate(d[0]), "InvalidTransition", d[0], Status.Superseded)
    refused(lic.functions.renew(d[0], doc("SPD-3"), item("SPD-3")), "InvalidTransition", d[0], Status.Superseded)
    send(lic.functions.revoke(d[0], 9), issuer)
    assert lic.functions.statusOf(d[0]).call() == Status.Revoked
    # unknown licence
    unknown = licence_id(FOOD, "unknown")
    refused(lic.functions.suspend(unknown, 1), "UnknownLicence", unknown)
    refused(lic.functions.reinstate(unknown), "UnknownLicence", unknown)
    refused(lic.functions.revoke(unknown, 1), "UnknownLicence", unknown)
    assert_reverts(lic.functions.getLicence(unknown), "UnknownLicence", unknown, sender=issuer, via=("call",))
    # the refusals changed nothing
    assert [lic.functions.statusOf(i[0]).call() for i in (a, b, c)] == [Status.Valid, Status.Suspended, Status.Revoked]


@pytest.mark.parametrize("who", ["outsider", "market_operator", "market_reviewer", "approval_operator"])
def test_every_lifecycle_write_is_refused_without_the_issuer_role(lic, people, who) -> None:
    target = item("SPE")
    issue(lic, people, [target])
    account = people[who]
    for fn in (lic.functions.suspend(target[0], 1), lic.functions.reinstate(target[0]),
               lic.functions.revoke(target[0], 1), lic.functions.renew(target[0], doc("SPE-2"), item("SPE-2"))):
        assert_reverts(fn, "MissingRole", account, ISSUER, sender=account)


@pytest.mark.parametrize("who, dept", [("health_issuer", "HEALTH"), ("ip_issuer", "IP")])
def test_every_lifecycle_write_is_refused_to_another_department(lic, people, who, dept) -> None:
    dept = code(dept)
    target = item("SPF")
    issue(lic, people, [target])
    send(lic.functions.suspend(target[0], 1), people["market_issuer"])  # so reinstate is a valid move
    account = people[who]
    for fn in (lic.functions.suspend(target[0], 1), lic.functions.reinstate(target[0]),
               lic.functions.revoke(target[0], 1), lic.functions.renew(target[0], doc("SPF-2"), item("SPF-2"))):
        assert_reverts(fn, "NotIssuingDepartment", target[0], dept, sender=account)
    assert lic.functions.statusOf(target[0]).call() == Status.Suspended


# ---------------------------------------------------------------- time


def test_expiry_and_not_yet_valid_by_time_travel(w3, lic, people) -> None:
    t = now(w3)
    expiring = item("SPG", valid_from=t, valid_until=t + 1000)
    future = item("SPH", valid_from=t + 500, valid_until=t + 5000)
    forever = item("SPI", valid_from=t, valid_until=0)
    issue(lic, people, [expiring, future, forever])
    assert [lic.functions.statusOf(i[0]).call() for i in (expiring, future, forever)] == [
        Status.Valid, Status.NotYetValid, Status.Valid]

    time_travel(w3, 600)
    assert [lic.functions.statusOf(i[0]).call() for i in (expiring, future, forever)] == [
        Status.Valid, Status.Valid, Status.Valid]

    time_travel(w3, 1000)
    assert [lic.functions.statusOf(i[0]).call() for i in (expiring, future, forever)] == [
        Status.Expired, Status.Valid, Status.Valid]
    # expiry is not revocation: the document store view is unchanged (statusOf tells the date)
    assert not lic.functions.isRevoked(expiring[3]).call()
    # expiry outranks suspension
    send(lic.functions.suspend(expiring[0], 1), people["market_issuer"])
    assert lic.functions.statusOf(expiring[0]).call() == Status.Expired

    time_travel(w3, 10_000)
    assert lic.functions.statusOf(future[0]).call() == Status.Expired
    # an expired licence can be renewed
    renewed = item("SPH-2", valid_from=now(w3), valid_until=now(w3) + 10_000)
    send(lic.functions.renew(future[0], renewed[3], renewed), people["market_issuer"])
    assert lic.functions.statusOf(future[0]).call() == Status.Superseded
    assert lic.functions.statusOf(renewed[0]).call() == Status.Valid


# ---------------------------------------------------------------- OpenAttestation view of a real batch


def test_oa_verifier_view_of_a_five_licence_batch(lic, people) -> None:
    items = [item(f"SPJ{n}") for n in range(5)]
    _, root, layers = issue(lic, people, items)
    proofs = [oa_proof(layers, n) for n in range(5)]
    assert [len(p) for p in proofs] == [3, 3, 3, 3, 1]  # the fifth leaf is promoted twice
    assert [oa_verdict(lic, i[3], p) for i, p in zip(items, proofs)] == ["valid"] * 5
    send(lic.functions.suspend(items[4][0], 1), people["market_issuer"])
    send(lic.functions.revoke(items[0][0], 1), people["market_issuer"])
    assert [oa_verdict(lic, i[3], p) for i, p in zip(items, proofs)] == [
        "revoked", "valid", "valid", "valid", "revoked"]
    assert oa_verdict(lic, doc("never issued"), []) == "not issued"
    assert to_checksum_address(lic.functions.getBatch(root).call()[4]) == people["market_issuer"]
