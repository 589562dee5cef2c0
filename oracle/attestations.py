"""From parsed source lines to Attestation messages (pure: no chain, no keys but the HMAC key)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from oracle.adapters.base import ParsedLine, ParseResult
from oracle.facts import value_hash
from oracle.keyed import subject_hash
from oracle.signing import attestation_message


def message_for(result: ParseResult, line: ParsedLine, hmac_key: bytes, observed_at: int | datetime) -> dict[str, Any]:
    """The Attestation of one good line of ``result``: subject from its USCC, value hash of its fact,
    the file's digest and the line's number."""
    return attestation_message(result.data_type, subject_hash(hmac_key, line.fact.uscc), value_hash(line.fact),
                               observed_at, result.source_digest, line.line_no)


def messages(result: ParseResult, hmac_key: bytes, observed_at: int | datetime) -> Iterator[dict[str, Any]]:
    """Attestations of every good line, in file order."""
    for line in result.good:
        yield message_for(result, line, hmac_key, observed_at)
