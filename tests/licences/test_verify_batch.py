"""The batched verification path (``verify_licences``) and the prefetching single path
(``verify_licence``) give the same verdicts, fragment for fragment, as reading every fact live
through web3 — on a real anvil node, where the reads really are JSON-RPC batches.

The reference is ``verify_licence`` over stand-in contracts with no prefetched answers: every
call then goes through web3 one by one, as the verifier did before batching existed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from chain.alliance import AllianceSpec
from chain.config import NodeSettings
from chain.db import make_engine, session_factory
from chain.keystore import Keyring
from chain.ledger import Ledger
from chain.node import AnvilNode
from chain.node_http import NodeConnections
from gateway import db as gateway_db
from gateway.documents import openattestation as oa
from gateway.services import licences as svc
from gateway.verification.licences import Contracts, record_consistency, verify_licence, verify_licences
from gateway.verification.prefetch import Prefetch
from tests.conftest import free_port, make_context, make_settings
from tests.chain.chain_support import anvil_available


pytestmark = [pytest.mark.anvil, pytest.mark.skipif(not anvil_available(), reason="anvil binary not installed")]
NOW = 1_800_000_000  # 2027-01-15: within the validity of the licences below, after the expired one's end


@dataclass
class Issued:
    ctx: Any
    contracts: Contracts
    documents: dict[str, dict[str, Any]]  # what each document is -> the document
    rows: dict[str, Any]


def _draft(n: int, **over: Any) -> svc.LicenceDraft:
    base = dict(licence_type="BUSINESS_LICENCE", number=f"BATCH-{n:04d}", holder_uscc=f"91350100MA{n:08d}",
                holder_name=f"批量核验测试{n}有限公司", valid_from="2024-01-01", valid_until="2030-12-31",
                fields={"registeredCapital": 1000 + n, "address": f"测试路{n}号"})
    base.update(over)
    return svc.LicenceDraft(**base)


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory, alliance_spec: AllianceSpec, keyring: Keyring) -> Iterator[Issued]:
    data = tmp_path_factory.mktemp("verify-batch")
    url = f"sqlite:///{data / 'gateway.db'}"
    gateway_db.upgrade(url)
    node = AnvilNode(NodeSettings(port=free_port()), data / "node")
    node.start()
    engine = make_engine(url)
    try:
        ledger = Ledger.open(make_settings(data, url, rpc_url=node.url), alliance_spec, keyring,
                             session_factory(engine))
        ledger.ensure_deployed()
        ledger.bootstrap()
        ctx = make_context(ledger.settings, ledger)
        market = keyring.account("MARKET-admin")
        rows = svc.issue(ctx, market, "MARKET", [_draft(n) for n in range(1, 8)])
        rows += svc.issue(ctx, market, "MARKET", [_draft(20, valid_from="2019-01-01", valid_until="2020-12-31")])
        by = {"valid": rows[0], "valid_2": rows[1], "suspended": rows[2], "revoked": rows[3], "old": rows[4],
              "expired": rows[7]}
        svc.suspend(ctx, market, by["suspended"].id, 7)
        svc.revoke(ctx, market, by["revoked"].id, 3)
        by["renewal"] = svc.renew(ctx, market, "MARKET", by["old"].id, _draft(30, holder_uscc=by["old"].holder_uscc))
        docs = {name: svc.document(row) for name, row in by.items()}
        tampered = copy.deepcopy(docs["valid_2"])
        tampered["data"]["holderName"] = tampered["data"]["holderName"].rsplit(":", 1)[0] + ":别的公司"
        docs["tampered"] = tampered
        docs["obfuscated"] = oa.obfuscate(svc.document(rows[5]), ["address"])
        forged = oa.wrap_document({**oa.unsalt(svc.document(rows[6])), "id": "0x" + "ab" * 32})
        docs["unknown_licence_unanchored"] = forged  # getLicence reverts; its root was never anchored
        no_signature = copy.deepcopy(docs["valid"])
        del no_signature["signature"]
        docs["no_signature"] = no_signature
        docs["not_a_document"] = {"data": "nothing", "signature": {"merkleRoot": "zz"}}
        yield Issued(ctx=ctx, contracts=svc.contracts(ctx), documents=docs, rows=by)
        ledger.close()
    finally:
        engine.dispose()
        node.stop()


def _live_only(contracts: Contracts) -> Contracts:
    """Stand-ins with nothing prefetched: every read is made live through web3, one by one."""
    empty = Prefetch()
    return Contracts(empty.contract(contracts.licences), empty.contract(contracts.registry))


def _fragments(verdict: Any) -> dict[str, tuple[str, str, str]]:
    return {f["name"]: (f["status"], f["reason"], repr(f["data"])) for f in verdict.to_dict()["fragments"]}


def test_the_documents_cover_every_outcome(issued: Issued) -> None:
    verdicts = {name: verify_licence(doc, _live_only(issued.contracts), NOW) for name, doc in issued.documents.items()}
    status = {name: _fragments(v) for name, v in verdicts.items()}
    assert verdicts["valid"].status == "VALID" and verdicts["obfuscated"].status == "VALID"
    assert verdicts["renewal"].status == "VALID"
    assert status["suspended"]["LicenceStatus"][0] == "INVALID" and "suspended" in status["suspended"]["LicenceStatus"][1]
    assert "revoked" in status["revoked"]["LicenceStatus"][1]
    assert "superseded" in status["old"]["LicenceStatus"][1]
    assert status["expired"]["LicenceValidity"][1] == "expired"
    assert status["tampered"]["OpenAttestationHash"][0] == "INVALID"
    assert status["unknown_licence_unanchored"]["LicenceRecord"][0] == "ERROR"  # the contract reverts UnknownLicence
    assert status["unknown_licence_unanchored"]["LicenceIssued"][0] == "INVALID"
    assert all(v.status != "VALID" for n, v in verdicts.items() if n not in ("valid", "valid_2", "obfuscated", "renewal"))


def test_batch_and_single_paths_agree_with_live_reads(issued: Issued) -> None:
    names = list(issued.documents)
    docs = [issued.documents[n] for n in names] * 2  # repeats: answers shared between documents
    reference = [_fragments(verify_licence(d, _live_only(issued.contracts), NOW)) for d in docs]
    single = [_fragments(verify_licence(d, issued.contracts, NOW)) for d in docs]
    for chunk in (1, 3, 1000):
        batch = [_fragments(v) for v in verify_licences(docs, issued.contracts, NOW, chunk=chunk)]
        assert batch == reference, f"chunk={chunk}"
    assert single == reference
    for name, fragments in zip(names, reference):
        assert fragments == _fragments(verify_licence(issued.documents[name], issued.contracts, NOW)), name


def test_worker_processes_agree(issued: Issued, monkeypatch: pytest.MonkeyPatch) -> None:
    import gateway.verification.licences as verification

    monkeypatch.setattr(verification, "PARALLEL_MIN_PER_PROCESS", 1)
    docs = list(issued.documents.values()) * 2
    reference = [_fragments(verify_licence(d, _live_only(issued.contracts), NOW)) for d in docs]
    for processes in (2, 3):
        verdicts = verify_licences(docs, issued.contracts, NOW, chunk=4, processes=processes)
        assert [_fragments(v) for v in verdicts] == reference, f"processes={processes}"


def test_record_consistency_agrees(issued: Issued) -> None:
    for name, row in issued.rows.items():
        live = record_consistency(row, _live_only(issued.contracts))
        assert record_consistency(row, issued.contracts) == live, name


def test_valid_documents_need_no_live_reads(issued: Issued, monkeypatch: pytest.MonkeyPatch) -> None:
    """Everything a well-formed, anchored licence's verdict reads comes from the batches."""
    docs = [issued.documents[n] for n in ("valid", "valid_2", "suspended", "revoked", "old", "expired", "renewal",
                                          "obfuscated", "tampered")]
    expected = [_fragments(v) for v in verify_licences(docs, issued.contracts, NOW)]
    calls: list[str] = []  # JSON-RPC requests sent one at a time (batches are JSON arrays)
    real, real_direct = requests.Session.post, NodeConnections.post

    def count(data: Any) -> None:
        body = data.decode() if isinstance(data, bytes) else str(data)
        if not body.lstrip().startswith("["):
            calls.append(json.loads(body)["method"])

    def counting(self: requests.Session, url: str, data: Any = None, **kwargs: Any) -> Any:
        count(data)
        return real(self, url, data=data, **kwargs)

    def counting_direct(self: NodeConnections, body: bytes, *args: Any, **kwargs: Any) -> Any:
        count(body)
        return real_direct(self, body, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "post", counting)  # https:// nodes, other providers
    monkeypatch.setattr(NodeConnections, "post", counting_direct)  # kept-alive sockets to a plain http:// node
    assert [_fragments(v) for v in verify_licences(docs, issued.contracts, NOW)] == expected
    assert calls == []
    assert _fragments(verify_licence(docs[0], issued.contracts, NOW)) == expected[0]
    assert calls == []
    assert _fragments(verify_licence(docs[0], _live_only(issued.contracts), NOW)) == expected[0]
    assert "eth_call" in calls  # the counter does see web3's reads


def test_prefetched_values_are_what_web3_returns(issued: Issued) -> None:
    lic = issued.contracts.licences
    row = issued.rows["suspended"]
    lid = bytes.fromhex(row.id[2:])
    root = bytes.fromhex(row.merkle_root[2:])
    ahead = Prefetch()
    for name, args in (("getLicence", (lid,)), ("statusOf", (lid,)), ("isIssued", (root,)),
                       ("getIssuedBlock", (root,))):
        ahead.want(lic, name, *args)
    ahead.fetch()
    for name, args in (("getLicence", (lid,)), ("statusOf", (lid,)), ("isIssued", (root,)),
                       ("getIssuedBlock", (root,))):
        found, value = ahead.answered(lic, name, *args)
        live = getattr(lic.functions, name)(*args).call()
        assert found and value == live and type(value) is type(live), name
        if isinstance(live, tuple):
            assert [type(v) for v in value] == [type(v) for v in live]


def test_reads_survive_a_node_restart_with_kept_alive_connections(tmp_path) -> None:
    """The batched reads keep idle connections to the node for the next verification; after the node
    restarts, those connections are dead, and the next read still gets its answer (on a new one)."""
    import socket

    from chain.node_http import NodeHTTPProvider
    from gateway.verification import prefetch

    port = free_port()
    node = AnvilNode(NodeSettings(port=port), tmp_path / "node")
    node.start()
    provider = NodeHTTPProvider(node.url)
    ask = b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}'
    try:
        chain_id = prefetch._post(provider, ask)["result"]
        for _ in range(2):  # two more kept-alive connections, as threads reading at once would leave
            provider.connections._give_back(socket.create_connection(provider.connections.address))
        node.stop()
        node = AnvilNode(NodeSettings(port=port), tmp_path / "node")
        node.start()
        assert prefetch._post(provider, ask)["result"] == chain_id
        assert prefetch._post(provider, ask)["result"] == chain_id
    finally:
        node.stop()
