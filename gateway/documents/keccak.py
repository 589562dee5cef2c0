"""Keccak-256, Ethereum's (padding 0x01, not NIST SHA3-256's 0x06): of one message, or of many in one call.

* **One message** (:func:`keccak256`, :func:`keccak256_hex`, the constructor :func:`keccak_256`):
  safe-pysha3 (a C extension pinned in requirements.lock), pycryptodome where it is absent.
* **Many messages** (:func:`keccak256_many`, :func:`keccak256_many_hex`, :func:`merkle_parents`):
  the compiled module ``gateway.documents._keccak`` (``_keccak.c``, built by ``pip install`` through
  ``setup.py``, which ``make setup`` runs). Wrapping a batch of OpenAttestation documents hashes one
  short message per salted field, one per document and one per Merkle node; one Python call each
  spends about half its time on the call. The module hashes the whole list in one call, without
  the GIL, and several messages at a time in the vector lanes of the CPU (:data:`LANES`: 8 with
  AVX-512F, 4 with AVX2, else 1). Where the module is not built (a source tree nobody installed),
  the same functions hash one message per call: same results, slower; :data:`LANES` is then 0.
"""

from __future__ import annotations

from collections.abc import Sequence

try:  # safe-pysha3: ~5x pycryptodome for one message
    from sha3 import keccak_256

except ImportError:  # pragma: no cover - fallback when safe-pysha3 is absent
    from Crypto.Hash import keccak as _pycryptodome

    def keccak_256(data: bytes = b""):  # the constructor, as safe-pysha3's (.digest(), .hexdigest())
        return _pycryptodome.new(data=data, digest_bits=256)


__all__ = ["LANES", "keccak256", "keccak256_hex", "keccak256_many", "keccak256_many_hex", "keccak_256",
           "merkle_parents"]


def keccak256(data: bytes) -> bytes:
    """Keccak-256 of ``data`` (32 bytes)."""
    return keccak_256(data).digest()


def keccak256_hex(data: bytes) -> str:
    """Keccak-256 of ``data`` as lowercase hex (no ``0x``)."""
    return keccak_256(data).hexdigest()


try:
    from gateway.documents import _keccak as _native
except ImportError:  # pragma: no cover - exercised by tests/documents/test_keccak.py through _fallback
    _native = None

LANES: int = _native.best_lanes() if _native is not None else 0
"""Messages the compiled module hashes at a time on this CPU (8, 4 or 1); 0 where it is not built."""


# The fallback takes and refuses what the compiled module does, with the same errors.
def _as_list(items: Sequence, not_a_sequence: str) -> list:
    if not isinstance(items, Sequence) or isinstance(items, (str, bytes, bytearray)):
        raise TypeError(not_a_sequence)
    return list(items)


def _fallback_many(items: Sequence[bytes | str], hex: bool = False) -> list:
    messages = []
    for i, item in enumerate(_as_list(items, "keccak256_many: items must be a sequence of bytes or str")):
        if isinstance(item, bytes):
            messages.append(item)
        elif isinstance(item, str):
            messages.append(str.encode(item))  # UnicodeEncodeError for a lone surrogate
        else:
            raise TypeError(f"keccak256_many: item {i} must be bytes or str, got {type(item).__name__}")
    if hex:
        return [keccak_256(m).hexdigest() for m in messages]
    return [keccak_256(m).digest() for m in messages]


def _fallback_parents(layer: Sequence[bytes]) -> list[bytes]:
    layer = _as_list(layer, "merkle_parents: layer must be a sequence of 32-byte bytes")
    for i, node in enumerate(layer):
        if not isinstance(node, bytes) or len(node) != 32:
            raise ValueError(f"merkle_parents: node {i} must be 32 bytes")
    parents = [keccak256(a + b if a <= b else b + a) for a, b in zip(layer[0::2], layer[1::2])]
    if len(layer) % 2:
        parents.append(layer[-1])  # the odd node is carried up unchanged
    return parents


def keccak256_many(items: Sequence[bytes | str]) -> list[bytes]:
    """Keccak-256 of each item (``bytes``, or ``str`` hashed as its UTF-8), in order.

    Raises ``TypeError`` for an item of another type and ``UnicodeEncodeError`` for a ``str``
    that has no UTF-8 (a lone surrogate), as ``str.encode`` does.
    """
    if _native is None:
        return _fallback_many(items)
    return _native.keccak256_many(items)


def keccak256_many_hex(items: Sequence[bytes | str]) -> list[str]:
    """:func:`keccak256_many` as lowercase hex strings (no ``0x``)."""
    if _native is None:
        return _fallback_many(items, hex=True)
    return _native.keccak256_many(items, hex=True)


def merkle_parents(layer: Sequence[bytes]) -> list[bytes]:
    """The next layer of an OpenAttestation Merkle tree: ``keccak256(min(a, b) + max(a, b))`` of each
    pair of 32-byte nodes, the last node of an odd layer carried up unchanged. ``ValueError`` if a
    node is not 32 bytes."""
    if _native is None:
        return _fallback_parents(layer)
    return _native.merkle_parents(layer)
