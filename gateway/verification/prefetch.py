"""Chain reads for many verdicts at once: JSON-RPC batch requests instead of one request per call.

A verdict's fragments read the chain through ``contract.functions.<name>(*args).call()``. Through
web3 each such call is its own HTTP request to the node (and web3 adds ``eth_chainId`` requests of
its own), so a licence verdict costs a dozen or more round trips. Here the calls a set of verdicts
will make are sent ahead in a few JSON-RPC batches, and the fragments get stand-in contracts
(:class:`PrefetchedContract`) that answer from the results. No verdict changes:

* a stand-in answers only a call it holds a result for — same contract, function and arguments,
  at ``latest`` — decoded to the value web3 returns (``bytes`` for ``bytesN``, ``int`` for
  ``uintN`` and enums, ``bool``, checksum address strings, tuples for structs);
* every other call — one not asked ahead, one that reverted, a node error, an output it does not
  decode exactly, a node that refuses batches — is made live through web3 at the moment the
  fragment makes it, so it returns or fails exactly as it would without prefetching. A provider
  that is not HTTP (eth-tester, in process) is asked one call at a time instead of in batches.

Only functions whose inputs and outputs are all static ``bytes32`` / ``uintN`` / ``bool`` /
``address`` (or a struct of them) are prefetched; that covers the DocumentStore-shape reads.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

import requests
from eth_utils import keccak, to_checksum_address
from web3 import HTTPProvider

from chain.node_http import NodeConnections

__all__ = ["Prefetch", "PrefetchedContract", "is_prefetched", "live_contract"]

MAX_BATCH = 500  # calls per HTTP request (Besu refuses batches above 1024 by default)
_LATEST = (None, "latest")

Key = tuple[str, str, tuple[Any, ...]]  # (contract address, function name, arguments)


# ---------------------------------------------------------------------------- static ABI coding

def _uint_bits(abi_type: str) -> int | None:
    if abi_type.startswith("uint"):
        bits = int(abi_type[4:] or 256)
        if 8 <= bits <= 256 and bits % 8 == 0:
            return bits
    return None


def _word_decoder(abi_type: str) -> Callable[[bytes], Any] | None:
    """Decoder of one 32-byte word as web3 returns it, or None if not a supported static type."""
    if abi_type == "bytes32":
        return bytes
    if abi_type == "bool":
        def boolean(word: bytes) -> bool:
            if word[:31] != bytes(31) or word[31] > 1:
                raise ValueError("not a bool")
            return word[31] == 1
        return boolean
    if abi_type == "address":
        cache: dict[bytes, str] = {}

        def address(word: bytes) -> str:
            if word[:12] != bytes(12):
                raise ValueError("not an address")
            found = cache.get(word)
            if found is None:
                found = cache[word] = to_checksum_address(word[12:])
            return found
        return address
    bits = _uint_bits(abi_type)
    if bits == 256:
        def uint256(word: bytes) -> int:
            return int.from_bytes(word, "big")  # 32 bytes: always in range
        return uint256
    if bits is not None:
        limit = 1 << bits

        def uint(word: bytes) -> int:
            value = int.from_bytes(word, "big")
            if value >= limit:
                raise ValueError("out of range")
            return value
        return uint
    return None


def _output_decoder(outputs: list[dict[str, Any]]) -> tuple[int, Callable[[bytes], Any]] | None:
    """(byte length, decoder) for a single static output (a value or a struct of static values)."""
    if len(outputs) != 1:
        return None
    out = outputs[0]
    if out.get("type") == "tuple":
        parts = [_word_decoder(c.get("type", "")) for c in out.get("components", [])]
        if not parts or any(p is None for p in parts):
            return None

        fields = [(p, 32 * i, 32 * i + 32) for i, p in enumerate(parts)]

        def struct(data: bytes) -> tuple:
            return tuple([p(data[a:b]) for p, a, b in fields])  # type: ignore[misc]
        return 32 * len(parts), struct
    word = _word_decoder(out.get("type", ""))
    return None if word is None else (32, word)


def _encode_args(types: Sequence[str], args: tuple[Any, ...]) -> str | None:
    """ABI encoding (hex) of static arguments, or None when web3 would have to judge them."""
    if len(types) != len(args):
        return None
    out = []
    for abi_type, value in zip(types, args):
        if abi_type == "bytes32":
            if type(value) is not bytes or len(value) != 32:
                return None
            out.append(value.hex())
            continue
        bits = _uint_bits(abi_type)
        if bits is None or type(value) is not int or not 0 <= value < (1 << bits):
            return None
        out.append(value.to_bytes(32, "big").hex())
    return "".join(out)


class _Function:
    """What is needed to prefetch calls of one contract function."""

    __slots__ = ("name", "selector", "inputs", "size", "decode")

    def __init__(self, abi: dict[str, Any]):
        self.name = abi["name"]
        self.inputs = [i["type"] for i in abi.get("inputs", [])]
        self.selector = "0x" + keccak(text=f"{self.name}({','.join(self.inputs)})")[:4].hex()
        decoder = _output_decoder(abi.get("outputs", []))
        self.size, self.decode = decoder if decoder else (0, None)


_FUNCTIONS: dict[int, tuple[Any, dict[str, _Function | None]]] = {}  # id(abi) -> (abi kept alive, table)
_FUNCTIONS_LOCK = threading.Lock()


def _function(contract: Any, name: str) -> _Function | None:
    """The prefetchable function ``name`` of ``contract`` (None: overloaded, or not static)."""
    abi = contract.abi
    cached = _FUNCTIONS.get(id(abi))
    if cached is None or cached[0] is not abi:
        entries: dict[str, list[dict[str, Any]]] = {}
        for item in abi:
            if item.get("type") == "function":
                entries.setdefault(item["name"], []).append(item)
        table: dict[str, _Function | None] = {}
        for fn_name, items in entries.items():
            fn = _Function(items[0]) if len(items) == 1 else None
            table[fn_name] = fn if fn is not None and fn.decode is not None else None
        cached = (abi, table)
        with _FUNCTIONS_LOCK:
            if len(_FUNCTIONS) >= 64:  # contracts re-created per request: do not hold their ABIs forever
                _FUNCTIONS.clear()
            _FUNCTIONS[id(abi)] = cached
    return cached[1].get(name)


# ---------------------------------------------------------------------------- JSON-RPC batches

_local = threading.local()  # per thread: a requests session (https:// and other nodes)
os.register_at_fork(after_in_child=lambda: _local.__dict__.clear())  # the parent's sockets are the parent's


def _post(provider: HTTPProvider, body: bytes) -> Any:
    """POST a JSON-RPC body to the provider's node; the parsed reply, or None.

    A ``NodeHTTPProvider`` on a plain ``http://`` node (the embedded anvil, Besu on a private
    network) sends it on its kept-alive sockets (``chain.node_http``): ``requests`` costs about
    1 ms more per request, more than the node takes to answer. Other providers and nodes go
    through ``requests`` with the provider's settings (certificates, proxies).
    """
    kwargs = dict(provider.get_request_kwargs())
    headers = dict(kwargs.pop("headers", None) or {"Content-Type": "application/json"})
    timeout = kwargs.get("timeout") or 30
    connections = getattr(provider, "connections", None)
    if isinstance(connections, NodeConnections):  # only ever made for a provider whose options it honours
        status, _, data = connections.post(body, headers, timeout)
        return json.loads(data) if status == 200 else None
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    reply = _local.session.post(provider.endpoint_uri, data=body, headers=headers, **{"timeout": timeout, **kwargs})
    return reply.json() if reply.status_code == 200 else None


def _batch_eth_calls(provider: Any, calls: list[tuple[str, str]], w3: Any = None) -> list[str | None]:
    """``eth_call`` at ``latest`` of each (to, data); the result hex, or None where there is none
    (an error, a revert, no answer at all): those are left to the live call."""
    results: list[str | None] = [None] * len(calls)
    if not calls:
        return results
    if not isinstance(provider, HTTPProvider):  # eth-tester and other in-process providers: one by one
        if w3 is None:
            return results
        for i, (to, data) in enumerate(calls):
            try:
                results[i] = "0x" + bytes(w3.eth.call({"to": to, "data": data}, "latest")).hex()
            except Exception:  # noqa: BLE001 - a revert or a node error: the live call will meet it
                continue
        return results
    for start in range(0, len(calls), MAX_BATCH):
        body = "[" + ",".join(
            '{"jsonrpc":"2.0","id":%d,"method":"eth_call","params":[{"to":"%s","data":"%s"},"latest"]}' % (i, to, data)
            for i, (to, data) in enumerate(calls[start:start + MAX_BATCH], start)) + "]"
        try:
            answers = _post(provider, body.encode())
        except (requests.RequestException, OSError, http.client.HTTPException, ValueError):
            answers = None  # the live calls will meet (and report) the same problem
        if not isinstance(answers, list):
            continue
        for answer in answers:
            if not isinstance(answer, dict):
                continue
            i, result = answer.get("id"), answer.get("result")
            if type(i) is int and start <= i < len(calls) and "error" not in answer and isinstance(result, str):
                results[i] = result
    return results


# ---------------------------------------------------------------------------- prefetching

class Prefetch:
    """Calls to read ahead, then the results to answer them from.

    ``want(contract, "fn", *args)`` queues a call; ``fetch()`` sends the queued calls in JSON-RPC
    batches and keeps the results it can decode exactly; ``answered(contract, "fn", *args)`` tells
    whether (and what) a call got; ``contract(c)`` is the stand-in that answers from them.
    """

    def __init__(self) -> None:
        self.answers: dict[Key, Any] = {}
        self._queued: dict[Key, tuple[Any, _Function, str]] = {}

    def want(self, contract: Any, name: str, *args: Any) -> None:
        key = (contract.address, name, args)
        if key in self.answers or key in self._queued:
            return
        fn = _function(contract, name)
        if fn is None:
            return
        encoded = _encode_args(fn.inputs, args)
        if encoded is not None:
            self._queued[key] = (contract, fn, fn.selector + encoded)

    def fetch(self) -> None:
        """Read every queued call (grouped by node); keep the results that decode exactly."""
        queued, self._queued = self._queued, {}
        by_provider: dict[int, list[tuple[Key, Any, _Function, str]]] = {}
        for key, (contract, fn, data) in queued.items():
            by_provider.setdefault(id(contract.w3.provider), []).append((key, contract, fn, data))
        for items in by_provider.values():
            provider = items[0][1].w3.provider
            results = _batch_eth_calls(provider, [(contract.address, data) for _, contract, _, data in items],
                                       items[0][1].w3)
            for (key, _, fn, _), result in zip(items, results):
                if result is None or len(result) != 2 + 2 * fn.size:
                    continue
                try:
                    self.answers[key] = fn.decode(bytes.fromhex(result[2:]))  # type: ignore[misc]
                except ValueError:
                    continue  # not what web3 would accept silently: let the live call decide

    def answered(self, contract: Any, name: str, *args: Any) -> tuple[bool, Any]:
        key = (contract.address, name, args)
        return (True, self.answers[key]) if key in self.answers else (False, None)

    def contract(self, contract: Any) -> "PrefetchedContract":
        return PrefetchedContract(live_contract(contract), self.answers)


def is_prefetched(contract: Any) -> bool:
    return isinstance(contract, PrefetchedContract)


def live_contract(contract: Any) -> Any:
    """The web3 contract behind a stand-in (or the contract itself)."""
    return contract._contract if isinstance(contract, PrefetchedContract) else contract


class PrefetchedContract:
    """A web3 contract whose view calls are answered from prefetched results where there are any,
    and made live otherwise (see the module docstring). Everything else is the contract's own."""

    def __init__(self, contract: Any, answers: dict[Key, Any]):
        self._contract = contract
        self.address = contract.address
        self.functions = _Functions(contract, answers)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._contract, name)


class _Functions:
    def __init__(self, contract: Any, answers: dict[Key, Any]):
        self._contract = contract
        self._answers = answers

    def __getattr__(self, name: str) -> Callable[..., "_Call"]:
        live = getattr(self._contract.functions, name)
        contract, answers = self._contract, self._answers
        function = self.__dict__[name] = lambda *args, **kwargs: _Call(contract, live, name, args, kwargs, answers)
        return function  # kept: the next use of this function does not come back here


class _Call:
    """A bound call: ``.call()`` answers from the prefetched result or calls the node."""

    def __init__(self, contract: Any, live: Any, name: str, args: tuple, kwargs: dict, answers: dict[Key, Any]):
        self._contract, self._live, self._name, self._args, self._kwargs = contract, live, name, args, kwargs
        self._answers = answers

    @property
    def abi(self) -> dict[str, Any]:
        abi = getattr(self._live, "abi", None)  # the function's ABI entry, without binding the arguments
        return abi if isinstance(abi, dict) and "outputs" in abi else self._bound().abi

    def _bound(self) -> Any:
        return self._live(*self._args, **self._kwargs)

    def call(self, transaction: dict[str, Any] | None = None, block_identifier: Any = None, *args: Any,
             **kwargs: Any) -> Any:
        if transaction is None and not args and not kwargs and not self._kwargs and block_identifier in _LATEST:
            try:
                return self._answers[(self._contract.address, self._name, self._args)]
            except (KeyError, TypeError):  # not prefetched, or arguments that cannot be a key
                pass
        return self._bound().call(transaction, block_identifier, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bound(), name)
