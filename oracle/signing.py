"""EIP-712 typed data for oracle attestations, as the OracleHub contract verifies them.

Domain ``EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)`` with
name ``AllianceLedgerOracle`` and version ``1``; primary type::

    Attestation(bytes32 dataType,bytes32 subject,bytes32 valueHash,uint64 observedAt,
                bytes32 sourceDigest,uint32 sourceLine)

(one line, no spaces after commas, in the type string).

* ``dataType``: the ASCII code (e.g. ``TAX_SUMMARY``) right-padded with zero bytes;
* ``subject``: :func:`oracle.keyed.subject_hash` of the enterprise's USCC;
* ``valueHash``: :func:`oracle.facts.value_hash` of the fact;
* ``observedAt``: unix seconds when the source said so (export time);
* ``sourceDigest``: SHA-256 of the source file's raw bytes; ``sourceLine``: the record's line in it.

Messages hold bytes32 values as ``bytes`` and integers as ``int``; :func:`message_to_json` gives
the ``0x``-hex form for APIs. Signing uses ``eth_account.messages.encode_typed_data`` and
``LocalAccount.sign_message`` (signature r‖s‖v, 65 bytes, v ∈ {27, 28}).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eth_abi import encode
from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from oracle.facts import data_type_bytes32

DOMAIN_NAME = "AllianceLedgerOracle"
DOMAIN_VERSION = "1"
PRIMARY_TYPE = "Attestation"
ATTESTATION_TYPE = ("Attestation(bytes32 dataType,bytes32 subject,bytes32 valueHash,uint64 observedAt,"
                    "bytes32 sourceDigest,uint32 sourceLine)")
ATTESTATION_TYPEHASH = keccak(text=ATTESTATION_TYPE)
DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
ATTESTATION_FIELDS = [
    {"name": "dataType", "type": "bytes32"},
    {"name": "subject", "type": "bytes32"},
    {"name": "valueHash", "type": "bytes32"},
    {"name": "observedAt", "type": "uint64"},
    {"name": "sourceDigest", "type": "bytes32"},
    {"name": "sourceLine", "type": "uint32"},
]


def _bytes32(name: str, value: bytes | str) -> bytes:
    if isinstance(value, str):
        text = value[2:] if value.startswith(("0x", "0X")) else value
        try:
            value = bytes.fromhex(text)
        except ValueError:
            raise ValueError(f"{name} must be 32 bytes or their hex") from None
    if not isinstance(value, (bytes, bytearray)) or len(value) != 32:
        raise ValueError(f"{name} must be 32 bytes")
    return bytes(value)


def _uint(name: str, value: int, bits: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**bits:
        raise ValueError(f"{name} must be an integer in [0, 2**{bits})")
    return value


def domain(chain_id: int, verifying_contract: str) -> dict[str, Any]:
    """The EIP-712 domain of the OracleHub at ``verifying_contract`` on chain ``chain_id``."""
    return {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": _uint("chainId", chain_id, 256),
            "verifyingContract": to_checksum_address(verifying_contract)}


def attestation_message(data_type: str | bytes, subject: bytes | str, value_hash: bytes | str,
                        observed_at: int | datetime, source_digest: bytes | str, source_line: int) -> dict[str, Any]:
    """An Attestation message; ``data_type`` is the ASCII code or its bytes32, ``observed_at`` unix
    seconds or an aware datetime, hashes bytes or hex (a SHA-256 hex digest is fine)."""
    if isinstance(observed_at, datetime):
        if observed_at.tzinfo is None:
            raise ValueError("observed_at must be timezone-aware")
        observed_at = int(observed_at.timestamp())
    return {
        "dataType": data_type_bytes32(data_type) if isinstance(data_type, str) else _bytes32("dataType", data_type),
        "subject": _bytes32("subject", subject),
        "valueHash": _bytes32("valueHash", value_hash),
        "observedAt": _uint("observedAt", observed_at, 64),
        "sourceDigest": _bytes32("sourceDigest", source_digest),
        "sourceLine": _uint("sourceLine", source_line, 32),
    }


def typed_data(domain_data: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    """The full EIP-712 structure (``types``, ``primaryType``, ``domain``, ``message``), as wallets take it."""
    return {"types": {"EIP712Domain": DOMAIN_FIELDS, PRIMARY_TYPE: ATTESTATION_FIELDS},
            "primaryType": PRIMARY_TYPE, "domain": dict(domain_data), "message": dict(message)}


def signable(domain_data: dict[str, Any], message: dict[str, Any]) -> SignableMessage:
    """The EIP-191 version 0x01 signable message."""
    return encode_typed_data(full_message=typed_data(domain_data, message))


def digest(domain_data: dict[str, Any], message: dict[str, Any]) -> bytes:
    """keccak256(0x19 0x01 ‖ domainSeparator ‖ hashStruct(message)) — what the contract recovers from."""
    s = signable(domain_data, message)
    return keccak(b"\x19" + s.version + s.header + s.body)


def struct_hash(message: dict[str, Any]) -> bytes:
    """hashStruct(Attestation): independent of chain and contract, a natural idempotency key."""
    m = attestation_message(message["dataType"], message["subject"], message["valueHash"], message["observedAt"],
                            message["sourceDigest"], message["sourceLine"])
    return keccak(ATTESTATION_TYPEHASH + encode(
        ["bytes32", "bytes32", "bytes32", "uint64", "bytes32", "uint32"],
        [m["dataType"], m["subject"], m["valueHash"], m["observedAt"], m["sourceDigest"], m["sourceLine"]]))


def sign(account: LocalAccount, domain_data: dict[str, Any], message: dict[str, Any]) -> bytes:
    """The attester's signature: r ‖ s ‖ v, 65 bytes, v ∈ {27, 28}."""
    signature = bytes(account.sign_message(signable(domain_data, message)).signature)
    assert len(signature) == 65 and signature[64] in (27, 28)
    return signature


def recover(domain_data: dict[str, Any], message: dict[str, Any], signature: bytes) -> str:
    """The checksummed address that produced ``signature``."""
    return Account.recover_message(signable(domain_data, message), signature=signature)


def message_to_json(message: dict[str, Any]) -> dict[str, Any]:
    """bytes values as ``0x`` hex, for JSON APIs."""
    return {k: "0x" + v.hex() if isinstance(v, (bytes, bytearray)) else v for k, v in message.items()}
