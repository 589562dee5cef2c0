"""OpenAttestation Merkle tree: same roots and proofs as the JS library, odd-node and tamper rules."""

from __future__ import annotations

import random

import pytest

from gateway.documents.merkle import MerkleError, MerkleTree, combine, keccak256, verify_proof

SIZES = (1, 2, 3, 5, 8, 1000)


def leaves_of(n: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed * 1_000_003 + n)
    return [rng.randbytes(32) for _ in range(n)]


def test_roots_and_proofs_match_js(js) -> None:
    sets = {n: leaves_of(n) for n in SIZES}
    answers = js.batch([{"op": "merkle", "leaves": [leaf.hex() for leaf in leaves]} for leaves in sets.values()])
    for (n, leaves), answer in zip(sets.items(), answers):
        tree = MerkleTree(leaves)
        assert tree.root.hex() == answer["root"], n
        assert [[p.hex() for p in proof] for proof in tree.proofs()] == answer["proofs"], n
        assert [[p.hex() for p in tree.proof(leaf)] for leaf in leaves] == answer["proofs"], n


def test_js_check_proof_accepts_python_proofs_and_rejects_tampered(js) -> None:
    leaves = leaves_of(5)
    tree = MerkleTree(leaves)
    root = tree.root.hex()
    good = [{"op": "checkProof", "leaf": leaf.hex(), "proof": [p.hex() for p in proof], "root": root}
            for leaf, proof in zip(leaves, tree.proofs())]
    proof = [p.hex() for p in tree.proof(0)]
    bad_step = [("0" if proof[0][0] != "0" else "1") + proof[0][1:]] + proof[1:]
    bad = [
        {"op": "checkProof", "leaf": leaves[0].hex(), "proof": bad_step, "root": root},
        {"op": "checkProof", "leaf": leaves[0].hex(), "proof": proof, "root": keccak256(b"other").hex()},
    ]
    assert js.batch(good + bad) == [True] * 5 + [False, False]


def test_leaves_are_sorted_so_order_does_not_matter() -> None:
    leaves = leaves_of(8)
    assert MerkleTree(leaves).root == MerkleTree(list(reversed(leaves))).root
    assert MerkleTree(leaves).leaves == sorted(leaves)


def test_odd_node_is_carried_up_unchanged() -> None:
    a, b, c = sorted(leaves_of(3))
    tree = MerkleTree([c, a, b])
    assert tree.root == combine(combine(a, b), c)
    assert tree.proof(c) == [combine(a, b)]  # no proof element at the level where c had no sibling
    assert tree.proof(a) == [b, c]
    five = sorted(leaves_of(5))
    t5 = MerkleTree(five)
    top = combine(combine(five[0], five[1]), combine(five[2], five[3]))
    assert t5.root == combine(top, five[4])
    assert t5.proof(4) == [top]


def test_parent_is_keccak_of_sorted_pair() -> None:
    a, b = leaves_of(2)
    lo, hi = sorted((a, b))
    assert combine(a, b) == combine(b, a) == keccak256(lo + hi)


def test_single_leaf_is_its_own_root() -> None:
    (leaf,) = leaves_of(1)
    tree = MerkleTree([leaf])
    assert tree.root == leaf and tree.proof(0) == [] and verify_proof(leaf, [], leaf)


def test_proof_by_index_follows_given_order_and_all_proofs_verify() -> None:
    leaves = leaves_of(1000)
    leaves[10] = leaves[500]  # duplicates are allowed, as in JS
    tree = MerkleTree(leaves)
    proofs = tree.proofs()
    assert len(proofs) == len(leaves) == len(tree)
    for i in (0, 10, 499, 500, 999):
        assert tree.proof(i) == proofs[i]
    assert all(verify_proof(leaf, proof, tree.root) for leaf, proof in zip(leaves, proofs))


@pytest.mark.parametrize("n", SIZES)
def test_tampering_fails(n: int) -> None:
    leaves = leaves_of(n)
    tree = MerkleTree(leaves)
    leaf, proof = leaves[-1], tree.proof(len(leaves) - 1)
    assert verify_proof(leaf, proof, tree.root)
    assert not verify_proof(keccak256(b"not a leaf"), proof, tree.root)
    assert not verify_proof(leaf, proof, keccak256(tree.root))
    if proof:
        changed = bytes([proof[0][0] ^ 1]) + proof[0][1:]
        assert not verify_proof(leaf, [changed, *proof[1:]], tree.root)
        assert not verify_proof(leaf, proof[:-1], tree.root)


def test_bad_input_raises_merkle_error() -> None:
    with pytest.raises(MerkleError, match="at least one leaf"):
        MerkleTree([])
    with pytest.raises(MerkleError, match="leaf 1 must be 32 bytes"):
        MerkleTree([bytes(32), bytes(31)])
    with pytest.raises(MerkleError, match="must be 32 bytes, got str"):
        MerkleTree(["00" * 32])  # type: ignore[list-item]
    tree = MerkleTree(leaves_of(3))
    with pytest.raises(MerkleError, match="not in the tree"):
        tree.proof(keccak256(b"missing"))
    with pytest.raises(MerkleError, match="out of range"):
        tree.proof(3)
    with pytest.raises(MerkleError, match="proof element 0 must be 32 bytes"):
        verify_proof(bytes(32), [b"short"], bytes(32))
    assert issubclass(MerkleError, ValueError)
