"""Documents: OpenAttestation v2 wrapping, obfuscation and verification, and its Merkle tree.

Pure Python and byte-compatible with the JS ``@govtechsg/open-attestation`` 6.x (checked by
tests/documents against the real package through scripts/oa/*.cjs).
"""

from gateway.documents.merkle import MerkleError, MerkleTree, combine, keccak256, keccak256_hex, verify_proof
from gateway.documents.openattestation import (
    SCHEMA_V2,
    InvalidHexError,
    InvalidKeyError,
    MalformedDocumentError,
    MissingSignatureError,
    ObfuscationError,
    OpenAttestationError,
    SchemaValidationError,
    UnknownFieldPathError,
    UnsupportedValueError,
    digest,
    js_json_stringify,
    obfuscate,
    salt_data,
    unsalt,
    validate_raw_document,
    verify_signature,
    wrap_document,
    wrap_documents,
)

__all__ = [
    "SCHEMA_V2",
    "InvalidHexError",
    "InvalidKeyError",
    "MalformedDocumentError",
    "MerkleError",
    "MerkleTree",
    "MissingSignatureError",
    "ObfuscationError",
    "OpenAttestationError",
    "SchemaValidationError",
    "UnknownFieldPathError",
    "UnsupportedValueError",
    "combine",
    "digest",
    "js_json_stringify",
    "keccak256",
    "keccak256_hex",
    "obfuscate",
    "salt_data",
    "unsalt",
    "validate_raw_document",
    "verify_signature",
    "verify_proof",
    "wrap_document",
    "wrap_documents",
]
