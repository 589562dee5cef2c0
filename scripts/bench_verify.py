#!/usr/bin/env python3
"""Verification throughput: full licence verification in-library and through the HTTP API.

The real product, on loopback only: ``alliance init`` makes a temp data directory, ``alliance up``
starts the embedded anvil node and the gateway. For each size N (default 1,000 / 10,000 / 100,000,
ascending) this script then

1. **setup** (timed, reported on stderr, not part of the figures): issues licences through the
   product's issuing service (``gateway.services.licences.issue``: OpenAttestation documents, one
   ``issueBatch`` transaction per 50, every check) until N are on chain, ``--issue-threads``
   requests of 1,000 at a time with their transactions mined together (see :func:`issue_licences`),
   and waits for the gateway's event
   indexer to catch up so that it does not compete with the measurement;
2. **in-library**: ``verify_licences`` of the N wrapped licence documents against the node — every
   check: integrity (fields → targetHash → Merkle proof), the on-chain record, issuance of the
   root, status (suspended / revoked / superseded / expired), validity period and the issuer
   department's authority for the licence type at issuance. Wall-clock, one process;
3. **HTTP**: ``alliance up`` serves; once its indexer is at the head and it has read ahead the
   chain facts of its licences (``gateway.verification.facts``: kept, dropped by new blocks' logs),
   a separate client process (asyncio, uvloop where installed) drives ``GET /verify/licence/{id}``
   over the N ids in random order with ``--concurrency`` keep-alive connections for N requests or
   ``--http-seconds``, whichever comes first (after a short warm-up that is not counted); every
   answer is checked to be a 200 with a VALID verdict. Each verdict is the full one (integrity
   recomputed from the stored document, the record checked against the gateway's row) with chain
   facts as of a head check started after the request arrived.

Prints one JSON line per size (the last line is the largest)::

    {"docs": N, "verify_per_s": X, "http_req_per_s": Y, "http_p99_ms": Z}

Targets (DESIGN.md): >= 4,700 verifications/s in-library; >= 1,500 requests/s at p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (  # noqa: E402
    BENCH_PASSPHRASE,
    BENCH_SCRYPT_N,
    DEFAULT_SIZES,
    ROOT,
    emit,
    exit_on_signals,
    free_port,
    log,
    machine,
    parse_sizes,
    round_sig,
    stop_process,
    temp_dir,
)

ISSUE_PER_CALL = 1000  # the issuing service's limit per request (MAX_BULK)
MINE_WINDOW = 2.0  # setup, several requests at a time: the longest a sent transaction waits for its block
RECEIPT_POLL = 0.5  # setup, several requests at a time: the longest pause between receipt polls


# ---------------------------------------------------------------------------- the product

def _env(data_dir: Path) -> dict[str, str]:
    return {**os.environ, "ALLIANCE_PASSPHRASE": BENCH_PASSPHRASE, "ALLIANCE_DATA_DIR": str(data_dir),
            "PYTHONPATH": str(ROOT)}


def alliance_init(data_dir: Path, node_port: int, gateway_port: int) -> None:
    subprocess.run([sys.executable, "-m", "gateway.cli", "--data-dir", str(data_dir), "init", "--node-port",
                    str(node_port), "--gateway-port", str(gateway_port), "--scrypt-n", str(BENCH_SCRYPT_N)],
                   env=_env(data_dir), cwd=ROOT, check=True, capture_output=True, stdin=subprocess.DEVNULL,
                   timeout=300)


def alliance_up(data_dir: Path, url: str, timeout: float = 180) -> subprocess.Popen:
    import requests

    log_file = open(data_dir / "up.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "--data-dir", str(data_dir), "up"],
                            env=_env(data_dir), cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    log_file.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"alliance up exited {proc.returncode}: {(data_dir / 'up.log').read_text()[-3000:]}")
        try:
            if requests.get(url + "/health", timeout=1).ok:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.2)
    stop_process(proc)
    raise SystemExit(f"alliance up did not serve within {timeout:.0f}s: {(data_dir / 'up.log').read_text()[-3000:]}")


def stop_product(proc: subprocess.Popen | None, data_dir: Path) -> None:
    """Stop ``alliance up`` (it stops its anvil node); if the node outlives it, stop the node too."""
    pid_file = data_dir / "node" / "anvil.pid"
    node_pid = int(pid_file.read_text()) if pid_file.exists() else None
    stop_process(proc, timeout=60)
    if node_pid is None:
        return
    try:
        cmdline = Path(f"/proc/{node_pid}/cmdline").read_bytes()
    except OSError:
        return  # gone
    if b"anvil" in cmdline and str(data_dir).encode() in cmdline:  # the node this run's product started
        import signal

        os.kill(node_pid, signal.SIGTERM)
        for _ in range(100):
            if not Path(f"/proc/{node_pid}").exists():
                return
            time.sleep(0.1)
        os.kill(node_pid, signal.SIGKILL)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def draft(i: int):
    """The i-th licence: a business licence with the product's fields plus three type-specific ones."""
    from gateway.services.licences import LicenceDraft

    return LicenceDraft(licence_type="BUSINESS_LICENCE", number=f"BL-{i:08d}", holder_uscc=f"91440300MA{i:08d}",
                        holder_name=f"示例企业{i:08d}有限公司", valid_from="2024-01-15", valid_until="2034-01-14",
                        fields={"legalRepresentative": "张三", "registeredCapital": 1000000 + i,
                                "address": f"深圳市南山区科技园{i % 100}号"})


def wait_for_indexer(settings, timeout: float = 1800) -> float:
    """Seconds until the gateway's event indexer (in the ``alliance up`` process) has reached the
    chain head, so that its catching up does not compete with the measurement."""
    from chain.connection import connect
    from chain.db import make_engine, session_factory
    from chain.indexer import IndexCursor

    chain = connect(settings.effective_rpc_url)
    engine = make_engine(settings.effective_database_url)
    sessions = session_factory(engine)
    start = time.perf_counter()
    try:
        head = chain.head()
        while True:
            with sessions() as s:
                row = s.get(IndexCursor, chain.chain_id)
            if row is not None and row.last_block >= head:
                break
            if time.perf_counter() - start > timeout:
                log(f"the indexer has not reached block {head} after {timeout:.0f}s; measuring anyway")
                break
            time.sleep(0.5)
    finally:
        engine.dispose()
    return time.perf_counter() - start


def wait_for_warm(data_dir: Path, timeout: float = 900) -> str:
    """Wait until the gateway has read ahead the chain facts of its licences (it logs a line when
    done; verdicts meanwhile read the chain themselves): that line, or why we stopped waiting."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        for line in (data_dir / "up.log").read_text(errors="replace").splitlines():
            if "verification: " in line and ("read ahead" in line or "failed" in line):
                return line.split("verification: ", 1)[1] + f" (waited {time.perf_counter() - start:.1f}s)"
        time.sleep(0.2)
    return f"chain facts not read ahead after {timeout:.0f}s; measuring anyway"


def issue_licences(ctx, issuer, chain, start: int, stop: int, ids: list[str], threads: int) -> int:
    """Setup: issue licences ``start`` .. ``stop`` - 1 through the product's bulk-issue service
    (``gateway.services.licences.issue``: every check, the dry run of each chunk, the journal, one
    ``issueBatch`` transaction per 50 awaited to its receipt), ``threads`` requests of up to 1,000 at a
    time, as that many clients of the gateway would. Appends their ids to ``ids`` in draft order.
    Returns the number of blocks mined meanwhile.

    With ``threads`` > 1 the node packs the transactions sent meanwhile into one block (automine
    off, a block mined as soon as every request has its transaction in the pool, or ``MINE_WINDOW``
    after the first one arrived; a block gas limit that holds them all), and is put back as it was
    afterwards. The embedded anvil's cost per block grows with its state (an empty block: ~0.27
    CPU-s at 24,000 licences, ~0.9 at 70,000), so with one block per transaction of 50 issuing
    slowed to 38-85 licences/s past 30,000. Nothing the verification reads depends on how the
    transactions were packed into blocks."""
    import threading

    import requests

    from gateway.services import licences as svc

    ranges = [(i, min(stop, i + ISSUE_PER_CALL)) for i in range(start, stop, ISSUE_PER_CALL)]
    done: dict[int, list[str]] = {}
    failed: list[BaseException] = []
    lock = threading.Lock()
    active = [0]  # requests under way
    head = int(chain.rpc("eth_blockNumber", []), 16)

    def worker() -> None:
        while not failed:
            with lock:
                if not ranges:
                    return
                a, b = ranges.pop(0)
                active[0] += 1
            try:
                rows = svc.issue(ctx, issuer, "MARKET", [draft(i) for i in range(a, b)])
            except BaseException as exc:  # noqa: BLE001 - reported by the caller
                failed.append(exc)
                return
            finally:
                with lock:
                    active[0] -= 1
            with lock:
                done[a] = [r.id for r in rows]

    if threads <= 1:
        worker()
    else:
        url = chain.url
        session = requests.Session()

        def rpc(method: str, params: list) -> object:
            reply = session.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
                                 timeout=600).json()
            if "error" in reply:
                raise RuntimeError(f"{method}: {reply['error']}")
            return reply["result"]

        gas_limit = rpc("eth_getBlockByNumber", ["latest", False])["gasLimit"]
        rpc("evm_setBlockGasLimit", [hex(max(int(gas_limit, 16), 30_000_000 * threads))])
        rpc("evm_setAutomine", [False])
        stopping = threading.Event()

        def miner() -> None:
            first = None
            try:
                while not stopping.is_set():
                    pending = int(rpc("txpool_status", [])["pending"], 16)
                    if pending and first is None:
                        first = time.monotonic()
                    if pending and (pending >= active[0] or time.monotonic() - first >= MINE_WINDOW):
                        rpc("evm_mine", [])
                        first = None
                    else:
                        time.sleep(0.005)
            except BaseException as exc:  # noqa: BLE001 - the node mines on arrival again; reported
                failed.append(exc)
                rpc("evm_setAutomine", [True])

        mining = threading.Thread(target=miner, name="bench-miner", daemon=True)
        workers = [threading.Thread(target=worker, name=f"bench-issue-{k}", daemon=True) for k in range(threads)]
        # the requests wait for blocks that take up to a second or so to mine: the transaction manager's
        # receipt polls (every 20 ms at most) would cost this process more CPU than the issuing itself
        import chain.transactions as txm

        poll_max = getattr(txm, "RECEIPT_POLL_MAX", None)
        if poll_max is not None:
            txm.RECEIPT_POLL_MAX = max(poll_max, RECEIPT_POLL)
        try:
            mining.start()
            for w in workers:
                w.start()
            for w in workers:
                w.join()
        finally:
            stopping.set()
            mining.join()
            while int(rpc("txpool_status", [])["pending"], 16):  # nothing is left unmined
                rpc("evm_mine", [])
            rpc("evm_setAutomine", [True])
            rpc("evm_setBlockGasLimit", [gas_limit])
            if poll_max is not None:
                txm.RECEIPT_POLL_MAX = poll_max
    if failed:
        raise failed[0]
    for a in sorted(done):
        ids += done[a]
    return int(chain.rpc("eth_blockNumber", []), 16) - head


# ---------------------------------------------------------------------------- the HTTP client

class _Connection(asyncio.Protocol):
    """One keep-alive connection of the load generator: sends a request, reads its whole answer
    (status line, headers, ``Content-Length`` bytes of body), then sends the next one. A protocol
    rather than streams: the client does a few microseconds of work per answer, not a few dozen,
    so it takes less of the CPU the gateway needs on a small machine."""

    def __init__(self, run: "_Run") -> None:
        self.run = run
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.k = -1
        self.t0 = 0.0
        self.finished = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.send_next()

    def send_next(self) -> None:
        k = self.run.next_index()
        if k is None:
            self.transport.close()
            return
        self.k = k
        self.t0 = time.perf_counter()
        self.transport.write(self.run.requests[k % len(self.run.requests)])

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[:end]
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if len(self.buffer) < end + 4 + length:
            return
        body = self.buffer[end + 4:end + 4 + length]
        self.buffer = self.buffer[end + 4 + length:]
        self.run.answered(self.k, time.perf_counter() - self.t0, int(head.split(b" ", 2)[1]), body)
        self.send_next()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.finished.done():
            if exc is None and self.run.done():
                self.finished.set_result(None)
            else:
                self.finished.set_exception(exc or ConnectionError("the gateway closed the connection"))


class _Run:
    """The shared state of the client's connections: what to send next, what came back."""

    def __init__(self, requests: list[bytes], total: int, seconds: float, warmup: int) -> None:
        self.requests, self.total, self.seconds, self.warmup = requests, total, seconds, warmup
        self.sent = 0
        self.counted_from = 0.0
        self.deadline = 0.0
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.not_valid = 0

    def done(self) -> bool:
        return self.sent >= self.total + self.warmup or bool(self.deadline and time.perf_counter() >= self.deadline)

    def next_index(self) -> int | None:
        if self.done():
            return None
        k = self.sent
        self.sent += 1
        if k == self.warmup:
            self.counted_from = time.perf_counter()
            self.deadline = self.counted_from + self.seconds
        return k

    def answered(self, k: int, latency: float, status: int, body: bytes) -> None:
        if k >= self.warmup:
            self.latencies.append(latency)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status != 200 or b'"valid":true' not in body:
                self.not_valid += 1


async def _client(host: str, port: int, paths: list[str], concurrency: int, total: int, seconds: float,
                  warmup: int) -> dict:
    loop = asyncio.get_running_loop()
    run = _Run([f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode() for path in paths], total,
               seconds, warmup)
    cpu = time.process_time()
    connections = []
    for _ in range(concurrency):
        _, protocol = await loop.create_connection(lambda: _Connection(run), host, port)
        connections.append(protocol)
    await asyncio.gather(*(c.finished for c in connections))
    elapsed = time.perf_counter() - run.counted_from
    cpu = time.process_time() - cpu
    latencies = sorted(run.latencies)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else float("nan")

    return {"requests": len(latencies), "seconds": elapsed, "req_per_s": len(latencies) / elapsed if elapsed else 0,
            "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99), "max_ms": pct(1.0),
            "statuses": run.statuses, "not_valid": run.not_valid, "concurrency": concurrency, "warmup": warmup,
            "client_cpu_s": cpu}


def client_main(args: argparse.Namespace) -> int:
    """``--http-client``: the load generator (its own process)."""
    ids = json.loads(Path(args.ids_file).read_text())
    paths = [f"/verify/licence/{i}" for i in ids]
    random.Random(1).shuffle(paths)
    host, port = args.http_client.removeprefix("http://").split(":")
    try:  # the load generator must not be the bottleneck: libuv's loop where it is installed
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(_client(host, int(port), paths, args.concurrency, args.requests, args.http_seconds,
                                 args.warmup))
    print(json.dumps(result), flush=True)
    return 0


def run_client(url: str, ids: list[str], work: Path, args: argparse.Namespace, total: int) -> dict:
    ids_file = work / "ids.json"
    ids_file.write_text(json.dumps(ids))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--http-client", url, "--ids-file", str(ids_file),
           "--concurrency", str(args.concurrency), "--requests", str(total), "--http-seconds", str(args.http_seconds),
           "--warmup", str(args.warmup)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=args.http_seconds * 3 + 120)
    finally:
        stop_process(proc)
    if proc.returncode != 0:
        raise SystemExit(f"HTTP client exited {proc.returncode}: {err.strip()[-2000:]}")
    return json.loads(out.strip().splitlines()[-1])


def comparison(ctx, contracts, docs: list[dict], ids: list[str]) -> None:
    """Figures for the report (stderr): the same checks one document at a time, and what an HTTP
    request's handler does, in this process without the web server."""
    from gateway.services import licences as svc
    from gateway.verification.licences import verify_licence
    from gateway.verification.prefetch import Prefetch

    t = time.perf_counter()
    for d in docs:
        verify_licence(d, contracts)
    one = len(docs) / (time.perf_counter() - t)
    empty = Prefetch()
    live_only = type(contracts)(empty.contract(contracts.licences), empty.contract(contracts.registry))
    few = docs[:50]
    t = time.perf_counter()
    for d in few:
        verify_licence(d, live_only)
    live = len(few) / (time.perf_counter() - t)
    t = time.perf_counter()
    for lid in ids:
        svc.verify_document(ctx, svc.document(svc.get(ctx, lid)))
    handler = len(ids) / (time.perf_counter() - t)
    log(f"for comparison, one at a time: verify_licence {one:.0f}/s (its reads in 2 batched requests); "
        f"with every read live through web3 {live:.0f}/s; the HTTP handler's work (row lookup, verify_licence, "
        f"record consistency) without the web server {handler:.0f}/s")


# ---------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help=f"comma-separated licence counts (default {DEFAULT_SIZES})")
    parser.add_argument("--concurrency", type=int, default=32, help="HTTP client connections (default 32)")
    parser.add_argument("--http-seconds", type=float, default=60.0,
                        help="stop the HTTP run after this many seconds even before N requests (default 60)")
    parser.add_argument("--warmup", type=int, default=200, help="HTTP requests before counting starts")
    parser.add_argument("--sample", type=int, default=200,
                        help="documents for the one-at-a-time comparison figures on stderr (0 = skip)")
    parser.add_argument("--processes", type=int, default=1,
                        help="processes for in-library verification (default 1; 0 = one per CPU)")
    parser.add_argument("--no-compare-processes", dest="compare_processes", action="store_false",
                        help="skip the stderr figure with the other process count")
    parser.add_argument("--state-interval", type=int, default=0,
                        help="set [node] state_interval in the product's config (default: the product's own)")
    parser.add_argument("--issue-threads", type=int, default=16,
                        help="setup: bulk-issue requests at a time, their transactions mined together (default 16; "
                             "1 = one after the other, one block per transaction)")
    parser.add_argument("--keep", action="store_true", help="keep the temp data directory")
    parser.add_argument("--http-client", help=argparse.SUPPRESS)
    parser.add_argument("--ids-file", help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.http_client:
        return client_main(args)
    sizes = parse_sizes(args.sizes)
    exit_on_signals()

    from chain.config import load_settings
    from gateway.context import department_signer
    from gateway.runtime import open_runtime
    from gateway.services import licences as svc
    from gateway.verification.licences import PARALLEL_MIN_PER_PROCESS, verify_licences

    processes = args.processes or os.cpu_count() or 1

    log(f"machine: {machine()}")
    with temp_dir("bench-verify-", args.keep) as work:
        data_dir = work / "data"
        node_port, gateway_port = free_port(), free_port()
        url = f"http://127.0.0.1:{gateway_port}"
        t = time.perf_counter()
        alliance_init(data_dir, node_port, gateway_port)
        settings = load_settings(data_dir)
        if args.state_interval:  # a documented [node] setting, changed as an operator would
            from dataclasses import replace

            from chain.config import render_config

            settings = replace(settings, node=replace(settings.node, state_interval=args.state_interval))
            settings.config_file.write_text(render_config(settings), encoding="utf-8")
        log(f"embedded node: state dumped when the chain changed, checked every {settings.node.state_interval}s "
            f"([node] state_interval)")
        issued = 0
        ids: list[str] = []
        for n in sizes:
            if issued < n:
                # setup: this process runs the product's runtime (it starts the embedded node)
                with open_runtime(settings, BENCH_PASSPHRASE) as rt:
                    if rt.ledger.ensure_deployed():
                        rt.ledger.bootstrap()
                        log(f"setup: alliance init, embedded node, contracts deployed, alliance bootstrapped in "
                            f"{time.perf_counter() - t:.1f}s")
                    ctx = rt.context(BENCH_PASSPHRASE)
                    issuer = department_signer(rt.ledger, "MARKET")
                    t = time.perf_counter()
                    blocks = issue_licences(ctx, issuer, rt.ledger.chain, issued, n, ids, args.issue_threads)
                    log(f"N={n}: setup: {n} licences on chain ({time.perf_counter() - t:.1f}s to issue the "
                        f"{n - issued} new ones: {(n - issued) / (time.perf_counter() - t):.0f}/s, one issueBatch "
                        f"transaction per {svc.ITEMS_PER_TRANSACTION}, {args.issue_threads} requests at a time, "
                        f"{blocks} blocks; load {machine()['loadavg_1m']})")
                    issued = n
            # in-library: the product's runtime again, as configured; the gateway is not running, so
            # nothing else competes with the measurement
            with open_runtime(settings, BENCH_PASSPHRASE) as rt:
                ctx = rt.context(BENCH_PASSPHRASE)
                contracts = svc.contracts(ctx)
                docs = [svc.document(svc.get(ctx, lid)) for lid in ids[:n]]
                node_cpu = cpu_seconds(rt.node.pid) if rt.node else None
                t = time.perf_counter()
                verdicts = verify_licences(docs, contracts, processes=processes)
                seconds = time.perf_counter() - t
                node_cpu = cpu_seconds(rt.node.pid) - node_cpu if rt.node else float("nan")
                bad = [v for v in verdicts if not v.valid]
                log(f"N={n}: in-library verify_licences ({processes} process(es)) {seconds:.2f}s ({n / seconds:.0f}/s), "
                    f"not VALID: {len(bad)}; the node used {node_cpu:.1f} CPU-s meanwhile; load {machine()['loadavg_1m']}")
                if bad:
                    raise SystemExit(f"{len(bad)} issued licences did not verify: {bad[0].to_dict()}")
                del verdicts
                other = 2 if processes == 1 else 1
                if n >= 2 * PARALLEL_MIN_PER_PROCESS and args.compare_processes:
                    t = time.perf_counter()
                    verify_licences(docs, contracts, processes=other)
                    log(f"N={n}: for comparison, verify_licences with {other} process(es): "
                        f"{n / (time.perf_counter() - t):.0f}/s")
                if args.sample:
                    comparison(ctx, contracts, docs[:args.sample], ids[:args.sample])
                del docs
            # HTTP: the real gateway (`alliance up`, which starts the embedded node again from its state)
            up = None
            try:
                t = time.perf_counter()
                up = alliance_up(data_dir, url)
                serving = time.perf_counter() - t
                log(f"N={n}: alliance up serving after {serving:.1f}s, its indexer at the head "
                    f"{wait_for_indexer(settings):.1f}s later; {wait_for_warm(data_dir)}")
                node_pid = int((data_dir / "node" / "anvil.pid").read_text())
                before = cpu_seconds(up.pid), cpu_seconds(node_pid)
                http = run_client(url, ids[:n], work, args, n)
                gateway_cpu, node_cpu = cpu_seconds(up.pid) - before[0], cpu_seconds(node_pid) - before[1]
                counted = http["requests"] + http["warmup"]
                log(f"N={n}: during the HTTP run the gateway process used {gateway_cpu:.1f} CPU-s, the node "
                    f"{node_cpu:.1f} CPU-s, the client {http['client_cpu_s']:.1f} CPU-s: "
                    f"{counted / gateway_cpu if gateway_cpu else float('nan'):.0f} verdicts "
                    f"per gateway CPU-second (what one free core would serve)")
            finally:
                stop_product(up, data_dir)
            log(f"N={n}: HTTP GET /verify/licence/{{id}}: {http['requests']} requests in {http['seconds']:.1f}s "
                f"at concurrency {http['concurrency']} (after {http['warmup']} warm-up): "
                f"{http['req_per_s']:.0f}/s, p50 {http['p50_ms']:.1f} ms, p90 {http['p90_ms']:.1f} ms, "
                f"p99 {http['p99_ms']:.1f} ms, max {http['max_ms']:.1f} ms, statuses {http['statuses']}, "
                f"not VALID {http['not_valid']}; load {machine()['loadavg_1m']}")
            if http["not_valid"]:
                raise SystemExit(f"{http['not_valid']} HTTP answers were not a VALID verdict")
            emit({"docs": n, "verify_per_s": round_sig(n / seconds), "http_req_per_s": round_sig(http["req_per_s"]),
                  "http_p99_ms": round_sig(http["p99_ms"], 3)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
