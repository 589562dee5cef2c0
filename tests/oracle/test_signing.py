"""EIP-712 attestation digest and signature, checked against a by-hand construction with eth_abi + keccak."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from eth_abi import encode
from eth_account import Account
from eth_keys import keys
from eth_utils import keccak, to_checksum_address

from oracle import signing
from oracle.adapters import parse_bytes
from oracle.attestations import message_for, messages
from oracle.facts import TaxSummary, value_hash
from oracle.keyed import subject_hash

KEY = b"alliance-test-secret"
USCC = "91350100M000100Y43"
CHAIN_ID = 20260101
CONTRACT = "0x00000000000000000000000000000000000000aa"
SOURCE = bytes.fromhex("ab" * 32)


def golden_message() -> dict:
    fact = TaxSummary(uscc=USCC, year=2025, tax_paid=12345678, tax_credit_rating="A", revenue=987654321)
    return signing.attestation_message("TAX_SUMMARY", subject_hash(KEY, USCC), value_hash(fact), 1767225600,
                                       SOURCE.hex(), 42)


def by_hand_digest(message: dict) -> bytes:
    domain_type = b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    separator = keccak(encode(["bytes32", "bytes32", "bytes32", "uint256", "address"],
                              [keccak(domain_type), keccak(b"AllianceLedgerOracle"), keccak(b"1"), CHAIN_ID,
                               CONTRACT]))
    type_hash = keccak(b"Attestation(bytes32 dataType,bytes32 subject,bytes32 valueHash,uint64 observedAt,"
                       b"bytes32 sourceDigest,uint32 sourceLine)")
    struct = keccak(encode(["bytes32", "bytes32", "bytes32", "bytes32", "uint64", "bytes32", "uint32"],
                           [type_hash, b"TAX_SUMMARY".ljust(32, b"\0"), message["subject"], message["valueHash"],
                            message["observedAt"], message["sourceDigest"], message["sourceLine"]]))
    return keccak(b"\x19\x01" + separator + struct)


def test_message_fields():
    message = golden_message()
    assert message["dataType"] == b"TAX_SUMMARY" + b"\0" * 21
    assert message["sourceDigest"] == SOURCE and message["observedAt"] == 1767225600 and message["sourceLine"] == 42
    assert signing.message_to_json(message)["subject"] == "0x" + subject_hash(KEY, USCC).hex()


def test_digest_matches_by_hand_construction_and_golden():
    domain = signing.domain(CHAIN_ID, CONTRACT)
    assert domain["verifyingContract"] == to_checksum_address(CONTRACT)
    digest = signing.digest(domain, golden_message())
    assert digest == by_hand_digest(golden_message())
    assert digest.hex() == "160ea3374853e6c3ed61b7544b472abe8d915f45262555ad6e508201968c3fa9"
    assert signing.struct_hash(golden_message()).hex() == \
        "c79b9b2ac3b91f917a6e0a59d6345dcab830505fd3bbf5e0741ac601f6a4e034"


def test_domain_binds_chain_and_contract():
    message = golden_message()
    base = signing.digest(signing.domain(CHAIN_ID, CONTRACT), message)
    assert signing.digest(signing.domain(CHAIN_ID + 1, CONTRACT), message) != base
    assert signing.digest(signing.domain(CHAIN_ID, "0x" + "bb" * 20), message) != base


def test_signature_is_65_bytes_v_27_28_and_recovers():
    account = Account.from_key("0x" + "11" * 32)
    domain = signing.domain(CHAIN_ID, CONTRACT)
    signature = signing.sign(account, domain, golden_message())
    assert len(signature) == 65 and signature[64] in (27, 28)
    assert signature.hex() == ("7f0a338c412e7bf8742702a0fad2126e0e9e8a945fb0ad6e4c7855cd811e9a92"
                               "3538e4763ac531de718bc3c77469f60bc3a3f93fa602036e34ca6a1d0f2b8d0f1c")
    r, s, v = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big"), signature[64]
    public = keys.Signature(vrs=(v - 27, r, s)).recover_public_key_from_msg_hash(by_hand_digest(golden_message()))
    assert public.to_checksum_address() == account.address == signing.recover(domain, golden_message(), signature)


def test_message_validation():
    with pytest.raises(ValueError):
        signing.attestation_message("TAX_SUMMARY", b"\0" * 31, b"\0" * 32, 1, b"\0" * 32, 1)
    with pytest.raises(ValueError):
        signing.attestation_message("TAX_SUMMARY", b"\0" * 32, b"\0" * 32, -1, b"\0" * 32, 1)
    with pytest.raises(ValueError):
        signing.attestation_message("TAX_SUMMARY", b"\0" * 32, b"\0" * 32, 1, b"\0" * 32, 2**32)
    with pytest.raises(ValueError):
        signing.attestation_message("TAX_SUMMARY", b"\0" * 32, b"\0" * 32, datetime(2026, 1, 1), b"\0" * 32, 1)
    aware = signing.attestation_message("TAX_SUMMARY", b"\0" * 32, b"\0" * 32,
                                        datetime(2026, 1, 1, tzinfo=timezone.utc), b"\0" * 32, 1)
    assert aware["observedAt"] == 1767225600


def test_messages_from_a_parsed_file():
    raw = ("uscc,year,tax_paid_yuan,tax_credit_rating,revenue_yuan\n"
           f"{USCC},2025,123456.78,A,9876543.21\n").encode()
    result = parse_bytes(raw, "tax.csv")
    (message,) = list(messages(result, KEY, 1767225600))
    assert message == golden_message() | {"sourceDigest": result.source_digest, "sourceLine": 2}
    assert message == message_for(result, result.good[0], KEY, 1767225600)
