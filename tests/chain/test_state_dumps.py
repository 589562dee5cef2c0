"""The embedded node's state file is rewritten when the chain changed, never while it is idle, and
always whole: on a real anvil node, and for the decoding of ``anvil_dumpState`` answers."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import pytest
import requests

from chain.config import NodeSettings
from chain.node import AnvilNode
from chain.state_dumps import StateDumpError, write_state
from tests.chain.chain_support import anvil_available, free_port

pytestmark = pytest.mark.anvil


def _rpc(node: AnvilNode, method: str) -> object:
    return requests.post(node.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": []},
                         timeout=10).json()["result"]


def _mine(node: AnvilNode, blocks: int) -> int:
    for _ in range(blocks):
        _rpc(node, "evm_mine")
    return int(_rpc(node, "eth_blockNumber"), 16)


def _file_head(path: Path) -> int | None:
    try:
        return int(json.loads(path.read_text())["block"]["number"], 16)
    except (OSError, ValueError, KeyError):
        return None


def _wait_for_file_head(path: Path, head: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while _file_head(path) != head:
        assert time.monotonic() < deadline, f"state file holds block {_file_head(path)}, expected {head}"
        time.sleep(0.1)


@pytest.fixture
def node(tmp_path: Path):
    if not anvil_available():
        pytest.skip("anvil binary not installed (make setup)")
    started = AnvilNode(NodeSettings(port=free_port(), state_interval=1), tmp_path / "node")
    started.start()
    yield started
    started.stop()


def test_a_changed_chain_is_on_disk_without_a_stop_and_survives_sigkill(node: AnvilNode, tmp_path: Path) -> None:
    head = _mine(node, 3)
    _wait_for_file_head(node.state_file, head)
    node.process.kill()  # no exit dump: only what the running node's dumps wrote
    node.process.wait()
    node.stop()
    again = AnvilNode(NodeSettings(port=free_port(), state_interval=1), tmp_path / "node")
    again.start()
    try:
        assert int(_rpc(again, "eth_blockNumber"), 16) == head
        assert again.moved_aside == []
    finally:
        again.stop()


def test_an_idle_chain_is_not_rewritten(node: AnvilNode) -> None:
    head = _mine(node, 1)
    _wait_for_file_head(node.state_file, head)
    time.sleep(0.5)  # a dump in flight lands
    before = node.state_file.stat()
    dumps = node.dumper.dumps
    time.sleep(3.5)  # three checks at state_interval = 1
    after = node.state_file.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert node.dumper.dumps == dumps
    head = _mine(node, 1)
    _wait_for_file_head(node.state_file, head)
    assert node.dumper.dumps == dumps + 1


def test_the_next_dump_waits_for_the_gap(node: AnvilNode) -> None:
    dumper = node.dumper
    dumper.stop()  # drive it by hand
    dumper._stop.clear()
    _mine(node, 1)
    assert dumper.dump() is True
    _mine(node, 1)
    assert dumper.dump_if_changed() is False, "dumped again before state_interval had passed"
    time.sleep(max(dumper.interval, 20 * dumper.last_duration) + 0.1)
    assert dumper.dump_if_changed() is True
    assert dumper.dump_if_changed() is False, "dumped an unchanged chain"


def test_stop_leaves_the_exit_dump_and_no_temporary_file(node: AnvilNode) -> None:
    head = _mine(node, 2)
    node.stop()
    assert _file_head(node.state_file) == head
    assert [p.name for p in node.state_file.parent.glob("state.json.tmp-*")] == []


def _answer(payload: bytes) -> bytes:
    return b'{"jsonrpc":"2.0","id":1,"result":"0x' + payload.hex().encode() + b'"}'


def test_write_state_decodes_anvils_answer(tmp_path: Path) -> None:
    state = json.dumps({"block": {"number": "0x7"}, "accounts": {"0x" + "1" * 40: {"nonce": 1}}}).encode()
    path = tmp_path / "state.json"
    assert write_state(_answer(gzip.compress(state)), path) == len(state)
    assert path.read_bytes() == state


@pytest.mark.parametrize("body, problem", [
    (b'{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Method not found"}}', "returned no state"),
    (_answer(gzip.compress(b'{"best_block_number":"0x9"}' * 50)[:-12]), "incomplete gzip stream"),
    (b'{"jsonrpc":"2.0","id":1,"result":"0xzz"}', "unreadable state"),
    (_answer(b"not gzip at all"), "unreadable state"),
])
def test_a_bad_answer_leaves_the_previous_file(tmp_path: Path, body: bytes, problem: str) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"best_block_number":"0x5"}')
    with pytest.raises(StateDumpError, match=problem):
        write_state(body, path)
    assert path.read_text() == '{"best_block_number":"0x5"}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]
