"""The embedded node: a local anvil process (npm ``@foundry-rs/anvil``) with its state on disk.

anvil loads ``node/state.json`` at start and dumps it on SIGTERM; while it runs, a
``StateDumper`` (``chain.state_dumps``) rewrites the file atomically whenever the chain has
changed, checked every ``state_interval`` seconds. A SIGKILL loses what happened since the last
dump, and a truncated dump (anvil's own exit dump is not atomic) stops anvil from starting: such
a file is moved aside and the chain is rebuilt from the transaction journal (``chain.reconcile``),
the new genesis dated before the journal's first block.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from chain.config import NodeSettings
from chain.errors import NodeUnavailable
from chain.state_dumps import StateDumper

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent
ANVIL_ENV = "ALLIANCE_ANVIL"


def find_anvil() -> Path:
    """The anvil binary: $ALLIANCE_ANVIL, the npm package's platform binary, or anvil on PATH."""
    if os.environ.get(ANVIL_ENV):
        return Path(os.environ[ANVIL_ENV])
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower())
    system = platform.system().lower()
    candidate = ROOT / "node_modules" / "@foundry-rs" / f"anvil-{system}-{arch}" / "bin" / "anvil"
    if candidate.exists():
        return candidate
    found = shutil.which("anvil")
    if found:
        return Path(found)
    raise NodeUnavailable("anvil not found: run `npm ci` in the repository (make setup) or set $ALLIANCE_ANVIL")


def _state_is_readable(path: Path) -> bool:
    try:
        json.loads(path.read_text())
        return True
    except (OSError, ValueError):
        return False


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            return True
        except OSError:
            return False


class AnvilNode:
    """Starts, watches and stops one anvil process."""

    def __init__(self, settings: NodeSettings, node_dir: Path,
                 genesis_timestamp: Callable[[], int | None] = lambda: None, binary: Path | None = None):
        self.settings = settings
        self.node_dir = Path(node_dir)
        self.genesis_timestamp = genesis_timestamp
        self.binary = binary
        self.process: subprocess.Popen | None = None
        self.restarts = 0
        self.moved_aside: list[Path] = []
        self.dumper: StateDumper | None = None

    @property
    def state_file(self) -> Path:
        return self.node_dir / "state.json"

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _move_aside(self, reason: str) -> None:
        target = self.state_file.with_name(f"state.json.unreadable-{int(time.time() * 1000)}")
        self.state_file.replace(target)
        self.moved_aside.append(target)
        log.warning("node state file %s %s; moved to %s, the chain will be rebuilt from the journal",
                    self.state_file, reason, target.name)

    def _command(self) -> list[str]:
        s = self.settings
        cmd = [str(self.binary or find_anvil()), "--host", s.host, "--port", str(s.port), "--chain-id",
               str(s.chain_id), "--hardfork", s.hardfork, "--base-fee", "0", "--gas-price", "0",
               "--accounts", "0",
               # load at start, dump on SIGTERM; dumps while running come from StateDumper, only when
               # the chain changed (anvil's --state-interval rewrites the whole state even when idle)
               "--state", str(self.state_file),
               "--no-request-size-limit",
               # keep the states of the last blocks in memory only: without it anvil writes every older
               # block's state under ~/.foundry/anvil/tmp and a long run fills the disk (26 GB for the
               # 5,000-application demo). Reads are at the head; revert replays need the block before.
               "--prune-history", str(s.history_states)]
        if not self.state_file.exists():
            ts = self.genesis_timestamp()
            if ts:
                cmd += ["--timestamp", str(ts - 1)]
        return cmd

    def start(self) -> None:
        """Start anvil and wait until it answers; a state file it cannot load is moved aside once."""
        self.node_dir.mkdir(parents=True, exist_ok=True)
        if self.state_file.exists() and not _state_is_readable(self.state_file):
            self._move_aside("is truncated or not JSON")
        for attempt in (1, 2):
            if not _port_free(self.settings.host, self.settings.port):
                raise NodeUnavailable(f"port {self.settings.port} on {self.settings.host} is in use by another process")
            logfile = open(self.node_dir / "anvil.log", "ab")
            self.process = subprocess.Popen(self._command(), stdout=logfile, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
            logfile.close()
            if self._wait_ready():
                (self.node_dir / "anvil.pid").write_text(f"{self.process.pid}\n")
                self.dumper = StateDumper(self.url, self.state_file, self.settings.state_interval)
                self.dumper.start()
                return
            self.stop()
            if attempt == 1 and self.state_file.exists():
                self._move_aside("could not be loaded by anvil")
                continue
            break
        raise NodeUnavailable(f"anvil did not start; see {self.node_dir / 'anvil.log'}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.settings.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with socket.create_connection((self.settings.host, self.settings.port), timeout=0.2):
                    pass
                import requests

                r = requests.post(self.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
                                  timeout=1)
                if r.ok and "result" in r.json():
                    return True
            except OSError:
                pass
            except Exception:  # noqa: BLE001 - not yet serving JSON-RPC
                pass
            time.sleep(0.05)
        return False

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (anvil dumps its state), then SIGKILL if it does not exit in time."""
        if self.dumper is not None:  # first: a dump in flight must not land after anvil's exit dump
            self.dumper.stop()
            self.dumper = None
        proc = self.process
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.process = None
        (self.node_dir / "anvil.pid").unlink(missing_ok=True)


class Supervisor:
    """Restarts the node when it dies and calls ``on_restart`` (reconcile) before reopening writes."""

    def __init__(self, node: AnvilNode, ready: threading.Event, on_restart: Callable[[], None],
                 poll_seconds: float = 0.2):
        self.node = node
        self.ready = ready
        self.on_restart = on_restart
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="node-supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        pending_reconcile = False
        while not self._stop.wait(self.poll_seconds):
            if not self.node.alive():
                self.ready.clear()
                log.warning("embedded node exited (code %s); restarting",
                            self.node.process.returncode if self.node.process else None)
                try:
                    self.node.stop()
                    self.node.start()
                    self.node.restarts += 1
                    pending_reconcile = True
                except Exception as exc:  # keep trying; writes stay closed meanwhile
                    self.last_error = f"{type(exc).__name__}: {exc}"[:500]
                    log.error("node restart failed: %s", self.last_error)
                    continue
            if pending_reconcile:
                try:
                    self.on_restart()
                except Exception as exc:  # retried on the next tick; writes stay closed meanwhile
                    self.last_error = f"{type(exc).__name__}: {exc}"[:500]
                    log.error("reconcile after restart failed: %s", self.last_error)
                    continue
                pending_reconcile = False
                self.last_error = None
                self.ready.set()
