"""OpenAttestation's Merkle tree (``src/shared/merkle/merkle.ts`` of ``@govtechsg/open-attestation``).

The rules, taken from the JS source rather than guessed:

* the leaves are 32-byte hashes and are **sorted** (byte-wise, ``Buffer.compare``) before the
  tree is built, so the root does not depend on the order the leaves were given in;
* a parent is ``keccak256(min(a, b) + max(a, b))`` (the pair is sorted, so proofs carry no
  left/right flags);
* the last node of a layer with an odd number of nodes is carried up to the next layer
  unchanged, and contributes no proof element at that level;
* a one-leaf tree has the leaf as root and an empty proof; an empty tree has no root (the JS
  ``wrapDocuments([])`` throws), so it is refused here.

Layers are plain lists of ``bytes``: there is no per-node object.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from gateway.documents.keccak import keccak256, keccak256_hex, merkle_parents

__all__ = ["MerkleError", "MerkleTree", "combine", "gc_paused", "keccak256", "keccak256_hex", "verify_proof"]


class MerkleError(ValueError):
    """A Merkle tree was given something it cannot work with (bad leaf, unknown leaf, no leaves)."""


def combine(first: bytes, second: bytes) -> bytes:
    """Parent of two nodes: keccak256 of the two hashes concatenated in byte order."""
    return keccak256(first + second if first <= second else second + first)


def _as_hash(value: bytes | bytearray | memoryview, what: str) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise MerkleError(f"{what} must be 32 bytes, got {type(value).__name__}")
    value = bytes(value)
    if len(value) != 32:
        raise MerkleError(f"{what} must be 32 bytes, got {len(value)}")
    return value


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while allocating many small acyclic tuples/lists (halves bulk-proof time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class MerkleTree:
    """OpenAttestation Merkle tree over 32-byte leaves (sorted before building, as the JS does).

    ``proof`` and ``proofs`` accept/return positions in the order the leaves were *given*;
    ``leaves`` is the sorted order the tree is built on.
    """

    __slots__ = ("_layers", "_given", "_sorted_positions", "_first_pos")

    def __init__(self, leaves: Iterable[bytes]) -> None:
        given = list(leaves)
        if not all(type(leaf) is bytes and len(leaf) == 32 for leaf in given):
            given = [_as_hash(leaf, f"leaf {i}") for i, leaf in enumerate(given)]
        if not given:
            raise MerkleError("a Merkle tree needs at least one leaf")
        layer = sorted(given)
        self._given = given
        self._sorted_positions: list[int] | None = None
        self._first_pos: dict[bytes, int] | None = None
        layers = [layer]
        while len(layer) > 1:
            layer = merkle_parents(layer)  # pairs sorted and hashed, an odd last node carried up
            layers.append(layer)
        self._layers = layers

    @property
    def root(self) -> bytes:
        """The Merkle root (the single leaf for a one-leaf tree)."""
        return self._layers[-1][0]

    @property
    def leaves(self) -> list[bytes]:
        """The leaves in the sorted order the tree is built on (a copy)."""
        return list(self._layers[0])

    def __len__(self) -> int:
        return len(self._layers[0])

    @property
    def _sorted_pos(self) -> list[int]:
        """For each given leaf, its position in the sorted layer (stable for duplicates)."""
        if self._sorted_positions is None:
            first = self._first_positions()
            positions = [first[leaf] for leaf in self._given]
            if len(first) != len(self._given):  # duplicates: k-th copy given -> k-th copy sorted
                seen: dict[bytes, int] = {}
                for i, leaf in enumerate(self._given):
                    n = seen.get(leaf, 0)
                    seen[leaf] = n + 1
                    positions[i] += n
            self._sorted_positions = positions
        return self._sorted_positions

    def _first_positions(self) -> dict[bytes, int]:
        if self._first_pos is None:
            first: dict[bytes, int] = {}
            for pos, value in enumerate(self._layers[0]):
                first.setdefault(value, pos)  # JS findIndex: first match
            self._first_pos = first
        return self._first_pos

    def _position(self, leaf_or_index: bytes | int) -> int:
        if isinstance(leaf_or_index, int) and not isinstance(leaf_or_index, bool):
            if not 0 <= leaf_or_index < len(self._given):
                raise MerkleError(f"leaf index {leaf_or_index} out of range 0..{len(self._given) - 1}")
            return self._sorted_pos[leaf_or_index]
        leaf = _as_hash(leaf_or_index, "leaf")
        try:
            return self._first_positions()[leaf]
        except KeyError:
            raise MerkleError(f"leaf {leaf.hex()} is not in the tree") from None

    def _proof_at(self, pos: int) -> list[bytes]:
        proof: list[bytes] = []
        for layer in self._layers[:-1]:
            sibling = pos ^ 1
            if sibling < len(layer):
                proof.append(layer[sibling])
            pos >>= 1
        return proof

    def proof(self, leaf_or_index: bytes | int) -> list[bytes]:
        """Sibling hashes from the leaf up to the root.

        ``leaf_or_index`` is either the leaf's 32 bytes (first match, as JS ``getProof``) or its
        index in the list the tree was built from.
        """
        return self._proof_at(self._position(leaf_or_index))

    def proofs(self) -> list[list[bytes]]:
        """The proof of every leaf, in the order the leaves were given (fast bulk path).

        Built top-down: a node's proof is its sibling followed by its parent's proof, so each
        level costs one tuple concatenation per node instead of one Python step per proof element.
        """
        with gc_paused():
            return self._all_proofs(self._layers)

    def proofs_hex(self) -> list[list[str]]:
        """:meth:`proofs` as lowercase hex strings (no ``0x``), as OpenAttestation's ``signature.proof``.

        Each node is converted once, not once per proof it appears in.
        """
        with gc_paused():
            return self._all_proofs([[node.hex() for node in layer] for layer in self._layers[:-1]] + [[]])

    def _all_proofs(self, layers: list[list]) -> list[list]:
        upper: list[tuple] = [()]
        for layer in reversed(layers[:-1]):
            size = len(layer)
            even = size - (size & 1)
            current: list[tuple[bytes, ...]] = [None] * size  # type: ignore[list-item]
            current[0:even:2] = [(b,) + p for b, p in zip(layer[1:even:2], upper)]
            current[1:even:2] = [(a,) + p for a, p in zip(layer[0:even:2], upper)]
            if size & 1:
                current[-1] = upper[-1]  # odd node carried up: no proof element at this level
            upper = current
        return [list(upper[pos]) for pos in self._sorted_pos]


def verify_proof(leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """True if folding ``proof`` into ``leaf`` (sorted-pair keccak256) yields ``root`` (JS ``checkProof``).

    Raises :class:`MerkleError` if the leaf, the root or a proof element is not 32 bytes.
    """
    node = _as_hash(leaf, "leaf")
    expected = _as_hash(root, "root")
    k = keccak256
    for i, sibling in enumerate(proof):
        if type(sibling) is not bytes or len(sibling) != 32:
            sibling = _as_hash(sibling, f"proof element {i}")
        node = k(node + sibling if node <= sibling else sibling + node)
    return node == expected
