"""Shared pieces of the benchmark scripts (``scripts/bench_anchor.py``, ``scripts/bench_verify.py``).

- the 10-field benchmark document (the same as ``scripts/oa/wrap.cjs --generate``);
- a throwaway product on a real anvil node: a temp data directory, keystores, a migrated
  SQLite database, the contracts deployed and the alliance bootstrapped (``BenchLedger``);
- output helpers: one JSON line per size on stdout (the last line is JSON), human-readable
  details on stderr;
- process hygiene: every child process is started in its own session and stopped on exit,
  also on SIGTERM/SIGINT.

These scripts measure; they do not assert timings. Run them from the repository root with the
project's virtualenv, e.g. ``python scripts/bench_anchor.py --sizes 1000,10000``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_SIZES = "1000,10000,100000"
# Throwaway keystores of a throwaway chain: a cheap KDF keeps setup short. Not a product setting.
BENCH_SCRYPT_N = 2**10
BENCH_PASSPHRASE = "bench-passphrase-throwaway"
# The document store address scripts/oa/wrap.cjs puts in its generated documents.
WRAP_CJS_STORE = "0x9178F546D3FF57D7A6352bD61B80cCCD46199C2d"


# ---------------------------------------------------------------------------- output

def log(*parts: Any) -> None:
    """A human-readable line on stderr (stdout carries only the JSON result lines)."""
    print("#", *parts, file=sys.stderr, flush=True)


def emit(result: dict[str, Any]) -> None:
    """One JSON result line on stdout."""
    print(json.dumps(result, ensure_ascii=False), flush=True)


def parse_sizes(text: str) -> list[int]:
    """``"1000,10000"`` -> ``[1000, 10000]``: ascending, so the last line printed is the largest size."""
    try:
        sizes = sorted({int(part.replace("_", "")) for part in text.split(",") if part.strip()})
    except ValueError:
        raise SystemExit(f"--sizes must be comma-separated positive integers, got {text!r}") from None
    if not sizes or sizes[0] < 1:
        raise SystemExit(f"--sizes must be comma-separated positive integers, got {text!r}")
    return sizes


def machine() -> dict[str, Any]:
    """What the figures were measured on: CPUs usable, CPU model, load when measured."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count() or 1
    return {"nproc": usable, "cpu_model": model, "loadavg_1m": round(os.getloadavg()[0], 2),
            "python": sys.version.split()[0]}


def round_sig(value: float, digits: int = 4) -> float:
    """A figure rounded to ``digits`` significant digits (timings are not more precise than that)."""
    if value == 0 or value != value or value in (float("inf"), float("-inf")):
        return value
    from math import floor, log10

    return round(value, max(0, digits - 1 - floor(log10(abs(value)))))


# ---------------------------------------------------------------------------- documents

def bench_document(i: int, document_store: str = WRAP_CJS_STORE) -> dict[str, Any]:
    """The i-th benchmark document: one document-store issuer and 10 data fields.

    Field for field the document ``scripts/oa/wrap.cjs`` generates (its ``benchDocument``), with
    the issuer's ``documentStore`` set to ``document_store``.
    """
    n = str(i).zfill(8)
    return {
        "issuers": [{
            "name": "市场监督管理局",
            "documentStore": document_store,
            "identityProof": {"type": "DNS-TXT", "location": "ledger.example.gov.cn"},
        }],
        "id": f"LIC-{n}",
        "licenceType": "营业执照",
        "holderName": f"示例企业{n}有限公司",
        "uscc": f"91440300MA{n}",
        "legalRepresentative": "张三",
        "registeredCapital": 1000000 + i,
        "address": f"深圳市南山区科技园{i % 100}号",
        "issueDate": "2024-01-15",
        "expiryDate": "2034-01-14",
        "active": i % 7 != 0,
    }


# ---------------------------------------------------------------------------- processes

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _raise_exit(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def exit_on_signals() -> None:
    """SIGTERM/SIGHUP unwind the stack like Ctrl-C, so every ``finally`` stops what it started."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_exit)


def stop_process(proc: subprocess.Popen | None, timeout: float = 20.0) -> None:
    """SIGTERM one child we started (its process group: it was started in its own session), then
    SIGKILL if it does not exit in time."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
        proc.wait()


@contextmanager
def temp_dir(prefix: str, keep: bool = False) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        if keep:
            log(f"kept {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------------- a product on anvil

def bench_settings(data_dir: Path, node_port: int, gateway_port: int = 8645, state_interval: int | None = None):
    """Settings of a throwaway embedded deployment (anvil on ``node_port``, SQLite in ``data_dir``)."""
    from dataclasses import replace

    from chain.config import ChainSettings, NodeSettings, Settings

    node = NodeSettings(port=node_port)
    if state_interval is not None:
        node = replace(node, state_interval=state_interval)
    settings = Settings(data_dir=data_dir, chain=ChainSettings(keystore_scrypt_n=BENCH_SCRYPT_N), node=node)
    return replace(settings, gateway=replace(settings.gateway, port=gateway_port, password_scrypt_n=BENCH_SCRYPT_N))


@contextmanager
def bench_ledger(data_dir: Path, state_interval: int | None = None) -> Iterator[Any]:
    """The product's ``Ledger`` on a fresh anvil node it started: contracts deployed, alliance
    bootstrapped. The node is stopped on exit (also on an error or a signal)."""
    from chain.alliance import DEFAULT_ALLIANCE_FILE, load_alliance
    from chain.db import make_engine, session_factory
    from chain.keystore import DEPLOYER_ALIAS, Keyring, create_keystore
    from chain.ledger import Ledger
    from chain.node import AnvilNode
    from gateway import db as gateway_db

    settings = bench_settings(data_dir, free_port(), state_interval=state_interval)
    spec = load_alliance(DEFAULT_ALLIANCE_FILE)
    settings.keystore_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DEFAULT_ALLIANCE_FILE, settings.alliance_file)
    for alias in [DEPLOYER_ALIAS] + [m.alias for m in spec.members]:
        create_keystore(settings.keystore_dir, alias, BENCH_PASSPHRASE, BENCH_SCRYPT_N)
    gateway_db.upgrade(settings.effective_database_url)
    sessions = session_factory(make_engine(settings.effective_database_url))
    node = AnvilNode(settings.node, settings.node_dir)
    node.start()
    ledger = None
    try:
        ledger = Ledger.open(settings, spec, Keyring.unlock(settings.keystore_dir, BENCH_PASSPHRASE), sessions)
        ledger.ensure_deployed()
        ledger.bootstrap()
        yield ledger
    finally:
        if ledger is not None:
            ledger.close()
        node.stop()
