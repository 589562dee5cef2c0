"""Helpers for tests that drive the real product through its CLI: `alliance init`, `alliance up`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.conftest import FAST_SCRYPT, PASSPHRASE, free_port


@dataclass
class Product:
    """One data directory and the `alliance up` process serving it."""

    data_dir: Path
    node_port: int
    gateway_port: int
    env: dict[str, str]
    process: subprocess.Popen | None = None
    logs: list[Path] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.node_port}"

    def cli(self, *args: str, env: dict[str, str] | None = None, check: bool = True,
            timeout: float = 120) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "gateway.cli", "--data-dir", str(self.data_dir), *args],
                                env={**self.env, **(env or {})}, capture_output=True, text=True, timeout=timeout,
                                stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise AssertionError(f"alliance {' '.join(args)} exited {result.returncode}: {result.stderr[-2000:]}")
        return result

    def up(self, timeout: float = 90) -> None:
        log = self.data_dir / f"up-{len(self.logs)}.log"
        self.logs.append(log)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "--data-dir", str(self.data_dir), "up"],
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

    def node_pid(self) -> int | None:
        path = self.data_dir / "node" / "anvil.pid"
        return int(path.read_text()) if path.exists() else None

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill_node(self) -> None:
        pid = self.node_pid()
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def product(tmp_path: Path):
    """An initialised data directory (embedded node, SQLite) with a login per department governor."""
    env = {**os.environ, "ALLIANCE_PASSPHRASE": PASSPHRASE, "ALLIANCE_USER_PASSWORD": "login-password-1"}
    p = Product(data_dir=tmp_path / "data", node_port=free_port(), gateway_port=free_port(), env=env)
    p.cli("init", "--node-port", str(p.node_port), "--gateway-port", str(p.gateway_port),
          "--scrypt-n", str(FAST_SCRYPT))
    yield p
    p.stop()
    p.kill_node()  # only if something went wrong: a clean stop already ended it


def login(product: Product, username: str, password: str = "login-password-1") -> dict[str, str]:
    r = requests.post(product.url + "/auth/login", json={"username": username, "password": password}, timeout=10)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}
