"""No document is lost when the gateway dies with a batch half-built: uploads answered 201 are in
SQL before the answer, and after a SIGKILL and a restart through the CLI every one is anchored."""

from __future__ import annotations

import signal
import time

import pytest
import requests

from tests.integration.conftest import Product, login

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


def _wait_anchored(product: Product, headers: dict, digests: list[str], timeout: float = 60) -> dict[str, dict]:
    deadline = time.monotonic() + timeout
    receipts: dict[str, dict] = {}
    while time.monotonic() < deadline:
        for sha in digests:
            if sha not in receipts:
                r = requests.get(f"{product.url}/documents/{sha}", headers=headers, timeout=10)
                if r.ok and r.json()["status"] == "anchored":
                    receipts[sha] = r.json()
        if len(receipts) == len(digests):
            return receipts
        time.sleep(0.2)
    raise AssertionError(f"{len(digests) - len(receipts)} of {len(digests)} documents not anchored")


def test_uploads_survive_a_sigkill_before_anchoring(product: Product) -> None:
    # a long batch window, so the kill lands while the batch is still being collected
    config = product.data_dir / "config.toml"
    config.write_text(config.read_text().replace("batch_seconds = 1.0", "batch_seconds = 30.0"))
    product.cli("users", "add", "market", "--member", "MARKET-admin")
    product.up()
    headers = login(product, "market")
    digests = []
    for i in range(25):
        r = requests.post(f"{product.url}/documents", headers=headers, timeout=10,
                          files={"file": (f"doc-{i}.txt", f"document number {i}".encode(), "text/plain")})
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "pending"
        digests.append(r.json()["sha256"])
    product.stop(signal.SIGKILL)
    product.kill_node()
    config.write_text(config.read_text().replace("batch_seconds = 30.0", "batch_seconds = 0.5"))
    product.up()
    headers = login(product, "market")
    receipts = _wait_anchored(product, headers, digests)
    roots = {r["root"] for r in receipts.values()}
    assert len(roots) == 1, "the 25 pending leaves should go into one batch"
    for sha, receipt in receipts.items():
        assert receipt["tx_hash"] and receipt["block_number"] and receipt["proof"] is not None
        verdict = requests.get(f"{product.url}/verify/document/{sha}", timeout=10).json()
        assert verdict["status"] == "VALID", verdict
