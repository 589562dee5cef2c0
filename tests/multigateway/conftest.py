"""Several department gateways, each a real `alliance up` process with its own keys and database,
sharing one anvil node reached over plain JSON-RPC (as a remote Besu validator would be)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from chain.config import NodeSettings
from chain.node import AnvilNode
from tests.conftest import PASSPHRASE, _fresh_pg_database, free_port
from tests.integration.conftest import Product

REMOTE_CHAIN_ID = 4343  # not the embedded default: nothing here may start a node of its own


@dataclass
class Gateway(Product):
    """A department's gateway; ``global_args`` go before the subcommand of its `alliance up`."""

    global_args: tuple[str, ...] = ()

    def up(self, timeout: float = 90) -> None:
        log = self.data_dir / f"up-{len(self.logs)}.log"
        self.logs.append(log)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "--data-dir", str(self.data_dir), *self.global_args, "up"],
            env=self.env, stdout=open(log, "wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"alliance up exited {self.process.returncode}: {log.read_text()[-3000:]}")
            try:
                if requests.get(self.url + "/health", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError(f"alliance up did not serve within {timeout}s: {log.read_text()[-3000:]}")


@pytest.fixture
def remote_node(tmp_path: Path) -> Iterator[AnvilNode]:
    """One anvil node on a free port that no gateway starts or supervises: the alliance's shared chain."""
    node = AnvilNode(NodeSettings(port=free_port(), chain_id=REMOTE_CHAIN_ID), tmp_path / "remote-node")
    node.start()
    yield node
    node.stop()


@pytest.fixture
def gateways(tmp_path: Path) -> Iterator[dict[str, Gateway]]:
    """Make gateways with ``make(name)``; every process started is stopped afterwards."""
    env = {**os.environ, "ALLIANCE_PASSPHRASE": PASSPHRASE, "ALLIANCE_USER_PASSWORD": "login-password-1"}
    made: dict[str, Gateway] = {}

    def make(name: str, **kwargs) -> Gateway:
        made[name] = Gateway(data_dir=tmp_path / name, node_port=0, gateway_port=free_port(), env=env, **kwargs)
        return made[name]

    yield make  # type: ignore[misc]
    for gateway in made.values():
        gateway.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def second_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """The second department's database: its own SQLite file ("" = the default in its data dir), or a fresh
    database on the PostgreSQL server (skipped, saying why, where none answers)."""
    if request.param == "sqlite":
        yield ""
        return
    url, drop = _fresh_pg_database(request.getfixturevalue("pg_server"))
    yield url
    drop()
