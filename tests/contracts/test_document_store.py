"""DocumentStore on eth-tester: batch anchoring by OPERATOR / ISSUER members, revocation of one
document inside a batch with an OpenAttestation v2 Merkle proof, of a subtree or of the whole
batch, department checks, events, and the stock OpenAttestation verifier's view."""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils import keccak

from chain.artifacts import load
from tests.contracts.conftest import (
    ISSUER,
    MARKET,
    OPERATOR,
    assert_reverts,
    bootstrap_ledger_registry,
    code,
    deploy_contract,
    events,
    ledger_people,
    send,
)

WRITER_ROLES = OPERATOR | ISSUER
ZERO = b"\0" * 32


# ---------------------------------------------------------------- OpenAttestation v2 Merkle tree (test helper)


def hash_pair(a: bytes, b: bytes) -> bytes:
    """Parent of two nodes: keccak256 of the pair in ascending byte order."""
    return keccak(min(a, b) + max(a, b))


def oa_layers(leaves: list[bytes]) -> list[list[bytes]]:
    """Every level from the leaves to the root; an odd last node is promoted unchanged."""
    layers = [list(leaves)]
    while len(layers[-1]) > 1:
        prev = layers[-1]
        layers.append([hash_pair(prev[i], prev[i + 1]) if i + 1 < len(prev) else prev[i]
                       for i in range(0, len(prev), 2)])
    return layers


def oa_proof(layers: list[list[bytes]], index: int) -> list[bytes]:
    """The sibling of the node on each level where it has one (a promoted node has none)."""
    proof = []
    for layer in layers[:-1]:
        pair = index ^ 1
        if pair < len(layer):
            proof.append(layer[pair])
        index //= 2
    return proof


def oa_check(proof: list[bytes], root: bytes, leaf: bytes) -> bool:
    node = leaf
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node == root


def path_hashes(leaf: bytes, proof: list[bytes]) -> list[bytes]:
    """The hashes the stock oa-verify asks `isRevoked` about: the leaf and each node up to the root."""
    hashes = [leaf]
    for sibling in proof:
        hashes.append(hash_pair(hashes[-1], sibling))
    return hashes


def oa_verdict(store, leaf: bytes, proof: list[bytes]) -> str:
    hashes = path_hashes(leaf, proof)
    if not store.functions.isIssued(hashes[-1]).call():
        return "not issued"
    return "revoked" if any(store.functions.isRevoked(h).call() for h in hashes) else "valid"


def leaves(prefix: str, n: int) -> list[bytes]:
    """Stand-ins for the targetHashes of ``n`` documents."""
    return [keccak(text=f"{prefix} document {i}") for i in range(n)]


def test_the_python_tree_is_the_openattestation_tree() -> None:
    a, b, c, d, e = leaves("shape", 5)
    layers = oa_layers([a, b, c, d, e])
    ab, cd = hash_pair(a, b), hash_pair(c, d)
    assert layers == [[a, b, c, d, e], [ab, cd, e], [hash_pair(ab, cd), e], [hash_pair(hash_pair(ab, cd), e)]]
    assert hash_pair(a, b) == hash_pair(b, a)
    assert oa_proof(layers, 2) == [d, ab, e]
    assert oa_proof(layers, 4) == [hash_pair(ab, cd)]  # promoted twice: one proof step
    assert oa_layers([a]) == [[a]] and oa_proof(oa_layers([a]), 0) == []  # one leaf: root == leaf
    for i, leaf in enumerate([a, b, c, d, e]):
        assert oa_check(oa_proof(layers, i), layers[-1][0], leaf)
    assert not oa_check(oa_proof(layers, 1), layers[-1][0], c)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def people(accounts: list[str]) -> dict[str, str]:
    return ledger_people(accounts)


@pytest.fixture(scope="module")
def registry(w3, people):
    """Overrides the conftest registry: the licence / document alliance."""
    return bootstrap_ledger_registry(w3, people)


@pytest.fixture(scope="module")
def module_contracts(w3, registry, people) -> dict[str, Any]:
    return {"store": deploy_contract(w3, "DocumentStore", registry.address, sender=people["admin"])}


@pytest.fixture
def store(module_contracts):
    return module_contracts["store"]


@pytest.fixture
def batch(store, people):
    """Five documents anchored by the MARKET operator: (leaves, layers, root)."""
    docs = leaves("batch", 5)
    layers = oa_layers(docs)
    root = layers[-1][0]
    send(store.functions.anchor(root, 5), people["market_operator"])
    return docs, layers, root


# ---------------------------------------------------------------- deployment and identity


def test_deployed_code_is_the_artifact_and_names_the_store(w3, store, registry) -> None:
    assert w3.eth.get_code(store.address).hex().removeprefix("0x") == load("DocumentStore").deployed_bytecode[2:]
    assert store.functions.registry().call() == registry.address
    assert store.functions.name().call() == "Alliance Ledger documents"
    assert store.functions.version().call() == "1.0.0"
    assert store.functions.WRITER_ROLES().call() == WRITER_ROLES


# ---------------------------------------------------------------- anchoring


@pytest.mark.parametrize("who, dept", [("market_operator", "MARKET"), ("market_issuer", "MARKET"),
                                       ("approval_operator", "APPROVAL"), ("health_issuer", "HEALTH")])
def test_an_operator_or_issuer_anchors_a_batch_for_its_department(w3, store, people, who, dept) -> None:
    dept = code(dept)
    root = oa_layers(leaves(who, 3))[-1][0]
    assert not store.functions.isIssued(root).call()
    receipt = send(store.functions.anchor(root, 3), people[who])
    assert events(receipt, store, "BatchAnchored") == [
        {"root": root, "department": dept, "count": 3, "by": people[who]}]
    assert store.functions.isIssued(root).call()
    assert store.functions.getIssuedBlock(root).call() == receipt.blockNumber
    timestamp = w3.eth.get_block(receipt.blockNumber).timestamp
    assert store.functions.getBatch(root).call() == (receipt.blockNumber, timestamp, dept, 3, people[who])


@pytest.mark.parametrize("who", ["outsider", "admin", "market_reviewer", "tax_finance"])
def test_anchor_is_refused_without_operator_or_issuer(store, people, who) -> None:
    root = leaves("refused", 1)[0]
    assert_reverts(store.functions.anchor(root, 1), "MissingRole", people[who], WRITER_ROLES, sender=people[who])
    assert not store.functions.isIssued(root).call()


def test_anchor_refusals(store, people, batch) -> None:
    _, _, root = batch
    operator = people["market_operator"]
    assert_reverts(store.functions.anchor(root, 5), "BatchExists", root, sender=operator)
    # another department cannot take over an anchored root either
    assert_reverts(store.functions.anchor(root, 5), "BatchExists", root, sender=people["approval_operator"])
    assert_reverts(store.functions.anchor(leaves("x", 1)[0], 0), "EmptyBatch", sender=operator)
    assert_reverts(store.functions.anchor(ZERO, 1), "ZeroRoot", sender=operator)
    assert store.functions.getBatch(root).call()[2] == MARKET


def test_unknown_batches(store, people) -> None:
    unknown = leaves("unknown", 1)[0]
    assert not store.functions.isIssued(unknown).call()
    assert not store.functions.isRevoked(unknown).call()
    for fn in (store.functions.getIssuedBlock(unknown), store.functions.getBatch(unknown)):
        assert_reverts(fn, "UnknownBatch", unknown, sender=people["outsider"], via=("call",))


# ---------------------------------------------------------------- revoking


def test_revoke_one_document_of_five_with_its_real_proof(store, people, batch) -> None:
    docs, layers, root = batch
    proof = oa_proof(layers, 2)
    receipt = send(store.functions.revoke(docs[2], root, proof, 5), people["market_operator"])
    assert events(receipt, store, "DocumentRevoked") == [
        {"leaf": docs[2], "root": root, "reason": 5, "by": people["market_operator"]}]
    assert [store.functions.isRevoked(d).call() for d in docs] == [False, False, True, False, False]
    assert store.functions.isIssued(root).call()
    assert not store.functions.isRevoked(root).call()
    assert store.functions.revocationReason(docs[2]).call() == 5
    assert store.functions.revocationReason(docs[3]).call() == 0
    revocation = store.functions.getRevocation(docs[2]).call()
    assert revocation[:2] == (root, people["market_operator"]) and revocation[2] > 0 and revocation[3] == 5
    assert store.functions.getRevocation(docs[3]).call() == (ZERO, "0x" + "0" * 40, 0, 0)
    verdicts = [oa_verdict(store, d, oa_proof(layers, i)) for i, d in enumerate(docs)]
    assert verdicts == ["valid", "valid", "revoked", "valid", "valid"]


def test_the_promoted_fifth_leaf_is_revoked_with_its_one_step_proof(store, people, batch) -> None:
    docs, layers, root = batch
    send(store.functions.revoke(docs[4], root, oa_proof(layers, 4), 1), people["market_issuer"])
    assert [oa_verdict(store, d, oa_proof(layers, i)) for i, d in enumerate(docs)] == ["valid"] * 4 + ["revoked"]


def test_revoke_rejects_a_wrong_proof(store, people, batch) -> None:
    docs, layers, root = batch
    operator = people["market_operator"]
    good = oa_proof(layers, 2)
    other = oa_layers(leaves("other", 5))
    send(store.functions.anchor(other[-1][0], 5), operator)
    wrong = {
        "another leaf's proof": oa_proof(layers, 1),
        "a tampered node": [good[0], keccak(good[1]), good[2]],
        "a truncated proof": good[:-1],
        "an extra node": good + [docs[0]],
        "a proof in another batch": oa_proof(other, 2),
        "an empty proof": [],
    }
    for name, proof in wrong.items():
        assert not oa_check(proof, root, docs[2]), name
        assert_reverts(store.functions.revoke(docs[2], root, proof, 1), "InvalidProof", docs[2], root, sender=operator)
    # a leaf that is not in the batch, with a proof of the right shape
    stranger = keccak(text="not in the batch")
    assert_reverts(store.functions.revoke(stranger, root, good, 1), "InvalidProof", stranger, root, sender=operator)
    # the right proof against another anchored root
    assert_reverts(store.functions.revoke(docs[2], other[-1][0], good, 1), "InvalidProof", docs[2], other[-1][0],
                   sender=operator)
    assert not store.functions.isRevoked(docs[2]).call()
    send(store.functions.revoke(docs[2], root, good, 1), operator)
    assert store.functions.isRevoked(docs[2]).call()


def test_revoke_the_whole_batch(store, people, batch) -> None:
    docs, layers, root = batch
    operator = people["market_operator"]
    assert_reverts(store.functions.revoke(root, root, [docs[0]], 1), "InvalidProof", root, root, sender=operator)
    receipt = send(store.functions.revoke(root, root, [], 9), operator)
    assert events(receipt, store, "DocumentRevoked") == [{"leaf": root, "root": root, "reason": 9, "by": operator}]
    assert store.functions.isRevoked(root).call()
    assert store.functions.isIssued(root).call()
    assert [oa_verdict(store, d, oa_proof(layers, i)) for i, d in enumerate(docs)] == ["revoked"] * 5
    assert_reverts(store.functions.revoke(root, root, [], 9), "DocumentAlreadyRevoked", root, sender=operator)


def test_revoke_a_subtree_by_its_intermediate_node(store, people, batch) -> None:
    docs, layers, root = batch
    node, node_proof = layers[1][0], oa_proof(layers[1:], 0)  # hash(a, b) and its path to the root
    send(store.functions.revoke(node, root, node_proof, 2), people["market_operator"])
    assert [oa_verdict(store, d, oa_proof(layers, i)) for i, d in enumerate(docs)] == [
        "revoked", "revoked", "valid", "valid", "valid"]


def test_a_single_document_batch(store, people) -> None:
    leaf = leaves("single", 1)[0]
    send(store.functions.anchor(leaf, 1), people["approval_operator"])
    assert oa_verdict(store, leaf, []) == "valid"
    send(store.functions.revoke(leaf, leaf, [], 4), people["approval_operator"])
    assert oa_verdict(store, leaf, []) == "revoked"


def test_revoking_twice_is_refused(store, people, batch) -> None:
    docs, layers, root = batch
    send(store.functions.revoke(docs[0], root, oa_proof(layers, 0), 1), people["market_operator"])
    # also by another writer of the same department
    assert_reverts(store.functions.revoke(docs[0], root, oa_proof(layers, 0), 2), "DocumentAlreadyRevoked", docs[0],
                   sender=people["market_issuer"])
    assert store.functions.revocationReason(docs[0]).call() == 1


def test_any_writer_of_the_anchoring_department_may_revoke(store, people, batch) -> None:
    docs, layers, root = batch
    send(store.functions.revoke(docs[1], root, oa_proof(layers, 1), 1), people["market_issuer_2"])
    assert store.functions.isRevoked(docs[1]).call()


@pytest.mark.parametrize("who", ["outsider", "admin", "market_reviewer", "tax_finance"])
def test_revoke_is_refused_without_operator_or_issuer(store, people, batch, who) -> None:
    docs, layers, root = batch
    assert_reverts(store.functions.revoke(docs[0], root, oa_proof(layers, 0), 1), "MissingRole", people[who],
                   WRITER_ROLES, sender=people[who])


@pytest.mark.parametrize("who, dept", [("approval_operator", "APPROVAL"), ("health_issuer", "HEALTH"),
                                       ("ip_issuer", "IP")])
def test_revoke_is_refused_to_another_department(store, people, batch, who, dept) -> None:
    dept = code(dept)
    docs, layers, root = batch
    for leaf, proof in ((docs[0], oa_proof(layers, 0)), (root, [])):
        assert_reverts(store.functions.revoke(leaf, root, proof, 1), "NotBatchDepartment", root, dept,
                       sender=people[who])
    assert not store.functions.isRevoked(docs[0]).call()


def test_revoke_in_an_unknown_batch_is_refused(store, people) -> None:
    docs = leaves("never anchored", 2)
    layers = oa_layers(docs)
    assert_reverts(store.functions.revoke(docs[0], layers[-1][0], oa_proof(layers, 0), 1), "UnknownBatch",
                   layers[-1][0], sender=people["market_operator"])
