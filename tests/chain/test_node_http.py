"""JSON-RPC on kept-alive sockets (``chain.node_http``): the same answers and errors as web3's
``HTTPProvider``, against a real anvil node and a real HTTP server that misbehaves."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from web3 import HTTPProvider, Web3

from chain.config import NodeSettings
from chain.node import AnvilNode
from chain.node_http import NodeHTTPProvider
from tests.chain.chain_support import anvil_available, free_port


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilNode]:
    if not anvil_available():
        pytest.skip("anvil binary not installed (make setup)")
    started = AnvilNode(NodeSettings(port=free_port()), tmp_path_factory.mktemp("node-http") / "node")
    started.start()
    yield started
    started.stop()


def test_answers_are_web3s_own(node: AnvilNode) -> None:
    lean = Web3(NodeHTTPProvider(node.url, request_kwargs={"timeout": 5}))
    plain = Web3(HTTPProvider(node.url, request_kwargs={"timeout": 5}))
    assert lean.provider.connections is not None, "a plain http:// node with no proxy goes direct"
    assert lean.eth.chain_id == plain.eth.chain_id
    assert lean.eth.get_block("latest") == plain.eth.get_block("latest")
    assert lean.client_version == plain.client_version
    with lean.batch_requests() as batch:
        batch.add(lean.eth.get_block(0))
        batch.add(lean.eth.get_balance("0x" + "00" * 20))
        answers = batch.execute()
    assert answers[0] == plain.eth.get_block(0) and answers[1] == 0
    error = lean.provider.make_request("no_such_method", [])
    assert error["error"] == plain.provider.make_request("no_such_method", [])["error"]


def test_a_socket_the_node_closed_is_replaced(node: AnvilNode) -> None:
    provider = NodeHTTPProvider(node.url, request_kwargs={"timeout": 5})
    w3 = Web3(provider)
    head = w3.eth.block_number
    assert len(provider.connections._idle) == 1
    provider.connections._idle[0].shutdown(socket.SHUT_RDWR)  # as if the node had dropped it while idle
    assert w3.eth.block_number == head
    assert len(provider.connections._idle) == 1


def test_a_node_that_is_not_there_is_an_oserror() -> None:
    w3 = Web3(NodeHTTPProvider(f"http://127.0.0.1:{free_port()}", request_kwargs={"timeout": 2}))
    with pytest.raises(OSError):
        w3.eth.block_number


class _Misbehaving(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/status-500":
            body = b"overloaded"
            self.send_response(500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:  # a status line, then the connection drops
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"jsonrpc\"")
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def misbehaving() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Misbehaving)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_http_error_status_is_raised_as_web3_raises_it(misbehaving: str) -> None:
    w3 = Web3(NodeHTTPProvider(misbehaving + "/status-500", request_kwargs={"timeout": 5}))
    with pytest.raises(requests.HTTPError, match="500"):
        w3.eth.block_number


def test_a_reply_cut_short_is_a_connection_error(misbehaving: str) -> None:
    w3 = Web3(NodeHTTPProvider(misbehaving + "/cut", request_kwargs={"timeout": 5}))
    with pytest.raises(ConnectionError, match="broke off"):
        w3.eth.block_number


def test_proxies_https_and_extra_options_go_through_requests(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    assert NodeHTTPProvider("https://node.example:8545").connections is None
    assert NodeHTTPProvider("http://127.0.0.1:8545", request_kwargs={"verify": False}).connections is None
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert NodeHTTPProvider("http://10.1.2.3:8545").connections is None
    monkeypatch.setenv("NO_PROXY", "10.1.2.3")
    assert NodeHTTPProvider("http://10.1.2.3:8545").connections is not None
