"""Backup and restore of a running gateway's data directory, through the CLI."""

from __future__ import annotations

import gzip
import json

import pytest
import requests

from tests.integration.conftest import Product, login

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


def test_backup_while_running_then_restore_elsewhere(product: Product, tmp_path) -> None:
    product.cli("users", "add", "market", "--member", "MARKET-admin")
    product.up()
    headers = login(product, "market")
    r = requests.post(f"{product.url}/licences", headers=headers, timeout=30, json={
        "licence_type": "BUSINESS_LICENCE", "number": "BK-1", "holder_uscc": "91350100MA2Y0001XA",
        "holder_name": "备份测试有限公司", "valid_from": "2026-01-01", "valid_until": "2030-12-31"})
    assert r.status_code == 201, r.text
    licence_id = r.json()["licence"]["id"]
    r = requests.post(f"{product.url}/documents", headers=headers, timeout=10,
                      files={"file": ("scan.txt", b"a scanned certificate", "text/plain")})
    sha = r.json()["sha256"]
    archive = tmp_path / "backup.tar.gz"
    out = json.loads(product.cli("backup", "--out", str(archive), "--json").stdout)
    assert out["files"] > 10 and "included" in out["database"]
    product.stop()

    restored = Product(data_dir=tmp_path / "restored", node_port=product.node_port,
                       gateway_port=product.gateway_port, env=product.env)
    out = json.loads(restored.cli("restore", str(archive), "--json").stdout)
    assert out["restored"] == str(restored.data_dir)
    try:
        restored.up()
        headers = login(restored, "market")
        verdict = requests.get(f"{restored.url}/verify/licence/{licence_id}", timeout=30).json()
        assert verdict["status"] == "VALID", verdict
        assert requests.get(f"{restored.url}/documents/{sha}/content", headers=headers,
                            timeout=10).content == b"a scanned certificate"
        status = json.loads(restored.cli("status", "--json").stdout)
        assert len(status["departments"]) == 14 and status["deployment_problems"] == []
    finally:
        restored.stop()

    # refusals: a non-empty target, a damaged archive
    again = restored.cli("restore", str(archive), check=False)
    assert again.returncode != 0 and "not empty" in again.stderr.splitlines()[-1]
    damaged = tmp_path / "damaged.tar.gz"
    damaged.write_bytes(gzip.compress(b"not a tar"))
    bad = Product(data_dir=tmp_path / "x", node_port=1, gateway_port=1, env=product.env)
    r = bad.cli("restore", str(damaged), check=False)
    assert r.returncode != 0 and r.stderr.splitlines()[-1].startswith("alliance: error: cannot read backup")
