"""The embedded node's state file, written only when the chain has changed.

anvil's own ``--state-interval`` dumps the whole state every N seconds whether or not anything
happened, and answers no request meanwhile: at 100,000 licences (~340 MB of JSON) that is a stall
of about half a second every second on a chain that only serves reads. Instead anvil runs with
``--state PATH`` alone (load at start, dump on SIGTERM) and a ``StateDumper`` thread watches the
head: when it has moved since the last dump, it asks anvil for its state (``anvil_dumpState``,
gzip, hex in the JSON-RPC answer) and writes it as the JSON that ``--state`` loads.

- Atomic: written to a temporary file in the same directory, fsynced, then renamed over the
  state file. A crash or a failed dump leaves the previous complete file.
- Bounded: an RPC dump costs the node several times what its own file dump does (it compresses),
  so after a dump that took D seconds the next one waits at least ``GAP_FACTOR`` × D (and at least
  ``[node] state_interval``): dumping takes at most ~1/``GAP_FACTOR`` of the node's time however
  large the state grows. What a SIGKILL loses meanwhile the transaction journal replays
  (``chain.reconcile``).
"""

from __future__ import annotations

import binascii
import json
import logging
import os
import threading
import time
import zlib
from pathlib import Path

from chain.files import fsync_directory
from chain.node_http import NodeConnections

log = logging.getLogger(__name__)

GAP_FACTOR = 20  # the gap after a dump is at least this many times the dump's own duration
RESULT_PREFIX = b'"result":"0x'
HEX_CHUNK = 1 << 23  # hex characters decoded and decompressed per step (8 MiB)


class StateDumpError(RuntimeError):
    """anvil did not return a state dump, or returned one that is not a complete gzip stream."""


# what a call to the node can fail with: no answer (OSError), not HTTP 200 or not a dump (StateDumpError),
# not the JSON-RPC answer expected (ValueError, KeyError)
CALL_ERRORS = (OSError, ValueError, KeyError, StateDumpError)


def write_state(body: bytes, path: Path) -> int:
    """Write the state carried by an ``anvil_dumpState`` JSON-RPC answer to ``path`` as JSON,
    atomically; return the number of bytes written. Raises ``StateDumpError`` (and leaves ``path``
    as it was) when the answer is an error or its gzip stream is cut short."""
    start = body.find(RESULT_PREFIX)
    if start < 0:
        raise StateDumpError(f"anvil_dumpState returned no state: {body[:300].decode('utf-8', 'replace')}")
    start += len(RESULT_PREFIX)
    end = body.find(b'"', start)
    if end < 0:
        raise StateDumpError("anvil_dumpState answer is cut short")
    hexdata = memoryview(body)[start:end]
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    inflate = zlib.decompressobj(wbits=31)  # gzip
    written = 0
    try:
        with open(tmp, "wb") as out:
            for i in range(0, len(hexdata), HEX_CHUNK):
                chunk = inflate.decompress(binascii.unhexlify(hexdata[i:i + HEX_CHUNK]))
                out.write(chunk)
                written += len(chunk)
            tail = inflate.flush()
            out.write(tail)
            written += len(tail)
            if not inflate.eof:
                raise StateDumpError("anvil_dumpState returned an incomplete gzip stream")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except (binascii.Error, zlib.error) as exc:
        tmp.unlink(missing_ok=True)
        raise StateDumpError(f"anvil_dumpState returned an unreadable state: {exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)
    return written


class StateDumper:
    """Dumps the node at ``url`` to ``path`` whenever its head has moved, at most as often as the
    gap rule allows (see the module docstring)."""

    def __init__(self, url: str, path: Path, interval: float, timeout: float = 600.0):
        self.url = url
        self.path = Path(path)
        self.interval = max(float(interval), 0.05)
        self.timeout = timeout
        self.dumped_head: int | None = None  # the head when the last dump was asked for
        self.dumps = 0
        self.last_duration = 0.0
        self.last_error: str | None = None
        self._next_at = 0.0
        self._node = NodeConnections(url, timeout)
        self._lock = threading.Lock()  # held for a whole dump: stop() waits for one in flight
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _call(self, method: str, timeout: float) -> bytes:
        request = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": []}).encode()
        status, reason, body = self._node.post(request, timeout=timeout)
        if status != 200:
            raise StateDumpError(f"{method}: HTTP {status} {reason}")
        return body

    def head(self) -> int:
        return int(json.loads(self._call("eth_blockNumber", 5))["result"], 16)

    def start(self) -> None:
        """Start watching; the state the node loaded counts as dumped."""
        self._stop.clear()
        try:
            self.dumped_head = self.head()
        except CALL_ERRORS:
            self.dumped_head = None
        self._thread = threading.Thread(target=self._loop, name="node-state-dumps", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching; returns once no dump is being written (the node's own exit dump comes after)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout)
            self._thread = None
        with self._lock:
            pass
        self._node.close()

    def dump_if_changed(self) -> bool:
        """One check: dump when the head moved and the gap has passed. True when a dump was written."""
        if time.monotonic() < self._next_at:
            return False
        try:
            head = self.head()
        except CALL_ERRORS:
            return False  # the node is down or restarting: the supervisor sees to it
        if head == self.dumped_head:
            return False
        return self.dump(head)

    def dump(self, head: int | None = None) -> bool:
        """Dump now (``head``: the head just read, if any). True when the state file was replaced."""
        with self._lock:
            if self._stop.is_set():
                return False
            started = time.monotonic()
            try:
                if head is None:
                    head = self.head()
                size = write_state(self._call("anvil_dumpState", self.timeout), self.path)
            except CALL_ERRORS as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"[:500]
                log.warning("node state dump failed (the previous state file is kept): %s", self.last_error)
                self._next_at = time.monotonic() + self.interval
                return False
            self.last_duration = time.monotonic() - started
            self._next_at = time.monotonic() + max(self.interval, GAP_FACTOR * self.last_duration)
            self.dumped_head = head
            self.dumps += 1
            self.last_error = None
            log.debug("node state dumped at block %s: %d bytes in %.2fs", head, size, self.last_duration)
            return True

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.dump_if_changed()
