"""JSON-RPC over HTTP to a node, on kept-alive sockets where nothing stands in between.

web3's ``HTTPProvider`` posts through ``requests``: about 0.6 ms of CPU per request on top of
what the node takes to answer (0.17 ms for ``eth_blockNumber`` from the embedded anvil), most of
it spent re-reading proxy settings from the environment and preparing the request. Every signed
transaction costs four such requests, every verification several. ``NodeHTTPProvider`` is an
``HTTPProvider`` (same arguments, same answers, same errors for an HTTP status other than 200)
that, for a plain ``http://`` node no proxy applies to, writes each request in one segment on a
kept-alive socket and parses the reply with ``http.client``. Sockets are shared between threads,
one request at a time each; a socket the node had closed is replaced once, transparently. For
``https://`` nodes, nodes reached through a proxy, or extra request options (certificates,
authentication objects), it is exactly ``HTTPProvider``.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
from typing import Any
from urllib.parse import urlsplit

import requests
from web3 import HTTPProvider
from web3._utils.http_session_manager import HTTPSessionManager

MAX_IDLE = 8  # kept-alive sockets kept while no request uses them
DIRECT_OPTIONS = {"timeout", "headers"}  # request options the direct path honours


class NodeConnections:
    """Kept-alive sockets to one plain ``http://`` node."""

    def __init__(self, endpoint: str, timeout: float):
        url = urlsplit(endpoint)
        self.address = (url.hostname or "127.0.0.1", url.port or 80)
        self.host = url.netloc.rsplit("@", 1)[-1]
        self.path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        self.timeout = timeout
        self._idle: list[socket.socket] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def _take(self) -> socket.socket | None:
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's sockets are the parent's
                self._idle = []
                self._pid = os.getpid()
            return self._idle.pop() if self._idle else None

    def _give_back(self, sock: socket.socket) -> None:
        with self._lock:
            if len(self._idle) < MAX_IDLE and self._pid == os.getpid():
                self._idle.append(sock)
                return
        sock.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for sock in idle:
            sock.close()

    def post(self, body: bytes, headers: dict[str, str] | None = None,
             timeout: float | None = None) -> tuple[int, str, bytes]:
        """POST ``body``; (status, reason, reply body). Raises ``OSError`` (``ConnectionError`` for a
        reply that is not HTTP) when the node cannot be reached or breaks off."""
        headers = headers or {"Content-Type": "application/json"}
        request = "".join([f"POST {self.path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(body)}\r\n",
                           *(f"{k}: {v}\r\n" for k, v in headers.items()
                             if k.lower() not in ("host", "content-length")),
                           "\r\n"]).encode("latin-1") + body  # headers and body in one segment
        timeout = self.timeout if timeout is None else timeout
        for attempt in (1, 2):
            sock = self._take() if attempt == 1 else None  # the second time: on a new socket
            fresh = sock is None
            try:
                if sock is None:
                    sock = socket.create_connection(self.address, timeout)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                else:
                    sock.settimeout(timeout)
                sock.sendall(request)
                reply = http.client.HTTPResponse(sock, method="POST")
                reply.begin()
                data = reply.read()
            except (OSError, http.client.HTTPException) as exc:
                if sock is not None:
                    sock.close()
                if fresh or attempt == 2:
                    if isinstance(exc, OSError):
                        raise
                    raise ConnectionError(f"node at {self.host} broke off the reply: {exc!r}") from None
                continue  # a kept-alive socket the node had closed: once more on a new one
            if reply.will_close:
                sock.close()
            else:
                self._give_back(sock)
            return reply.status, reply.reason, data
        raise AssertionError("unreachable")  # pragma: no cover


def _no_proxy_for(endpoint: str) -> bool:
    return not requests.utils.get_environ_proxies(endpoint)


class NodeSessionManager(HTTPSessionManager):
    """web3's session manager, with POSTs to the provider's own node sent on ``NodeConnections``."""

    def __init__(self, connections: NodeConnections, endpoint: str):
        super().__init__()
        self.connections = connections
        self.endpoint = endpoint

    def make_post_request(self, endpoint_uri: Any, data: bytes | dict[str, Any], **kwargs: Any) -> bytes:
        if str(endpoint_uri) != self.endpoint or set(kwargs) - DIRECT_OPTIONS:
            return super().make_post_request(endpoint_uri, data, **kwargs)
        body = data if isinstance(data, bytes) else json.dumps(data).encode()
        status, reason, content = self.connections.post(body, kwargs.get("headers"), kwargs.get("timeout"))
        if status != 200:
            response = requests.Response()
            response.status_code, response.reason, response._content = status, reason, content
            response.url = self.endpoint
            raise requests.HTTPError(f"{status} {reason} for url: {self.endpoint}", response=response)
        return content


class NodeHTTPProvider(HTTPProvider):
    """``HTTPProvider`` over ``NodeConnections`` where the node is plain ``http://`` and no proxy applies."""

    def __init__(self, endpoint_uri: str, request_kwargs: dict[str, Any] | None = None, **kwargs: Any):
        super().__init__(endpoint_uri, request_kwargs=request_kwargs, **kwargs)
        self.connections: NodeConnections | None = None
        endpoint = str(self.endpoint_uri)
        if (urlsplit(endpoint).scheme == "http" and not set(self._request_kwargs) - DIRECT_OPTIONS
                and _no_proxy_for(endpoint)):
            self.connections = NodeConnections(endpoint, float(self._request_kwargs.get("timeout") or 30))
            self._request_session_manager = NodeSessionManager(self.connections, endpoint)
