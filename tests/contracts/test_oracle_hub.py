"""OracleHub on eth-tester: EIP-712 attestations of off-chain facts from their one authoritative
source department (一数一源), M-of-N signature quorums accumulated across submits, every refusal
with its error and arguments, latest-fact ordering, batch ingestion, and governance rebinding a
data type's source."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import logging
from enum import IntEnum
from typing import Any

import pytest
from eth_abi import encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from chain.alliance import DEFAULT_ALLIANCE_FILE, AllianceConfigError, load_alliance, parse_alliance
from oracle.facts import FACT_TYPES
from tests.contracts.conftest import (
    GOVERNOR,
    ISSUER,
    MARKET,
    ORACLE,
    TAX,
    assert_reverts,
    bootstrap_registry,
    code,
    deploy_contract,
    events,
    send,
    time_travel,
)

HRSS = code("HRSS")
ENTERPRISE_REGISTRY = code("ENTERPRISE_REGISTRY")
TAX_SUMMARY = code("TAX_SUMMARY")
BANK_RETURN = code("BANK_RETURN")  # never bound
SUBJECT_KEY = b"alliance test secret"  # the alliance's HMAC key for USCCs (test value)
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
ZERO = bytes(32)


class Action(IntEnum):  # AllianceRegistry.Action (appended at the end)
    RemoveMember = 4
    SetMemberRoles = 5
    SetDataSource = 8


# ---------------------------------------------------------------- people and keys

# Signers never send transactions: local keys registered as members. Relays (callers) are eth-tester accounts.
KEYS = {name: keccak(text=f"oracle hub test key {name}") for name in
        ("market_1", "market_2", "market_3", "market_clerk", "tax_1", "tax_2", "stranger")}
SIGNERS = {name: Account.from_key(key).address for name, key in KEYS.items()}


@pytest.fixture(scope="module")
def people(accounts: list[str]) -> dict[str, str]:
    names = ["admin", "market_relay", "tax_relay", "hrss_governor", "outsider"]
    return dict(zip(names, accounts))


@pytest.fixture(scope="module")
def module_contracts(w3, people) -> dict[str, Any]:
    """A sealed registry (threshold 1: any governor's proposal executes at once) with
    ENTERPRISE_REGISTRY sourced from MARKET (2 of its 3 oracle members) and TAX_SUMMARY from TAX
    (1 of 2), and the OracleHub reading it."""
    departments = [
        (MARKET, "市场监督管理局", "Market Regulation", GOVERNOR | ISSUER | ORACLE),
        (TAX, "税务局", "Taxation", GOVERNOR | ORACLE),
        (HRSS, "人力资源和社会保障局", "Human Resources and Social Security", GOVERNOR),
    ]
    members = [
        (people["market_relay"], MARKET, GOVERNOR | ORACLE),
        (SIGNERS["market_1"], MARKET, ORACLE),
        (SIGNERS["market_2"], MARKET, ORACLE),
        (SIGNERS["market_3"], MARKET, ORACLE | ISSUER),
        (SIGNERS["market_clerk"], MARKET, ISSUER),  # in the source department, but no ORACLE
        (people["tax_relay"], TAX, GOVERNOR | ORACLE),
        (SIGNERS["tax_1"], TAX, ORACLE),
        (SIGNERS["tax_2"], TAX, ORACLE),
        (people["hrss_governor"], HRSS, GOVERNOR),
    ]
    sources = [(ENTERPRISE_REGISTRY, MARKET, 2), (TAX_SUMMARY, TAX, 1)]
    registry = bootstrap_registry(w3, people["admin"], departments, members, [], threshold=1, data_sources=sources)
    hub = deploy_contract(w3, "OracleHub", registry.address, sender=people["admin"])
    return {"registry": registry, "hub": hub}


@pytest.fixture
def reg(module_contracts):
    return module_contracts["registry"]


@pytest.fixture
def hub(module_contracts):
    return module_contracts["hub"]


# ---------------------------------------------------------------- attestations and EIP-712 in Python

ATTESTATION_FIELDS = [
    {"name": "dataType", "type": "bytes32"},
    {"name": "subject", "type": "bytes32"},
    {"name": "valueHash", "type": "bytes32"},
    {"name": "observedAt", "type": "uint64"},
    {"name": "sourceDigest", "type": "bytes32"},
    {"name": "sourceLine", "type": "uint32"},
]
TYPE_STRING = ("Attestation(bytes32 dataType,bytes32 subject,bytes32 valueHash,uint64 observedAt,"
               "bytes32 sourceDigest,uint32 sourceLine)")


def subject_of(uscc: str) -> bytes:
    return hmac.new(SUBJECT_KEY, uscc.encode(), hashlib.sha256).digest()


def value_hash(value: dict) -> bytes:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return keccak(canonical.encode())


ACME = subject_of("91310000MA1FL0001X")
BETA = subject_of("91310000MA1FL0002Y")
SOURCE_FILE = hashlib.sha256(b"enterprise registry export 2024-06-30").digest()


def attestation(data_type: bytes = ENTERPRISE_REGISTRY, subject: bytes = ACME, value: dict | None = None,
                observed_at: int = 1_700_000_000, line: int = 7) -> tuple:
    value = value if value is not None else {"status": "存续", "capital": 1_000_000}
    return (data_type, subject, value_hash(value), observed_at, SOURCE_FILE, line)


def typed_message(w3, hub, att: tuple) -> dict:
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Attestation": ATTESTATION_FIELDS,
        },
        "primaryType": "Attestation",
        "domain": {"name": "AllianceLedgerOracle", "version": "1", "chainId": w3.eth.chain_id,
                   "verifyingContract": hub.address},
        "message": dict(zip((f["name"] for f in ATTESTATION_FIELDS), att)),
    }


def digest_py(w3, hub, att: tuple) -> bytes:
    signable = encode_typed_data(full_message=typed_message(w3, hub, att))
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def sign(w3, hub, att: tuple, *who: str) -> list[bytes]:
    """65-byte (r, s, v) signatures of the attestation's EIP-712 digest by the named signers."""
    return [bytes(Account.sign_typed_data(KEYS[name], full_message=typed_message(w3, hub, att)).signature)
            for name in who]


def split(sig: bytes) -> tuple[int, int, int]:
    return int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big"), sig[64]


def join(r: int, s: int, v: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])


def latest(hub, data_type: bytes, subject: bytes) -> dict:
    value, observed_at, digest, accepted_at = hub.functions.latestFact(data_type, subject).call()
    return {"valueHash": value, "observedAt": observed_at, "digest": digest, "acceptedAt": accepted_at}


def block_time(w3, receipt) -> int:
    return w3.eth.get_block(receipt.blockNumber).timestamp


def set_data_source(reg, governor: str, data_type: bytes, dept: bytes, quorum: int):
    """Governance (threshold 1): the proposal executes at once."""
    data = encode(["bytes32", "bytes32", "uint8"], [data_type, dept, quorum])
    receipt = send(reg.functions.propose(Action.SetDataSource, data), governor)
    assert events(receipt, reg, "ProposalExecuted"), "the proposal did not execute"
    return receipt


# ================================================================ EIP-712 encoding


def test_domain_typehash_and_digest_match_python(w3, hub, reg):
    f = hub.functions
    assert f.registry().call() == reg.address
    assert f.ATTESTATION_TYPEHASH().call() == keccak(text=TYPE_STRING)
    assert f.MAX_CLOCK_SKEW().call() == 300
    domain = keccak(encode(
        ["bytes32", "bytes32", "bytes32", "uint256", "address"],
        [keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
         keccak(text="AllianceLedgerOracle"), keccak(text="1"), w3.eth.chain_id, hub.address],
    ))
    assert f.domainSeparator().call() == domain
    for att in (attestation(), attestation(TAX_SUMMARY, BETA, {"paid": "12.50"}, 1_690_000_000, 2**32 - 1)):
        expected = digest_py(w3, hub, att)
        assert f.digestOf(att).call() == expected
        # and by hand: \x19\x01 ‖ domain ‖ hashStruct
        struct_hash = keccak(encode(["bytes32", "bytes32", "bytes32", "bytes32", "uint64", "bytes32", "uint32"],
                                    [keccak(text=TYPE_STRING), *att]))
        assert keccak(b"\x19\x01" + domain + struct_hash) == expected
    # every field is covered by the digest
    base = attestation()
    digests = {f.digestOf(base).call()}
    for i, changed in enumerate([TAX_SUMMARY, BETA, keccak(b"x"), base[3] + 1, keccak(b"y"), base[5] + 1]):
        att = list(base)
        att[i] = changed
        digests.add(f.digestOf(tuple(att)).call())
    assert len(digests) == 7


def test_a_hub_at_another_address_has_another_domain(w3, hub, reg, people):
    other = deploy_contract(w3, "OracleHub", reg.address, sender=people["admin"])
    att = attestation()
    assert other.functions.domainSeparator().call() != hub.functions.domainSeparator().call()
    assert other.functions.digestOf(att).call() == digest_py(w3, other, att) != digest_py(w3, hub, att)
    # a signature made for one hub does not count on the other: it recovers to another address
    sig = sign(w3, hub, attestation(TAX_SUMMARY), "tax_1")
    assert_reverts(other.functions.submit(attestation(TAX_SUMMARY), sig), "NotSourceMember",
                   sender=people["tax_relay"])


# ================================================================ acceptance


def test_quorum_one_accepts_at_once(w3, hub, people):
    att = attestation(TAX_SUMMARY, ACME, {"year": 2023, "paid": "15234.00"}, 1_700_000_000, 42)
    digest = digest_py(w3, hub, att)
    f = hub.functions
    assert not f.isAccepted(digest).call() and f.signatureCount(digest).call() == 0
    r = send(f.submit(att, sign(w3, hub, att, "tax_1")), people["tax_relay"])
    assert events(r, hub, "AttestationSigned") == [{"digest": digest, "signer": SIGNERS["tax_1"], "count": 1}]
    assert events(r, hub, "AttestationAccepted") == [{
        "digest": digest, "dataType": TAX_SUMMARY, "subject": ACME, "valueHash": att[2], "observedAt": att[3],
        "sourceDigest": SOURCE_FILE, "sourceLine": 42, "department": TAX,
    }]
    assert events(r, hub, "LatestFactUpdated") == [{
        "dataType": TAX_SUMMARY, "subject": ACME, "digest": digest, "valueHash": att[2], "observedAt": att[3],
    }]
    assert f.isAccepted(digest).call()
    assert f.signatureCount(digest).call() == 1 and f.signingDepartment(digest).call() == TAX
    assert f.hasSigned(digest, SIGNERS["tax_1"]).call() and not f.hasSigned(digest, SIGNERS["tax_2"]).call()
    assert latest(hub, TAX_SUMMARY, ACME) == {"valueHash": att[2], "observedAt": att[3], "digest": digest,
                                              "acceptedAt": block_time(w3, r)}
    assert latest(hub, TAX_SUMMARY, BETA) == {"valueHash": ZERO, "observedAt": 0, "digest": ZERO, "acceptedAt": 0}


def test_quorum_two_of_three_accumulates_across_submits(w3, hub, people):
    att = attestation()
    digest = digest_py(w3, hub, att)
    f = hub.functions
    relay = people["market_relay"]
    # one signature: recorded, not accepted
    r = send(f.submit(att, sign(w3, hub, att, "market_1")), relay)
    assert events(r, hub, "AttestationSigned") == [{"digest": digest, "signer": SIGNERS["market_1"], "count": 1}]
    assert events(r, hub, "AttestationAccepted") == [] and events(r, hub, "LatestFactUpdated") == []
    assert not f.isAccepted(digest).call() and f.signatureCount(digest).call() == 1
    assert f.hasSigned(digest, SIGNERS["market_1"]).call()
    assert latest(hub, ENTERPRISE_REGISTRY, ACME)["digest"] == ZERO
    # the same signer again (a fresh signature of the same digest): refused, in a later call or the same one
    assert_reverts(f.submit(att, sign(w3, hub, att, "market_1")), "DuplicateSigner", SIGNERS["market_1"], sender=relay)
    assert_reverts(f.submit(att, sign(w3, hub, att, "market_2", "market_2")), "DuplicateSigner", SIGNERS["market_2"],
                   sender=relay)
    # a second member of the source department, relayed by another oracle member: accepted
    r = send(f.submit(att, sign(w3, hub, att, "market_2")), people["tax_relay"])
    assert events(r, hub, "AttestationSigned") == [{"digest": digest, "signer": SIGNERS["market_2"], "count": 2}]
    accepted = events(r, hub, "AttestationAccepted")
    assert len(accepted) == 1 and accepted[0]["digest"] == digest and accepted[0]["department"] == MARKET
    assert f.isAccepted(digest).call() and f.signatureCount(digest).call() == 2
    assert latest(hub, ENTERPRISE_REGISTRY, ACME)["digest"] == digest
    # replay after acceptance, whoever signs
    for who in ("market_3", "market_1"):
        assert_reverts(f.submit(att, sign(w3, hub, att, who)), "AlreadyAccepted", digest, sender=relay)
    assert_reverts(f.submitMany([att], [sign(w3, hub, att, "market_3")]), "AlreadyAccepted", digest, sender=relay)


def test_quorum_reached_in_one_submit_with_all_signatures(w3, hub, people):
    att = attestation(subject=BETA)
    digest = digest_py(w3, hub, att)
    r = send(hub.functions.submit(att, sign(w3, hub, att, "market_3", "market_1", "market_2")), people["market_relay"])
    signed = events(r, hub, "AttestationSigned")
    assert [(e["signer"], e["count"]) for e in signed] == [
        (SIGNERS["market_3"], 1), (SIGNERS["market_1"], 2), (SIGNERS["market_2"], 3)]
    assert [e["digest"] for e in events(r, hub, "AttestationAccepted")] == [digest]
    assert hub.functions.signatureCount(digest).call() == 3


def test_older_observation_is_accepted_but_does_not_replace_the_latest(w3, hub, people):
    f, relay = hub.functions, people["tax_relay"]
    newer = attestation(TAX_SUMMARY, ACME, {"paid": "200"}, observed_at=1_700_000_000)
    older = attestation(TAX_SUMMARY, ACME, {"paid": "100"}, observed_at=1_600_000_000)
    send(f.submit(newer, sign(w3, hub, newer, "tax_1")), relay)
    r = send(f.submit(older, sign(w3, hub, older, "tax_2")), relay)
    assert f.isAccepted(digest_py(w3, hub, older)).call()
    assert len(events(r, hub, "AttestationAccepted")) == 1  # in history
    assert events(r, hub, "LatestFactUpdated") == []
    assert latest(hub, TAX_SUMMARY, ACME)["digest"] == digest_py(w3, hub, newer)
    # the same observation time with another value does not replace it either
    same_time = attestation(TAX_SUMMARY, ACME, {"paid": "300"}, observed_at=1_700_000_000)
    r = send(f.submit(same_time, sign(w3, hub, same_time, "tax_1")), relay)
    assert events(r, hub, "LatestFactUpdated") == []
    assert latest(hub, TAX_SUMMARY, ACME)["valueHash"] == newer[2]
    # a newer one does
    newest = attestation(TAX_SUMMARY, ACME, {"paid": "400"}, observed_at=1_700_000_001)
    r = send(f.submit(newest, sign(w3, hub, newest, "tax_2")), relay)
    assert latest(hub, TAX_SUMMARY, ACME) == {"valueHash": newest[2], "observedAt": newest[3],
                                              "digest": digest_py(w3, hub, newest), "acceptedAt": block_time(w3, r)}
    # facts are kept per data type and per subject
    assert latest(hub, TAX_SUMMARY, BETA)["digest"] == ZERO
    assert latest(hub, ENTERPRISE_REGISTRY, ACME)["digest"] == ZERO


def test_submit_many_ingests_three_facts_in_one_transaction(w3, hub, people):
    f, relay = hub.functions, people["tax_relay"]
    items = [
        attestation(TAX_SUMMARY, ACME, {"paid": "1"}, line=1),
        attestation(TAX_SUMMARY, BETA, {"paid": "2"}, line=2),
        attestation(ENTERPRISE_REGISTRY, ACME, {"status": "存续"}, line=3),
    ]
    signatures = [sign(w3, hub, items[0], "tax_1"), sign(w3, hub, items[1], "tax_1"),
                  sign(w3, hub, items[2], "market_1", "market_2")]
    block_before = w3.eth.block_number
    r = send(f.submitMany(items, signatures), relay)
    assert w3.eth.block_number == block_before + 1
    digests = [digest_py(w3, hub, a) for a in items]
    assert [e["digest"] for e in events(r, hub, "AttestationAccepted")] == digests
    assert [e["sourceLine"] for e in events(r, hub, "AttestationAccepted")] == [1, 2, 3]
    assert [(e["digest"], e["count"]) for e in events(r, hub, "AttestationSigned")] == [
        (digests[0], 1), (digests[1], 1), (digests[2], 1), (digests[2], 2)]
    assert all(f.isAccepted(d).call() for d in digests)
    assert latest(hub, TAX_SUMMARY, BETA)["digest"] == digests[1]
    assert latest(hub, ENTERPRISE_REGISTRY, ACME)["digest"] == digests[2]


def test_submit_many_is_all_or_nothing_and_checks_lengths(w3, hub, people):
    f, relay = hub.functions, people["tax_relay"]
    good = attestation(TAX_SUMMARY, ACME)
    bad = attestation(TAX_SUMMARY, ZERO)
    assert_reverts(f.submitMany([good, bad], [sign(w3, hub, good, "tax_1"), sign(w3, hub, bad, "tax_1")]),
                   "ZeroSubject", sender=relay)
    assert not f.isAccepted(digest_py(w3, hub, good)).call()
    assert_reverts(f.submitMany([good], []), "LengthMismatch", sender=relay)
    assert_reverts(f.submitMany([good], [sign(w3, hub, good, "tax_1")] * 2), "LengthMismatch", sender=relay)
    assert_reverts(f.submitMany([], []), "EmptyBatch", sender=relay)
    # the same attestation twice in one batch: the second is a replay
    assert_reverts(f.submitMany([good, good], [sign(w3, hub, good, "tax_1"), sign(w3, hub, good, "tax_2")]),
                   "AlreadyAccepted", digest_py(w3, hub, good), sender=relay)


# ================================================================ refusals


def test_caller_without_the_oracle_role_is_refused(w3, hub, people):
    att = attestation(TAX_SUMMARY)
    sigs = sign(w3, hub, att, "tax_1")
    for caller in (people["hrss_governor"], people["outsider"], people["admin"]):
        assert_reverts(hub.functions.submit(att, sigs), "MissingRole", caller, ORACLE, sender=caller)
        assert_reverts(hub.functions.submitMany([att], [sigs]), "MissingRole", caller, ORACLE, sender=caller)
    assert not hub.functions.isAccepted(digest_py(w3, hub, att)).call()


def test_signer_outside_the_source_department_is_refused(w3, hub, reg, people):
    f, relay = hub.functions, people["market_relay"]
    att = attestation()  # ENTERPRISE_REGISTRY: MARKET
    # an oracle member of the wrong department
    assert_reverts(f.submit(att, sign(w3, hub, att, "tax_1")), "NotSourceMember", SIGNERS["tax_1"], MARKET,
                   sender=relay)
    # a member of the source department without the oracle role
    assert_reverts(f.submit(att, sign(w3, hub, att, "market_clerk")), "NotSourceMember", SIGNERS["market_clerk"],
                   MARKET, sender=relay)
    # not a member at all
    assert_reverts(f.submit(att, sign(w3, hub, att, "stranger")), "NotSourceMember", SIGNERS["stranger"], MARKET,
                   sender=relay)
    # a valid signature followed by a bad one: the whole submit is refused, nothing is recorded
    assert_reverts(f.submit(att, sign(w3, hub, att, "market_1", "tax_2")), "NotSourceMember", SIGNERS["tax_2"],
                   MARKET, sender=relay)
    assert f.signatureCount(digest_py(w3, hub, att)).call() == 0
    # a member whose oracle role is taken away, or who is removed, no longer signs for its department
    governor = people["market_relay"]
    send(reg.functions.propose(Action.SetMemberRoles, encode(["address", "uint256"], [SIGNERS["market_3"], ISSUER])),
         governor)
    assert_reverts(f.submit(att, sign(w3, hub, att, "market_3")), "NotSourceMember", SIGNERS["market_3"], MARKET,
                   sender=relay)
    send(reg.functions.propose(Action.RemoveMember, encode(["address"], [SIGNERS["market_2"]])), governor)
    assert_reverts(f.submit(att, sign(w3, hub, att, "market_2")), "NotSourceMember", SIGNERS["market_2"], MARKET,
                   sender=relay)


def test_a_tampered_attestation_does_not_verify(w3, hub, people):
    att = attestation(TAX_SUMMARY, ACME, {"paid": "100"})
    forged = attestation(TAX_SUMMARY, ACME, {"paid": "100000"})
    sig = sign(w3, hub, att, "tax_1")
    # the signature recovers to some other address, which is no source member
    (signer, dept) = assert_reverts(hub.functions.submit(forged, sig), "NotSourceMember", sender=people["tax_relay"])
    assert signer != SIGNERS["tax_1"] and dept == TAX


def test_invalid_signatures_are_refused_with_their_index(w3, hub, people):
    f, relay = hub.functions, people["market_relay"]
    att = attestation()
    good, other = sign(w3, hub, att, "market_1", "market_2")
    r, s, v = split(other)
    high_s = join(r, SECP256K1_N - s, 55 - v)  # the malleable twin: ecrecover gives the same signer
    assert Account._recover_hash(digest_py(w3, hub, att), signature=high_s) == SIGNERS["market_2"]
    bad = {
        "high s": high_s,
        "v 29": join(r, s, 29),
        "v 0": join(r, s, v - 27),
        "v 1": join(r, s, 1),
        "64 bytes": other[:64],
        "66 bytes": other + b"\0",
        "empty": b"",
        "zero r": join(0, s, v),
        "r out of range": join(SECP256K1_N, s, v),
    }
    for name, sig in bad.items():
        assert assert_reverts(f.submit(att, [good, sig]), "InvalidSignature", 1, sender=relay) == (1,), name
        assert assert_reverts(f.submit(att, [sig]), "InvalidSignature", 0, sender=relay) == (0,), name
    assert_reverts(f.submitMany([att], [[sig]]), "InvalidSignature", 0, sender=relay)
    assert f.signatureCount(digest_py(w3, hub, att)).call() == 0
    # the canonical form is fine
    send(f.submit(att, [good, other]), relay)
    assert f.isAccepted(digest_py(w3, hub, att)).call()


def test_attestation_fields_are_checked(w3, hub, people):
    f, relay = hub.functions, people["tax_relay"]
    unknown = attestation(BANK_RETURN)
    assert_reverts(f.submit(unknown, sign(w3, hub, unknown, "tax_1")), "UnknownDataType", BANK_RETURN, sender=relay)
    zero_type = attestation(ZERO)
    assert_reverts(f.submit(zero_type, sign(w3, hub, zero_type, "tax_1")), "UnknownDataType", ZERO, sender=relay)
    no_subject = attestation(TAX_SUMMARY, ZERO)
    assert_reverts(f.submit(no_subject, sign(w3, hub, no_subject, "tax_1")), "ZeroSubject", sender=relay)
    no_time = attestation(TAX_SUMMARY, observed_at=0)
    assert_reverts(f.submit(no_time, sign(w3, hub, no_time, "tax_1")), "ZeroObservedAt", sender=relay)
    good = attestation(TAX_SUMMARY)
    assert_reverts(f.submit(good, []), "NoSignatures", sender=relay)

    now = time_travel(w3, 10)
    future = attestation(TAX_SUMMARY, observed_at=now + 3600)
    observed, block_now = assert_reverts(f.submit(future, sign(w3, hub, future, "tax_1")), "FutureObservation",
                                         sender=relay)
    assert observed == now + 3600 and now <= block_now < now + 3600 - 300
    # within the allowed clock skew (300 s after the block time): accepted
    skewed = attestation(TAX_SUMMARY, observed_at=now + 300)
    send(f.submit(skewed, sign(w3, hub, skewed, "tax_1")), relay)
    assert f.isAccepted(digest_py(w3, hub, skewed)).call()


# ================================================================ the source changes


def test_governance_rebinds_a_data_type_to_another_source(w3, hub, reg, people):
    f, relay = hub.functions, people["market_relay"]
    att = attestation(subject=BETA)
    digest = digest_py(w3, hub, att)
    send(f.submit(att, sign(w3, hub, att, "market_1")), relay)  # 1 of MARKET's 2
    assert f.signatureCount(digest).call() == 1

    r = set_data_source(reg, people["tax_relay"], ENTERPRISE_REGISTRY, TAX, 2)
    assert events(r, reg, "DataSourceChanged") == [{"dataType": ENTERPRISE_REGISTRY, "department": TAX, "quorum": 2}]
    assert reg.functions.dataSourceOf(ENTERPRISE_REGISTRY).call() == [TAX, 2]
    # the former source's members are refused now
    assert_reverts(f.submit(att, sign(w3, hub, att, "market_2")), "NotSourceMember", SIGNERS["market_2"], TAX,
                   sender=relay)
    # MARKET's pending signature does not count toward TAX's quorum
    r = send(f.submit(att, sign(w3, hub, att, "tax_1")), relay)
    assert events(r, hub, "AttestationSigned") == [{"digest": digest, "signer": SIGNERS["tax_1"], "count": 1}]
    assert not f.isAccepted(digest).call()
    assert f.signingDepartment(digest).call() == TAX and not f.hasSigned(digest, SIGNERS["market_1"]).call()
    r = send(f.submit(att, sign(w3, hub, att, "tax_2")), relay)
    assert events(r, hub, "AttestationAccepted")[0]["department"] == TAX

    # back to MARKET with quorum 3: three MARKET signatures are needed, the earlier one is gone
    set_data_source(reg, people["tax_relay"], ENTERPRISE_REGISTRY, MARKET, 3)
    other = attestation(subject=ACME)
    send(f.submit(other, sign(w3, hub, other, "market_1", "market_2")), relay)
    assert not f.isAccepted(digest_py(w3, hub, other)).call()
    send(f.submit(other, sign(w3, hub, other, "market_3")), relay)
    assert f.isAccepted(digest_py(w3, hub, other)).call()


def test_quorum_above_the_source_members_accepts_nothing(w3, hub, reg, people):
    set_data_source(reg, people["tax_relay"], TAX_SUMMARY, TAX, 3)  # TAX has 2 signing oracle members + relay
    att = attestation(TAX_SUMMARY)
    send(hub.functions.submit(att, sign(w3, hub, att, "tax_1", "tax_2")), people["tax_relay"])
    assert not hub.functions.isAccepted(digest_py(w3, hub, att)).call()
    assert hub.functions.signatureCount(digest_py(w3, hub, att)).call() == 2


# ================================================================ the alliance file's data sources


def test_default_alliance_binds_the_six_data_sources():
    spec = load_alliance(DEFAULT_ALLIANCE_FILE)
    sources = {ds.code: (ds.source, ds.quorum) for ds in spec.data_sources}
    assert sources == {"ENTERPRISE_REGISTRY": ("MARKET", 1), "TAX_SUMMARY": ("TAX", 1),
                       "SOCIAL_INSURANCE": ("HRSS", 1), "BANK_RETURN": ("FINANCE", 1),
                       "UTILITY_USE": ("DRC", 1), "BANK_FLOW": ("FINANCE", 1)}
    assert sources == {code: (cls.SOURCE, 1) for code, cls in FACT_TYPES.items()}  # the adapters agree
    for ds in spec.data_sources:
        assert ds.name and ds.name_en
        oracles = [m for m in spec.department(ds.source).members if "oracle" in m.roles]
        assert len(oracles) >= ds.quorum, ds.code


def _default_data() -> dict:
    import tomllib

    return tomllib.loads(DEFAULT_ALLIANCE_FILE.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"source": "POLICE"}, "source must be one of the departments"),
        ({"source": "COMMERCE"}, "source department COMMERCE does not hold the oracle role"),
        ({"quorum": 0}, "quorum must be an integer from 1 to 255"),
        ({"quorum": 256}, "quorum must be an integer from 1 to 255"),
        ({"quorum": True}, "quorum must be an integer"),
        ({"quorum": "1"}, "quorum must be an integer"),
        ({"name_en": ""}, "name and name_en are required"),
    ],
)
def test_alliance_data_source_validation(change: dict, message: str):
    data = _default_data()
    data["data_sources"]["TAX_SUMMARY"].update(change)
    with pytest.raises(AllianceConfigError, match=f"data source TAX_SUMMARY: {message}"):
        parse_alliance(data, source="alliance.toml")


def test_alliance_data_source_shapes(caplog):
    data = _default_data()
    bad_code = copy.deepcopy(data)
    bad_code["data_sources"]["tax-summary"] = bad_code["data_sources"].pop("TAX_SUMMARY")
    with pytest.raises(AllianceConfigError, match="tax-summary: code must be"):
        parse_alliance(bad_code)
    not_table = copy.deepcopy(data)
    not_table["data_sources"]["TAX_SUMMARY"] = "TAX"
    with pytest.raises(AllianceConfigError, match="must be a table"):
        parse_alliance(not_table)
    del data["data_sources"]
    assert parse_alliance(data).data_sources == ()
    # a quorum above the department's oracle members is allowed (governance may add members) but logged
    data = _default_data()
    data["data_sources"]["TAX_SUMMARY"]["quorum"] = 2
    with caplog.at_level(logging.WARNING, logger="chain.alliance"):
        spec = parse_alliance(data)
    assert {ds.code: ds.quorum for ds in spec.data_sources}["TAX_SUMMARY"] == 2
    assert "quorum 2 exceeds the 1 oracle member(s) of TAX" in caplog.text


def test_proposal_encoding_for_set_data_source():
    from gateway.services.alliance import ACTIONS, ProposalInputError, encode_proposal

    assert ACTIONS.index("SetDataSource") == Action.SetDataSource
    index, data = encode_proposal("SetDataSource", {"data_type": "TAX_SUMMARY", "department": "TAX", "quorum": 2})
    assert (index, data) == (8, encode(["bytes32", "bytes32", "uint8"], [TAX_SUMMARY, TAX, 2]))
    for params in ({"data_type": "TAX_SUMMARY", "department": "TAX", "quorum": 0},
                   {"data_type": "TAX_SUMMARY", "department": "TAX", "quorum": "2"},
                   {"data_type": "TAX_SUMMARY", "quorum": 1}):
        with pytest.raises(ProposalInputError):
            encode_proposal("SetDataSource", params)
    # the indexes of the existing actions are unchanged
    assert ACTIONS[:8] == ("AddDepartment", "RemoveDepartment", "SetDepartmentRoles", "AddMember", "RemoveMember",
                           "SetMemberRoles", "SetLicenceTypeAuthority", "SetThreshold")


def test_deployed_code_is_the_committed_artifact(w3, hub):
    """No immutables: the deployment check compares the on-chain code with the artifact's runtime code."""
    from chain.artifacts import load

    assert "0x" + bytes(w3.eth.get_code(hub.address)).hex() == load("OracleHub").deployed_bytecode
