"""The `alliance` command line on a real embedded node: the happy path and its one-line errors."""

from __future__ import annotations

import json
import re
import sys
import subprocess

import pytest
import requests

from tests.conftest import FAST_SCRYPT, PASSPHRASE, free_port
from tests.integration.conftest import Product, login

pytestmark = pytest.mark.anvil


def _one_line_error(result: subprocess.CompletedProcess, pattern: str) -> None:
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("alliance: error: "), result.stderr
    assert re.search(pattern, lines[-1]), lines[-1]
    assert "Traceback" not in result.stderr


def test_up_status_and_governance_through_the_cli(product: Product) -> None:
    product.up()
    # status reads the 14 departments from the chain
    text = product.cli("status").stdout
    assert "deployment: consistent with the chain" in text
    assert "14 active departments, threshold 10" in text
    for code in ("APPROVAL", "DISCIPLINE", "FINANCE", "MARKET", "TALENT"):
        assert re.search(rf"^\s+{code}\s", text, re.M), text
    assert "市场监督管理局" in text
    status = json.loads(product.cli("status", "--json").stdout)
    assert len(status["departments"]) == 14 and status["alliance"]["sealed"] is True

    # a member change proposed by one governor and approved by nine more departments
    new_account = "0x" + "ab" * 20
    out = json.loads(product.cli("members", "propose", "add", "--account", new_account, "--department", "MARKET",
                                 "--roles", "issuer,reviewer", "--as", "MARKET-admin", "--json").stdout)
    proposal_id = out["proposal"]["id"]
    assert out["proposal"]["status"] == "open" and out["proposal"]["approvals"] == 1
    approvers = ["APPROVAL", "DISCIPLINE", "FINANCE", "DRC", "TAX", "HRSS", "SCITECH", "COMMERCE", "INDUSTRY"]
    for dept in approvers:
        out = json.loads(product.cli("members", "approve", str(proposal_id), "--as", f"{dept}-admin",
                                     "--json").stdout)
    assert out["proposal"]["status"] == "executed" and out["proposal"]["approvals"] == 10
    members = json.loads(product.cli("members", "list", "--json").stdout)
    added = [m for m in members if m["account"].lower() == new_account]
    assert added and added[0]["department"] == "MARKET" and added[0]["roles"] == ["issuer", "reviewer"]

    # approving twice is refused with the contract's own error
    again = product.cli("members", "approve", str(proposal_id), "--as", "TAX-admin", check=False)
    _one_line_error(again, r"ProposalNotOpen\(id=%d" % proposal_id)
    # the running gateway sees the new member through the event indexer and the chain
    headers = login_as(product, "market", "MARKET-admin")
    r = requests.get(product.url + "/alliance/members", headers=headers, timeout=10)
    assert any(m["account"].lower() == new_account for m in r.json())


def login_as(product: Product, username: str, alias: str) -> dict[str, str]:
    product.cli("users", "add", username, "--member", alias)
    return login(product, username)


def test_restart_keeps_the_deployment(product: Product) -> None:
    product.up()
    first = json.loads(product.cli("status", "--json").stdout)
    product.stop()
    product.up()
    second = json.loads(product.cli("status", "--json").stdout)
    assert second["contracts"] == first["contracts"]
    assert second["node"]["head"] >= first["node"]["head"]
    assert second["deployment_problems"] == []


def test_errors_are_one_line_and_non_zero(product: Product, tmp_path) -> None:
    # missing configuration
    r = subprocess.run([sys.executable, "-m", "gateway.cli", "--data-dir", str(tmp_path / "nowhere"), "status"],
                       capture_output=True, text=True, env=product.env)
    _one_line_error(r, r"no configuration at .*run `alliance init` first")
    # initialising twice
    _one_line_error(product.cli("init", check=False), r"already initialised")
    # node unreachable (the product is not up)
    _one_line_error(product.cli("status", check=False), r"node unreachable at http://127\.0\.0\.1:\d+")
    # wrong passphrase
    _one_line_error(product.cli("deploy", env={"ALLIANCE_PASSPHRASE": "not-the-passphrase"}, check=False),
                    r"wrong passphrase for keystore")
    # no passphrase and no terminal
    env = {k: v for k, v in product.env.items() if k != "ALLIANCE_PASSPHRASE"}
    r = subprocess.run([sys.executable, "-m", "gateway.cli", "--data-dir", str(product.data_dir), "deploy"],
                       capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    _one_line_error(r, r"no passphrase: set \$ALLIANCE_PASSPHRASE")
    # bad input to a command
    product.up()
    _one_line_error(product.cli("members", "propose", "add", "--account", "0x12", "--department", "MARKET",
                                "--roles", "issuer", "--as", "MARKET-admin", check=False), r"0x12")
    _one_line_error(product.cli("members", "propose", "add", "--account", "0x" + "cd" * 20, "--department",
                                "MARKET", "--roles", "wizard", "--as", "MARKET-admin", check=False),
                    r"unknown role 'wizard'")
    _one_line_error(product.cli("members", "approve", "999", "--as", "TAX-admin", check=False),
                    r"UnknownProposal\(id=999\)")
    _one_line_error(product.cli("users", "add", "x", "--enterprise", "not-a-uscc", check=False), r"username|uscc")


def test_wrong_chain_id_is_refused(tmp_path) -> None:
    """A data directory that expects one chain refuses a node reporting another."""
    import os

    env = {**os.environ, "ALLIANCE_PASSPHRASE": PASSPHRASE}
    first = Product(data_dir=tmp_path / "a", node_port=free_port(), gateway_port=free_port(), env=env)
    first.cli("init", "--node-port", str(first.node_port), "--gateway-port", str(first.gateway_port),
              "--scrypt-n", str(FAST_SCRYPT))
    first.up()
    try:
        other = Product(data_dir=tmp_path / "b", node_port=free_port(), gateway_port=free_port(), env=env)
        other.cli("init", "--rpc-url", first.rpc_url, "--chain-id", "777", "--scrypt-n", str(FAST_SCRYPT))
        _one_line_error(other.cli("status", check=False), r"reports chain id 4242, expected 777")
    finally:
        first.stop()


def test_network_besu_generates_a_network_for_the_alliance(product: Product, tmp_path) -> None:
    out = tmp_path / "besu"
    result = json.loads(product.cli("network", "besu", "--out", str(out), "--chain-id", "2024", "--json").stdout)
    assert result["validators"] == 14 and result["fault_tolerance"] == 4
    assert (out / "genesis.json").exists() and len(list((out / "nodes").iterdir())) == 14
    _one_line_error(product.cli("network", "besu", "--out", str(out), "--chain-id", "2024", check=False),
                    r"not empty|exists|overwrite")
    _one_line_error(product.cli("network", "besu", "--out", str(tmp_path / "b"), "--chain-id", "0", check=False),
                    r"chain id")


def test_oracle_sample_ingest_and_facts_through_the_cli(product: Product, tmp_path) -> None:
    sample = tmp_path / "sample"
    product.cli("oracle", "sample", "--out", str(sample), "--enterprises", "20", "--seed", "5")
    product.up()
    report = json.loads(product.cli("oracle", "ingest", str(sample / "registry.csv"), "--json").stdout)
    assert report["data_type"] == "ENTERPRISE_REGISTRY" and report["attested"] == report["good_lines"] == 20
    again = json.loads(product.cli("oracle", "ingest", str(sample / "registry.csv"), "--json").stdout)
    assert again["attested"] == 0 and again["unchanged"] == 20
    import csv as _csv

    uscc = next(_csv.DictReader(open(sample / "registry.csv", encoding="utf-8-sig")))["uscc"]
    facts = json.loads(product.cli("oracle", "facts", uscc).stdout)["facts"]
    assert facts[0]["provenance"]["source_department"] == "MARKET" and facts[0]["accepted_on_chain"] is True
    bad = tmp_path / "bad.csv"
    bad.write_text("nothing,we,know\n1,2,3\n")
    _one_line_error(product.cli("oracle", "ingest", str(bad), check=False), r"bad\.csv: .*")
