"""OpenAttestation v2 documents in pure Python, byte-compatible with ``@govtechsg/open-attestation`` 6.x.

What the JS library does, and so what this module does (read from its ``dist`` sources):

* **salt** (``2.0/salt``): every primitive leaf becomes ``"<uuid4>:<type>:<String(value)>"``
  with type ``string``/``number``/``boolean``/``null``; objects and arrays are recursed into.
  Numbers are printed as JS ``String(number)`` does (``1e+21``, ``1e-7``, ``5`` for ``5.0``).
* **flatten** (``flatley`` 5 with OA's coercion): depth-first over ``Object.keys`` order,
  keys joined with ``.``, array indices as keys; an *empty* object or array is a leaf value
  (``{}``/``[]``) and is not descended into; a key containing ``.`` is an error.
* **digest** (``2.0/digest``): ``keccak256(JSON.stringify({path: value}))`` per flattened
  leaf, plus ``privacy.obfuscatedData``, sorted, then ``keccak256(JSON.stringify(sorted))``.
* **wrap** (``2.0/wrap``): validate against the v2 schema, salt, digest = ``targetHash``;
  ``wrapDocuments`` builds the :class:`~gateway.documents.merkle.MerkleTree` over the target
  hashes. Hashes are lowercase hex without ``0x``. Here a batch's documents of one shape are
  salted and hashed a field at a time across the documents (``_wrap_columns``), the others one
  by one; the result is the same kind of document (only the random salts differ).
* **obfuscate** (``2.0/obfuscate``): ``flatten(lodash.pick(data, paths))`` is hashed into
  ``privacy.obfuscatedData`` (in ``Object.keys`` order of that flattened object, so a
  top-level key like ``"10"`` comes before ``"7.0"``) and ``lodash.unset`` removes each path. The JS then leaves an
  emptied parent object behind as ``{}``, which flattens to a new leaf and breaks the
  document's own signature; it turns an obfuscated array element into a hole that
  serialises as ``null`` (also invalid once the JSON is read back); and it silently ignores
  unknown paths. Here an emptied parent object is removed (the result verifies in both
  implementations, with the same ``obfuscatedData``), while array elements and unknown
  paths raise.
* **getData** / **unsalt**: a value starting with a v4 UUID has ``value[37:]`` JS-``trim()``-ed
  and decoded by its type annotation (so trailing whitespace of a string is lost, as in JS).
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from itertools import chain
from typing import Any

from gateway.documents.keccak import keccak256_hex, keccak256_many, keccak256_many_hex, keccak_256
from gateway.documents.merkle import MerkleError, MerkleTree, gc_paused, verify_proof

__all__ = [
    "SCHEMA_V2",
    "InvalidHexError",
    "InvalidKeyError",
    "MalformedDocumentError",
    "MissingSignatureError",
    "ObfuscationError",
    "OpenAttestationError",
    "SchemaValidationError",
    "UnknownFieldPathError",
    "UnsupportedValueError",
    "default_processes",
    "digest",
    "js_json_stringify",
    "js_number_to_string",
    "obfuscate",
    "salt_data",
    "unsalt",
    "unsalt_field",
    "validate_raw_document",
    "verify_signature",
    "verify_signature_and_unsalt",
    "wrap_document",
    "wrap_documents",
]

SCHEMA_V2 = "https://schema.openattestation.com/2.0/schema.json"


# --------------------------------------------------------------------------- errors
class OpenAttestationError(ValueError):
    """Base class: the input is not something OpenAttestation v2 can process."""


class MalformedDocumentError(OpenAttestationError):
    """A wrapped document does not have the v2 shape (``data`` object, ``signature`` fields, salts)."""


class MissingSignatureError(MalformedDocumentError):
    """A wrapped document has no ``signature``."""


class InvalidHexError(MalformedDocumentError):
    """A hash in ``signature`` or ``privacy`` is not 64 hex characters (without ``0x``)."""


class InvalidKeyError(OpenAttestationError):
    """An object key OpenAttestation refuses (contains ``.``, or is not a string)."""


class UnsupportedValueError(OpenAttestationError):
    """A value that is not JSON (str, int, float, bool, None, list, dict)."""


class SchemaValidationError(OpenAttestationError):
    """A raw document does not satisfy the OpenAttestation v2 schema; ``errors`` lists why."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("invalid OpenAttestation v2 document: " + "; ".join(errors))
        self.errors = errors

    def __reduce__(self):  # so that it crosses a process boundary (wrap_documents' workers) intact
        return type(self), (self.errors,)


class UnknownFieldPathError(OpenAttestationError):
    """A path given to :func:`obfuscate` names no field of the document's data."""


class ObfuscationError(OpenAttestationError):
    """A path that cannot be obfuscated without breaking the document (an array element)."""


# --------------------------------------------------------------------------- JS compatibility
_ARRAY_INDEX = re.compile(r"(?:0|[1-9][0-9]{0,9})\Z")
_MAX_SAFE = 2**53
_SURROGATE = re.compile("[\ud800-\udfff]")
_encode_str = json.encoder.encode_basestring  # JSON.stringify's escapes: \" \\ \b \f \n \r \t, \u00xx
_JS_WS = ("\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
          "\u2028\u2029\u202f\u205f\u3000\ufeff")  # String.prototype.trim's set
_JS_NUMBER = re.compile(r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\Z")
_JS_RADIX = re.compile(r"0(?:[xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)\Z")
# a v4 UUID, any case; the classes spelt out rather than re.I, which matches the same characters
# (checked over every code point) at less than half the cost: it runs once per field when unsalting
_UUID4 = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}\Z")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}\Z")
_DIGITS = frozenset("0123456789")
_DIGIT_AFTER_NUL = re.compile("\0[0-9]")


def _is_array_index(key: str) -> bool:
    return _ARRAY_INDEX.match(key) is not None and int(key) < 4294967295


def _js_keys(obj: dict[str, Any]) -> list[str]:
    """``Object.keys`` order: array-index keys ascending, then the others in insertion order."""
    keys = list(obj)
    try:
        joined = "\0".join(keys)  # cheap check that every key is a str
    except TypeError:
        raise InvalidKeyError(f"object keys must be strings, got {keys!r}") from None
    if joined[:1] not in _DIGITS and _DIGIT_AFTER_NUL.search(joined) is None:
        return keys  # no key starts with a digit (a key holding NUL only costs the slower check below)
    index_keys = [k for k in keys if _is_array_index(k)]
    if not index_keys:
        return keys
    index_keys.sort(key=int)
    numeric = set(index_keys)
    return index_keys + [k for k in keys if k not in numeric]


def js_number_to_string(value: int | float) -> str:
    """``String(value)`` of a JS number (ECMAScript Number::toString, shortest round-trip digits)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UnsupportedValueError(f"not a number: {value!r}")
    if isinstance(value, int):
        if -_MAX_SAFE <= value <= _MAX_SAFE:
            return str(value)
        try:
            value = float(value)  # what JSON.parse would have made of it
        except OverflowError:
            return "Infinity" if value > 0 else "-Infinity"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    sign, digits_t, exp = Decimal(repr(value)).as_tuple()
    digits = "".join(map(str, digits_t)).rstrip("0")
    exp += len(digits_t) - len(digits)
    k = len(digits)
    n = k + exp  # value = 0.digits * 10**n
    if k <= n <= 21:
        out = digits + "0" * (n - k)
    elif 0 < n <= 21:
        out = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        out = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return "-" + out if sign else out


def _js_string_to_number(text: str) -> int | float:
    """JS ``Number(text)``; integral results within 2**53 come back as ``int``."""
    s = text.strip(_JS_WS)
    if not s:
        return 0
    if _JS_RADIX.match(s):
        return int(s, 0)
    if not _JS_NUMBER.match(s):
        return math.nan
    number = float(s.replace("Infinity", "inf"))
    if number.is_integer() and abs(number) <= _MAX_SAFE:
        return int(number)
    return number


def _quote(text: str) -> str:
    """A JSON string literal exactly as ``JSON.stringify`` writes it (non-ASCII kept as is)."""
    if text.isascii() or _SURROGATE.search(text) is None:
        return _encode_str(text)
    # A JS string pairs surrogates; well-formed JSON.stringify escapes the lone ones as \udxxx.
    text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return _SURROGATE.sub(lambda m: "\\u%04x" % ord(m.group()), _encode_str(text))


def js_json_stringify(value: Any) -> str:
    """``JSON.stringify(value)`` for JSON-like Python values (object keys in JS ``Object.keys`` order)."""
    if isinstance(value, str):
        return _quote(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        text = js_number_to_string(value)
        return "null" if text in ("NaN", "Infinity", "-Infinity") else text
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(js_json_stringify(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(_quote(k) + ":" + js_json_stringify(value[k]) for k in _js_keys(value)) + "}"
    raise UnsupportedValueError(f"not a JSON value: {type(value).__name__}")


# --------------------------------------------------------------------------- salting
_UUID_VERSION = bytes((b & 0x0F) | 0x40 for b in range(256))  # byte 6: version 4
_UUID_VARIANT = bytes((b & 0x3F) | 0x80 for b in range(256))  # byte 8: RFC 4122 variant (8, 9, a, b)


_SALTS_PER_CHUNK = 1024


def _salt_chunk(n: int = _SALTS_PER_CHUNK) -> list[str]:
    """``n`` random UUID v4 strings (122 bits each from os.urandom: the salts must be unguessable).

    Formatted in bulk, not one by one: the random bytes are hex-encoded with a space every two
    bytes (``aaaa bbbb cccc dddd eeee ffff gggg hhhh `` per UUID), the three spaces a UUID has no
    hyphen at are deleted with strided slices, the other four become hyphens, and one split cuts
    the string into the ``n`` UUIDs (``aaaabbbb-cccc-dddd-eeee-ffffgggghhhh``).
    """
    raw = bytearray(os.urandom(16 * n))
    raw[6::16] = raw[6::16].translate(_UUID_VERSION)
    raw[8::16] = raw[8::16].translate(_UUID_VARIANT)
    text = bytearray(raw.hex(" ", 2), "ascii")  # 40 characters per UUID with the space appended next
    text.append(32)
    del text[34::40]  # between gggg and hhhh
    del text[29::39]  # between ffff and gggg
    del text[4::38]  # between aaaa and bbbb: now 36 characters and a space per UUID
    dashes = b"-" * n
    text[8::37] = dashes
    text[13::37] = dashes
    text[18::37] = dashes
    text[23::37] = dashes
    return text.decode("ascii").split()


def _salt_chunks() -> Iterator[list[str]]:
    while True:
        yield _salt_chunk()


def _salt_stream() -> Iterator[str]:
    """Random UUID v4 strings, made :data:`_SALTS_PER_CHUNK` at a time (see :func:`_salt_chunk`)."""
    return chain.from_iterable(_salt_chunks())


def _typed(value: Any) -> str:
    """``primitiveToTypedString``: ``"<type>:<String(value)>"``."""
    if isinstance(value, str):
        return "string:" + value
    if value is None:
        return "null:null"
    if isinstance(value, bool):
        return "boolean:true" if value else "boolean:false"
    if isinstance(value, (int, float)):
        return "number:" + js_number_to_string(value)
    raise UnsupportedValueError(f"cannot salt a {type(value).__name__}: only JSON values are allowed")


def _salt(data: Any, salts: Iterator[str], flat: dict[str, Any] | None, path: str, root: bool) -> Any:
    """Salt ``data``; if ``flat`` is given, also record the flattened leaves (as ``_flatten`` would)."""
    if isinstance(data, dict):
        out: Any = {}
        for key in _js_keys(data):
            if flat is not None and "." in key:
                raise InvalidKeyError(f"Key names must not have . in them: {key!r}")
            out[key] = _salt(data[key], salts, flat, path + "." + key if path else key, False)
    elif isinstance(data, (list, tuple)):
        out = [_salt(v, salts, flat, f"{path}.{i}" if path else str(i), False) for i, v in enumerate(data)]
    else:
        out = next(salts) + (":string:" + data if type(data) is str else ":" + _typed(data))
        if flat is not None:
            flat[path] = out
        return out
    if flat is not None and not out and not root:
        flat[path] = out  # an empty object/array is a leaf value
    return out


_LEAF_PREFIXES: dict[str, str] = {}  # flattened path -> '{"<path>":' (JSON-escaped), for the wrap
_LEAF_PREFIXES_MAX = 4096  # documents with ever new keys must not grow it without bound


def _leaf_prefix(path: str) -> str:
    prefix = _LEAF_PREFIXES.get(path)
    if prefix is None:
        if len(_LEAF_PREFIXES) >= _LEAF_PREFIXES_MAX:
            _LEAF_PREFIXES.clear()
        prefix = _LEAF_PREFIXES[path] = "{" + _encode_str(path) + ":"
    return prefix


# for the wrap: the Object.keys order of a dict's keys (as given), cached for key sets none of whose
# keys holds a "." (batches are mostly documents of one shape, so each order is worked out once)
_DOTLESS_KEY_ORDERS: dict[tuple[str, ...], list[str]] = {}
_DOTLESS_KEY_ORDERS_MAX = 4096


def _dotless_key_order(data: dict[str, Any]) -> list[str] | None:
    """``_js_keys(data)`` if no key holds a ``.`` (then cached), else None."""
    order = _js_keys(data)
    for key in order:
        if "." in key:
            return None
    if len(_DOTLESS_KEY_ORDERS) >= _DOTLESS_KEY_ORDERS_MAX:
        _DOTLESS_KEY_ORDERS.clear()
    _DOTLESS_KEY_ORDERS[tuple(data)] = order
    return order


def _salt_hashed(data: Any, salts: Iterator[str], hashes: dict[str, bytes], path: str, root: bool) -> Any:
    """``_salt`` with ``flat``, recording each flattened leaf's digest (``_leaf_digest``) instead of its value.

    The wrap path needs only the set of leaf hashes (they are sorted before the target hash is
    taken), so the flattened object is never built. Same keys, same errors, same salts consumed
    in the same order as ``_salt``; a path met twice keeps the last leaf, as ``flat[path] = ...``.
    """
    if isinstance(data, dict):
        out: Any = {}
        prefix = path + "." if path else ""
        order = _DOTLESS_KEY_ORDERS.get(tuple(data)) or _dotless_key_order(data)
        dotless = order is not None
        for key in order if dotless else _js_keys(data):
            if not dotless and "." in key:
                raise InvalidKeyError(f"Key names must not have . in them: {key!r}")
            value = data[key]
            kind = type(value)
            # the common leaves, inlined: exactly what _typed and _leaf_digest make of them
            if kind is str:
                salted = next(salts) + ":string:" + value
            elif kind is int and -_MAX_SAFE <= value <= _MAX_SAFE:
                salted = next(salts) + ":number:" + str(value)
            elif kind is bool:
                salted = next(salts) + (":boolean:true" if value else ":boolean:false")
            else:
                out[key] = _salt_hashed(value, salts, hashes, prefix + key, False)
                continue
            out[key] = salted
            sub = prefix + key
            leaf_prefix = _LEAF_PREFIXES.get(sub) or _leaf_prefix(sub)
            try:
                hashes[sub] = keccak_256((leaf_prefix + _encode_str(salted) + "}").encode()).digest()
            except UnicodeEncodeError:  # surrogates: _leaf_digest pairs or escapes them as JS does
                hashes[sub] = _leaf_digest(sub, salted)
    elif isinstance(data, (list, tuple)):
        out = [_salt_hashed(v, salts, hashes, f"{path}.{i}" if path else str(i), False) for i, v in enumerate(data)]
    else:
        out = next(salts) + (":string:" + data if type(data) is str else ":" + _typed(data))
        hashes[path] = _leaf_digest(path, out)
        return out
    if not out and not root:
        hashes[path] = _leaf_digest(path, out)  # an empty object/array is a leaf value
    return out


def salt_data(data: Any) -> Any:
    """OA ``saltData``: every primitive leaf becomes ``"<uuid4>:<type>:<value>"``; containers are kept."""
    return _salt(data, _salt_stream(), None, "", True)


_UNDEFINED = object()


def _unsalt_value(value: Any) -> Any:
    # "the text before the first ':' is a v4 UUID", without splitting: a UUID holds no ':'
    if not isinstance(value, str) or value[36:37] not in (":", "") or not _UUID4.match(value, 0, 36):
        return value
    if value.startswith("string:", 37):  # the common case of the general rule below
        return value[44:].rstrip(_JS_WS)
    kind, _, text = value[37:].strip(_JS_WS).partition(":")
    if kind == "string":
        return text
    if kind == "number":
        return _js_string_to_number(text)
    if kind == "boolean":
        return text == "true"
    if kind == "null":
        return None
    if kind == "undefined":
        return _UNDEFINED
    raise MalformedDocumentError(f"Parsing error, type annotation not found in string: {value!r}")


def _unsalt(data: Any) -> Any:
    if isinstance(data, str):
        return _unsalt_value(data)
    if isinstance(data, dict):
        out = {}
        for k in _js_keys(data):
            value = _unsalt(data[k])
            if value is not _UNDEFINED:
                out[k] = value
        return out
    if isinstance(data, (list, tuple)):
        return [None if v is _UNDEFINED else v for v in map(_unsalt, data)]
    return _unsalt_value(data)


def unsalt(wrapped: dict[str, Any]) -> dict[str, Any]:
    """OA ``getData``: the document's ``data`` with the salts and type annotations removed."""
    return _unsalt(_data_of(wrapped))


def unsalt_field(wrapped: dict[str, Any], field: str) -> Any:
    """``unsalt(wrapped)[field]`` without unsalting the other fields (KeyError as that would give for a
    field that is absent or unsalts to undefined)."""
    value = _unsalt(wrapped["data"][field])
    if value is _UNDEFINED:
        raise KeyError(field)
    return value


# --------------------------------------------------------------------------- flatten + digest
def _flatten(data: Any) -> dict[str, Any]:
    """``flatley.flatten`` with OA's "no ``.`` in keys" coercion."""
    out: dict[str, Any] = {}

    def step(obj: Any, prev: str) -> None:
        is_list = isinstance(obj, (list, tuple))
        keys = [str(i) for i in range(len(obj))] if is_list else _js_keys(obj)
        for i, key in enumerate(keys):
            value = obj[i] if is_list else obj[key]
            if "." in key:
                raise InvalidKeyError(f"Key names must not have . in them: {key!r}")
            new_key = prev + "." + key if prev else key
            if value and isinstance(value, (dict, list, tuple)):
                step(value, new_key)
            else:
                out[new_key] = value

    if isinstance(data, (dict, list, tuple)):
        step(data, "")
    return out


def _leaf_digest(key: str, value: Any) -> bytes:
    """``keccak256(JSON.stringify({[key]: value}))``."""
    text = "{" + _encode_str(key) + ":" + (_encode_str(value) if type(value) is str else js_json_stringify(value)) + "}"
    try:
        raw = text.encode()
    except UnicodeEncodeError:  # surrogates: let _quote pair or escape them as a JS string would
        raw = ("{" + _quote(key) + ":" + js_json_stringify(value) + "}").encode()
    return keccak_256(raw).digest()


def _leaf_hash(key: str, value: Any) -> str:
    """``keccak256(JSON.stringify({[key]: value}))`` as hex."""
    return _leaf_digest(key, value).hex()


def _leaf_hashes(flat: dict[str, Any]) -> list[str]:
    """Leaf hashes in ``Object.keys`` order of the flattened object (top-level index keys like
    ``"99"`` come first), which is the order JS ``obfuscateData`` appends them in."""
    return [_leaf_hash(key, flat[key]) for key in _js_keys(flat)]


def _obfuscated_of(document: dict[str, Any]) -> list[str]:
    privacy = document.get("privacy")
    if privacy is None:
        return []
    hashes = privacy.get("obfuscatedData", []) if isinstance(privacy, dict) else None
    if not isinstance(hashes, list) or not all(isinstance(h, str) for h in hashes):
        raise MalformedDocumentError("privacy.obfuscatedData must be a list of hex strings")
    return hashes


def digest(document: dict[str, Any]) -> str:
    """OA ``digestDocument``: the target hash (lowercase hex, no ``0x``) of a salted document."""
    obfuscated = _obfuscated_of(document)
    flat = _flatten(_data_of(document))
    hashes = []  # in any order: they are sorted before hashing
    for key, value in flat.items():
        if type(value) is str:  # the common leaf, inlined from _leaf_hash
            try:
                hashes.append(keccak256_hex(("{" + _encode_str(key) + ":" + _encode_str(value) + "}").encode()))
                continue
            except UnicodeEncodeError:
                pass
        hashes.append(_leaf_hash(key, value))
    if obfuscated:
        return _hash_sorted(obfuscated + hashes)
    return keccak256_hex(_target_text(hashes).encode())


def _hash_sorted(hashes: list[str]) -> str:
    hashes.sort()  # lodash sortBy on strings
    return keccak256_hex(("[" + ",".join(map(_quote, hashes)) + "]").encode())


def _data_of(document: Any) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise MalformedDocumentError(f"a document must be a JSON object, got {type(document).__name__}")
    data = document.get("data")
    if not isinstance(data, dict):
        raise MalformedDocumentError("document has no 'data' object")
    return data


# --------------------------------------------------------------------------- schema (v2)
_ADDRESS = re.compile(r"0x[a-fA-F0-9]{40}\Z")
_IDENTITY_REQUIRED = {"DNS-TXT": ("type", "location"), "DNS-DID": ("type", "key", "location"), "DID": ("type", "key")}


def _issuer_errors(issuer: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    if "id" in issuer and not isinstance(issuer["id"], str):
        errors.append("'id' must be a string")
    if "name" not in issuer:
        errors.append("must have 'name'")
    elif not isinstance(issuer["name"], str):
        errors.append("'name' must be a string")
    proof = issuer.get("identityProof")
    if proof is None:
        errors.append("must have 'identityProof'")
    elif not isinstance(proof, dict) or proof.get("type") not in _IDENTITY_REQUIRED:
        errors.append("identityProof.type must be one of DNS-TXT, DNS-DID, DID")
    else:
        for field in _IDENTITY_REQUIRED[proof["type"]]:
            if not isinstance(proof.get(field), str):
                errors.append(f"identityProof.{field} must be a string")
    revocation = issuer.get("revocation")
    if revocation is not None:
        if not isinstance(revocation, dict):
            errors.append("revocation must be an object")
        elif "type" in revocation and revocation["type"] not in ("NONE", "REVOCATION_STORE", "OCSP_RESPONDER"):
            errors.append("revocation.type must be NONE, REVOCATION_STORE or OCSP_RESPONDER")
        elif "location" in revocation and not isinstance(revocation["location"], str):
            errors.append("revocation.location must be a string")
    return errors


def _address_ok(issuer: dict[str, Any], field: str) -> bool:
    value = issuer.get(field)
    return isinstance(value, str) and _ADDRESS.match(value) is not None


def _issuer_kind_errors(issuer: dict[str, Any]) -> list[str]:
    """The schema's issuer ``oneOf``: exactly one of token registry, document store, certificate
    store, or a plain issuer with none of the three."""
    base = _issuer_errors(issuer)
    stores = ("tokenRegistry", "documentStore", "certificateStore")
    matches = [
        not base and _address_ok(issuer, "tokenRegistry"),
        not base and _address_ok(issuer, "documentStore"),
        isinstance(issuer.get("name"), str) and _address_ok(issuer, "certificateStore"),
        not base and issuer.keys().isdisjoint(stores),
    ]
    if matches.count(True) == 1:
        return []
    if any(matches):
        return ["it matches more than one of tokenRegistry / documentStore / certificateStore"]
    present = [k for k in stores if k in issuer]
    return base + [f"'{k}' must be a 0x-prefixed 40-hex address" for k in present if not _address_ok(issuer, k)]


class _IssuerChecks:
    """``_issuer_kind_errors`` remembering the last issuer it was asked about: the documents of a batch
    are mostly one department's, each with its own copy of the same issuer. The checks depend only
    on the issuer's value (types and the address pattern), so an equal issuer has the same errors."""

    __slots__ = ("_issuer", "_errors")

    def __init__(self) -> None:
        self._issuer: dict[str, Any] | None = None
        self._errors: list[str] = []

    def __call__(self, issuer: dict[str, Any]) -> list[str]:
        if issuer != self._issuer:
            self._errors = _issuer_kind_errors(issuer)
            self._issuer = copy.deepcopy(issuer)  # the caller's dict may change after this call
        return self._errors


def validate_raw_document(data: Any, *, _issuer_checks: _IssuerChecks | None = None) -> list[str]:
    """Errors against the OpenAttestation v2 schema (``schema.openattestation.com/2.0``); empty if valid."""
    if not isinstance(data, dict):
        return ["document must be an object"]
    errors: list[str] = []
    issuers = data.get("issuers")
    if not isinstance(issuers, list) or not issuers:
        errors.append("'issuers' must be a non-empty array")
    else:
        check = _issuer_checks or _issuer_kind_errors
        for i, issuer in enumerate(issuers):
            if not isinstance(issuer, dict):
                errors.append(f"issuers[{i}] must be an object")
                continue
            errors.extend(f"issuers[{i}]: {e}" for e in check(issuer))
    for field in ("id", "documentUrl"):
        if field in data and not isinstance(data[field], str):
            errors.append(f"'{field}' must be a string")
    template = data.get("$template", "")
    if not isinstance(template, str):
        if not (isinstance(template, dict) and isinstance(template.get("name"), str)
                and template.get("type") == "EMBEDDED_RENDERER"
                and isinstance(template.get("url", ""), str)):
            errors.append("'$template' must be a string or {name, type: EMBEDDED_RENDERER, url?}")
    if "recipient" in data and not (isinstance(data["recipient"], dict)
                                    and isinstance(data["recipient"].get("name", ""), str)):
        errors.append("'recipient' must be an object with an optional string 'name'")
    if "network" in data and not (isinstance(data["network"], dict) and isinstance(data["network"].get("chain"), str)
                                  and isinstance(data["network"].get("chainId", ""), str)):
        errors.append("'network' must be an object with a string 'chain' (and optional string 'chainId')")
    attachments = data.get("attachments", [])
    if "attachments" in data and not (isinstance(attachments, list) and all(
            isinstance(a, dict) and set(a) == {"filename", "type", "data"}
            and all(isinstance(v, str) for v in a.values()) for a in attachments)):
        errors.append("'attachments' must be an array of {filename, type, data} strings")
    return errors


# --------------------------------------------------------------------------- wrap + verify
def default_processes() -> int:
    """How many processes :func:`wrap_documents` may use: one per CPU this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


# Fewer documents than this per process and a worker costs more (fork, pickling) than it saves.
PARALLEL_MIN_PER_PROCESS = 2000
_FORKED_INPUT: Sequence[Any] | None = None  # the documents, inherited by forked workers


def _target_digest(leaves: list[bytes]) -> bytes:
    """``keccak256(JSON.stringify(sorted hex leaf hashes))`` of 32-byte leaf hashes."""
    return keccak_256(_target_text(list(map(bytes.hex, leaves))).encode()).digest()


def _target_text(leaves: list[str]) -> str:
    """``JSON.stringify`` of lowercase hex leaf hashes, sorted in place: our own hex needs no JSON
    escaping (``["<hex>","<hex>",...]``)."""
    if not leaves:
        return "[]"
    leaves.sort()
    return '["' + '","'.join(leaves) + '"]'


# --------------------------------------------------------------------------- column-wise salting
# A batch is mostly documents of one shape (one licence type: same keys, same nesting). Such a group
# is salted and digested one field at a time across its documents ("a column"): each step of a leaf
# (salt, type annotation, JSON text, UTF-8, keccak) then runs as one list operation over the column
# instead of once per document through the recursive walk, and the per-leaf type and escaping
# decisions are taken once per column. Where a group's documents do not share a shape all the way
# down, or a value needs the walk's special cases (an empty object or array, a key with a ".", a lone
# surrogate), the group is wrapped document by document by _salt_hashed: same output, same errors.
COLUMNS_MIN_DOCUMENTS = 8  # below this many documents of one shape, the walk costs less
_JSON_PRIMITIVES = frozenset({str, int, float, bool, type(None)})


class _Ragged(Exception):
    """A column whose values do not all have one shape, or need the per-document walk's special cases."""


def _salt_column(values: list[Any], path: str, leaf_hashes: list[list[str]]) -> list[Any]:
    """The salted values of one field path across documents (``values[k]`` of document ``k``).

    Containers are descended into per key / index; each leaf column appends its documents'
    leaf digests (``keccak256(JSON.stringify({path: salted}))``, lowercase hex) to ``leaf_hashes``.
    Raises :class:`_Ragged` where the values do not share one shape.
    """
    kinds = set(map(type, values))
    if kinds == {dict}:
        if len(set(map(tuple, values))) != 1:
            raise _Ragged(path)
        first = values[0]
        order = _DOTLESS_KEY_ORDERS.get(tuple(first)) or _dotless_key_order(first)
        if not order:  # a key holding "." (an error the walk raises), or an empty object (a leaf)
            raise _Ragged(path)
        prefix = path + "." if path else ""
        columns = [_salt_column([v[key] for v in values], prefix + key, leaf_hashes) for key in order]
        return [dict(zip(order, row)) for row in zip(*columns)]
    if kinds == {list}:
        lengths = set(map(len, values))
        if len(lengths) != 1 or 0 in lengths:
            raise _Ragged(path)
        prefix = path + "." if path else ""
        columns = [_salt_column([v[i] for v in values], prefix + str(i), leaf_hashes)
                   for i in range(lengths.pop())]
        return [list(row) for row in zip(*columns)]
    if not kinds <= _JSON_PRIMITIVES:
        raise _Ragged(path)
    salts = _salt_chunk(len(values))
    quoted_prefix = "{" + _encode_str(path) + ':"'
    if kinds == {str}:
        salted = [s + ":string:" + v for s, v in zip(salts, values)]
        joined = "".join(values)
        if len(_encode_str(joined)) == len(joined) + 2:  # nothing to escape: the JSON text is the value
            texts = [quoted_prefix + v + '"}' for v in salted]
        else:
            texts = [quoted_prefix + _encode_str(v)[1:] + "}" for v in salted]
    elif kinds == {int} and -_MAX_SAFE <= min(values) and max(values) <= _MAX_SAFE:
        salted = [s + ":number:" + str(v) for s, v in zip(salts, values)]
        texts = [quoted_prefix + v + '"}' for v in salted]  # digits and "-": nothing to escape
    elif kinds == {bool}:
        salted = [s + (":boolean:true" if v else ":boolean:false") for s, v in zip(salts, values)]
        texts = [quoted_prefix + v + '"}' for v in salted]
    else:
        salted = [s + ":" + _typed(v) for s, v in zip(salts, values)]
        texts = [quoted_prefix + _encode_str(v)[1:] + "}" for v in salted]
    try:
        leaf_hashes.append(keccak256_many_hex(texts))
    except UnicodeEncodeError:  # a lone surrogate: the walk escapes it as JS does
        raise _Ragged(path) from None
    return salted


def _wrap_columns(documents: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[bytes]]:
    """Salted data and target hashes of documents that share one top-level key set (column-wise);
    :class:`_Ragged` if they do not share one shape all the way down."""
    leaf_hashes: list[list[str]] = []
    data = _salt_column(documents, "", leaf_hashes)
    if not leaf_hashes:
        raise _Ragged("")
    return data, keccak256_many([_target_text(list(row)) for row in zip(*leaf_hashes)])


def _wrap_walk(documents: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[bytes]]:
    """Salted data and target hashes, document by document (any shapes)."""
    salts = _salt_stream()
    data: list[dict[str, Any]] = []
    targets: list[bytes] = []
    for raw in documents:
        hashes: dict[str, bytes] = {}
        data.append(_salt_hashed(raw, salts, hashes, "", True))
        targets.append(_target_digest(list(hashes.values())))
    return data, targets


def _wrap_slice(
    documents: Sequence[Any], offset: int, external_schema_id: str | None, validate: bool
) -> tuple[list[dict[str, Any]], list[bytes]]:
    """Salt and digest ``documents`` (numbered from ``offset`` in error messages): the wrapped
    documents without their signature, and their target hashes (32 bytes each).

    Every document is checked before any is salted. Documents with the same top-level keys are
    salted column-wise (:func:`_wrap_columns`) where there are at least ``COLUMNS_MIN_DOCUMENTS``
    of them and they share one shape, else one by one."""
    groups: dict[tuple[str, ...], list[int]] = {}
    issuer_checks = _IssuerChecks()
    for i, raw in enumerate(documents, offset):
        if validate:
            errors = validate_raw_document(raw, _issuer_checks=issuer_checks)
            if errors:
                raise SchemaValidationError([f"document {i}: {e}" for e in errors])
        elif not isinstance(raw, dict):
            raise SchemaValidationError([f"document {i}: must be an object"])
        groups.setdefault(tuple(raw), []).append(i - offset)
    data: list[Any] = [None] * len(documents)
    targets: list[Any] = [None] * len(documents)
    for members in groups.values():
        group = [documents[k] for k in members]
        try:
            if len(group) < COLUMNS_MIN_DOCUMENTS:
                raise _Ragged("")
            group_data, group_targets = _wrap_columns(group)
        except _Ragged:
            group_data, group_targets = _wrap_walk(group)
        for k, salted, target in zip(members, group_data, group_targets):
            data[k] = salted
            targets[k] = target
    if external_schema_id:
        docs = [{"version": SCHEMA_V2, "data": d, "schema": external_schema_id} for d in data]
    else:
        docs = [{"version": SCHEMA_V2, "data": d} for d in data]
    return docs, targets


def _wrap_slice_worker(job: tuple[int, int, Sequence[Any] | None, str | None, bool]):
    start, stop, documents, external_schema_id, validate = job
    if documents is None:  # forked: read the parent's list, nothing was pickled to get here
        documents = _FORKED_INPUT[start:stop]  # type: ignore[index]
    with gc_paused():
        return _wrap_slice(documents, start, external_schema_id, validate)


def _wrap_parallel(
    documents: Sequence[Any], processes: int, external_schema_id: str | None, validate: bool
) -> tuple[list[dict[str, Any]], list[bytes]]:
    """:func:`_wrap_slice` over ``processes`` slices: this process takes the first, worker processes
    the others (forked when this process runs no other thread, else started by a fork server)."""
    import multiprocessing
    import threading

    global _FORKED_INPUT
    n = len(documents)
    bounds = [n * k // processes for k in range(processes + 1)]
    fork = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
    mp = multiprocessing.get_context("fork" if fork else "spawn")
    jobs = [(bounds[k], bounds[k + 1], None if fork else list(documents[bounds[k]:bounds[k + 1]]),
             external_schema_id, validate) for k in range(1, processes)]
    _FORKED_INPUT = documents if fork else None
    try:
        with mp.Pool(processes - 1) as pool:
            pending = pool.imap(_wrap_slice_worker, jobs)  # in order: the first error in document order wins
            docs, targets = _wrap_slice(documents[:bounds[1]], 0, external_schema_id, validate)
            for more_docs, more_targets in pending:
                docs += more_docs
                targets += more_targets
    finally:
        _FORKED_INPUT = None
    return docs, targets


def wrap_documents(
    documents: Sequence[dict[str, Any]], *, external_schema_id: str | None = None, validate: bool = True,
    processes: int = 1,
) -> list[dict[str, Any]]:
    """OA ``wrapDocuments``: salt each raw document, digest it, and batch all under one Merkle root.

    Raises :class:`SchemaValidationError` if a document is not a valid v2 document (set
    ``validate=False`` to wrap arbitrary JSON objects, as JS cannot), and
    :class:`OpenAttestationError` for an empty batch.

    ``processes`` > 1 salts and digests slices of a large batch in that many processes (this one
    included; at least ``PARALLEL_MIN_PER_PROCESS`` documents each, else fewer), then builds the
    one Merkle tree here. The result is the same kind of batch; only the random salts differ, as
    they do between any two runs.
    """
    if not documents:
        raise OpenAttestationError("wrap_documents needs at least one document")
    processes = max(1, min(int(processes), len(documents) // PARALLEL_MIN_PER_PROCESS))
    with gc_paused():  # millions of small acyclic objects: the cyclic GC would only rescan them
        if processes > 1:
            docs, targets = _wrap_parallel(documents, processes, external_schema_id, validate)
        else:
            docs, targets = _wrap_slice(documents, 0, external_schema_id, validate)
        tree = MerkleTree(targets)
        root = tree.root.hex()
        for doc, target, proof in zip(docs, targets, tree.proofs_hex()):
            doc["signature"] = {"type": "SHA3MerkleProof", "targetHash": target.hex(), "proof": proof,
                                "merkleRoot": root}
    return docs


def wrap_document(
    document: dict[str, Any], *, external_schema_id: str | None = None, validate: bool = True
) -> dict[str, Any]:
    """OA ``wrapDocument``: a batch of one (``proof`` empty, ``merkleRoot`` = ``targetHash``)."""
    return wrap_documents([document], external_schema_id=external_schema_id, validate=validate)[0]


def _hex32(value: Any, where: str) -> bytes:
    if isinstance(value, str) and len(value) == 64:
        try:  # 64 characters that make 32 bytes: hex digits only (fromhex would skip whitespace)
            raw = bytes.fromhex(value)
        except ValueError:
            raw = b""
        if len(raw) == 32:
            return raw
    raise InvalidHexError(f"{where} must be 64 hex characters without 0x, got {value!r}")


def verify_signature(wrapped: dict[str, Any]) -> bool:
    """OA ``verifySignature``: the recomputed digest equals ``targetHash`` and the proof leads to ``merkleRoot``.

    Returns False for a tampered document; raises :class:`MalformedDocumentError` (or its
    subclasses :class:`MissingSignatureError`, :class:`InvalidHexError`) if it is not a
    wrapped v2 document at all.
    """
    target, target_bytes, root, proof_bytes = _signature_of(wrapped)
    if digest(wrapped) != target:
        return False
    return _proof_holds(target_bytes, proof_bytes, root)


def verify_signature_and_unsalt(wrapped: dict[str, Any]) -> tuple[bool, dict[str, Any] | None]:
    """:func:`verify_signature` and, for an intact document, :func:`unsalt` of it, in one walk of its
    data (a verifier needs both: the fields are flattened, hashed and unsalted together).

    Returns ``(intact, data)``, raising as :func:`verify_signature` does; ``data`` is None for a
    tampered document, and also where unsalting would raise (call :func:`unsalt` for its error).
    """
    target, target_bytes, root, proof_bytes = _signature_of(wrapped)
    obfuscated = _obfuscated_of(wrapped)
    hashes: list[bytes] = []
    others: list[tuple[str, Any]] = []  # leaves that are not strings: hashed after the walk, as digest() does
    failed: list[bool] = []
    data = _hash_unsalt(wrapped["data"], "", hashes, others, failed)
    for path, value in others:
        hashes.append(_leaf_digest(path, value))
    if obfuscated:
        computed = _hash_sorted(obfuscated + [h.hex() for h in hashes])
    else:
        computed = _target_digest(hashes).hex()
    if computed != target or not _proof_holds(target_bytes, proof_bytes, root):
        return False, None
    return True, None if failed else data


def _hash_unsalt(obj: Any, path: str, hashes: list[bytes], others: list[tuple[str, Any]], failed: list[bool]) -> Any:
    """``_unsalt(obj)``, appending the leaf digests of ``_flatten(obj)`` under ``path`` to ``hashes``
    (string leaves) or the leaves to ``others`` (the rest); raises as ``_flatten`` does. A value
    ``_unsalt_value`` refuses is left as it is and noted in ``failed``."""
    prefix = path + "." if path else ""
    is_list = isinstance(obj, (list, tuple))
    out: Any = [] if is_list else {}
    for i, key in enumerate([str(i) for i in range(len(obj))] if is_list else _js_keys(obj)):
        value = obj[i] if is_list else obj[key]
        if "." in key:
            raise InvalidKeyError(f"Key names must not have . in them: {key!r}")
        sub = prefix + key
        if type(value) is str:
            leaf_prefix = _LEAF_PREFIXES.get(sub) or _leaf_prefix(sub)
            try:
                hashes.append(keccak_256((leaf_prefix + _encode_str(value) + "}").encode()).digest())
            except UnicodeEncodeError:  # surrogates: _leaf_digest pairs or escapes them as JS does
                hashes.append(_leaf_digest(sub, value))
            kind = value[36:44]
            if kind == ":string:" and _UUID4.match(value, 0, 36):  # _unsalt_value's common cases
                plain: Any = value[44:].rstrip(_JS_WS)
            elif kind == ":number:" and value[44:].isdigit() and value.isascii() and len(value) <= 59 \
                    and _UUID4.match(value, 0, 36):  # at most 15 digits: an integer within 2**53
                plain = int(value[44:])
            else:
                plain = _UNDEFINED
            if plain is not _UNDEFINED:
                if is_list:
                    out.append(plain)
                else:
                    out[key] = plain
                continue
        elif value and isinstance(value, (dict, list, tuple)):
            plain = _hash_unsalt(value, sub, hashes, others, failed)
            if is_list:
                out.append(plain)
            else:
                out[key] = plain
            continue
        else:
            others.append((sub, value))
        try:
            plain = _unsalt(value)
        except OpenAttestationError:
            failed.append(True)
            plain = value
        if is_list:
            out.append(None if plain is _UNDEFINED else plain)
        elif plain is not _UNDEFINED:
            out[key] = plain
    return out


def _signature_of(wrapped: Any) -> tuple[str, bytes, bytes, list[bytes]]:
    """The checked signature of a wrapped document: (targetHash, its bytes, merkleRoot bytes, proof
    bytes); raises :class:`MalformedDocumentError` (or a subclass) for a document that is not one."""
    if not isinstance(wrapped, dict):
        raise MalformedDocumentError(f"a document must be a JSON object, got {type(wrapped).__name__}")
    signature = wrapped.get("signature")
    if not signature:
        raise MissingSignatureError("document has no 'signature'")
    _data_of(wrapped)
    if not isinstance(signature, dict):
        raise MalformedDocumentError("'signature' must be an object")
    target = signature.get("targetHash")
    target_bytes = _hex32(target, "signature.targetHash")
    root = _hex32(signature.get("merkleRoot"), "signature.merkleRoot")
    proof = signature.get("proof")
    proof = [] if proof is None else proof
    if not isinstance(proof, list):
        raise MalformedDocumentError("signature.proof must be a list")
    proof_bytes = [_hex32(p, f"signature.proof[{i}]") for i, p in enumerate(proof)]
    for i, h in enumerate(_obfuscated_of(wrapped)):
        _hex32(h, f"privacy.obfuscatedData[{i}]")
    return target, target_bytes, root, proof_bytes


def _proof_holds(target: bytes, proof: list[bytes], root: bytes) -> bool:
    try:
        return verify_proof(target, proof, root)
    except MerkleError as exc:  # pragma: no cover - lengths are checked by _signature_of
        raise MalformedDocumentError(str(exc)) from exc


# --------------------------------------------------------------------------- obfuscate
_PROP_NAME = re.compile(
    r"""[^.[\]]+|\[(?:(-?\d+(?:\.\d+)?)|(["'])((?:(?!\2)[^\\]|\\.)*?)\2)\]|(?=(?:\.|\[\])(?:\.|\[\]|$))"""
)
_DEEP_PROP = re.compile(r"""\.|\[(?:[^[\]]*|(["'])(?:(?!\1)[^\\]|\\.)*?\1)\]""")
_PLAIN_PROP = re.compile(r"\w*\Z", re.ASCII)
_ESCAPE_CHAR = re.compile(r"\\(\\)?")


def _path_segments(path: str, data: dict[str, Any]) -> list[str]:
    """lodash ``castPath``: ``"a.b[0]['c']"`` -> ``["a", "b", "0", "c"]``."""
    if not isinstance(path, str):
        raise UnknownFieldPathError(f"field paths must be strings, got {path!r}")
    if _PLAIN_PROP.match(path) or not _DEEP_PROP.search(path) or path in data:
        return [path]
    segments = [""] if path.startswith(".") else []
    for m in _PROP_NAME.finditer(path):
        number, quote, quoted = m.group(1), m.group(2), m.group(3)
        segments.append(_ESCAPE_CHAR.sub(r"\1", quoted) if quote else (number or m.group(0)))
    return segments


def _child(node: Any, key: str) -> tuple[bool, Any]:
    if isinstance(node, dict):
        return (True, node[key]) if key in node else (False, None)
    if isinstance(node, (list, tuple)) and _is_array_index(key) and int(key) < len(node):
        return True, node[int(key)]
    return False, None


def _resolve(data: dict[str, Any], path: str, segments: list[str]) -> list[Any]:
    """The containers along ``segments`` (``data`` first); raises if the field does not exist."""
    chain: list[Any] = [data]
    for segment in segments:
        found, value = _child(chain[-1], segment)
        if not found:
            raise UnknownFieldPathError(f"no field {path!r} in the document data")
        chain.append(value)
    return chain


def _pick(data: dict[str, Any], picks: list[tuple[list[str], Any]]) -> dict[str, Any]:
    """lodash ``pick`` (containers created as plain dicts: same ``Object.keys`` order as JS)."""
    result: dict[str, Any] = {}
    for segments, value in picks:
        node: Any = result
        for segment in segments[:-1]:
            found, nxt = _child(node, segment)
            if not found or not isinstance(nxt, (dict, list)):
                nxt = {}
                node[segment] = nxt
            node = nxt
        if isinstance(node, dict):
            node[segments[-1]] = value
    return result


def obfuscate(wrapped: dict[str, Any], paths: str | Iterable[str]) -> dict[str, Any]:
    """OA ``obfuscateDocument``: hide fields, keeping the document's signature valid.

    Each path (lodash syntax: ``"recipient.name"``, ``"items[0].price"``) is removed from
    ``data`` and the hash of each flattened leaf under it is appended to
    ``privacy.obfuscatedData``. Objects left empty are removed too (JS leaves ``{}``, which
    invalidates the document). Raises :class:`UnknownFieldPathError` for a path that names
    no field and :class:`ObfuscationError` for an array element (removing one would shift
    or null the others and break the signature in both implementations; obfuscate the
    whole array, or fields inside its elements, instead).
    """
    data = copy.deepcopy(_data_of(wrapped))
    existing = _obfuscated_of(wrapped)
    path_list = [paths] if isinstance(paths, str) else list(paths)
    picks, chains = [], []
    for path in path_list:
        segments = _path_segments(path, data)
        chain = _resolve(data, path, segments)
        if isinstance(chain[-2], (list, tuple)):
            raise ObfuscationError(f"cannot obfuscate array element {path!r}: obfuscate the whole array "
                                   "or fields inside its elements")
        picks.append((segments, chain[-1]))
        chains.append((path, segments, chain))
    new_hashes = _leaf_hashes(_flatten(_pick(data, picks)))
    for path, segments, chain in chains:
        chain[-2].pop(segments[-1], None)
        for depth in range(len(segments) - 1, 0, -1):  # remove parents this left empty
            container, parent = chain[depth], chain[depth - 1]
            if container or not isinstance(container, dict):
                break
            if isinstance(parent, (list, tuple)):
                raise ObfuscationError(f"obfuscating {path!r} would leave an empty object inside an array; "
                                       "obfuscate the whole array, or leave one field of that element")
            if parent.get(segments[depth - 1]) is container:
                del parent[segments[depth - 1]]
    privacy = wrapped.get("privacy") if isinstance(wrapped.get("privacy"), dict) else {}
    return {**wrapped, "data": data, "privacy": {**privacy, "obfuscatedData": existing + new_hashes}}
