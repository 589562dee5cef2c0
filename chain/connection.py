"""Connecting to a node by URL.

- ``memory://``  an in-process eth-tester (py-evm) chain: fast, nothing on disk (unit tests);
- ``http(s)://`` any JSON-RPC node: the embedded anvil, or a Besu QBFT validator. Transactions
  are always signed locally and sent raw (Besu has no ``eth_sendTransaction``), and the
  proof-of-authority extraData middleware is installed (QBFT extraData is longer than 32 bytes).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

import requests
from web3 import Web3
from web3.middleware import ExtraDataToPOAMiddleware

from chain.errors import ChainIdMismatch, NodeUnavailable
from chain.node_http import NodeHTTPProvider

FUNDING_WEI = 10**21
_HEX_QUANTITY = re.compile(r"0x[0-9a-fA-F]+")


@dataclass
class Chain:
    """A connected node and what we know of it."""

    w3: Web3
    url: str
    kind: str  # "memory" | "anvil" | "rpc"
    chain_id: int
    lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def dev_methods(self) -> bool:
        """True where the node accepts anvil's evm_* / anvil_* methods (timestamps, balances)."""
        return self.kind == "anvil"

    def head(self) -> int:
        return self.w3.eth.block_number

    def now(self) -> int:
        """The chain's time: the latest block's timestamp (what a contract's ``block.timestamp`` would be
        read against; the demo and tests move it ahead of the wall clock)."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def fee_fields(self) -> dict[str, int]:
        """Fee fields for a new transaction: zero on a zero-fee chain, EIP-1559 otherwise."""
        base = self._latest_base_fee()
        if base is None:
            return {"gasPrice": self.w3.eth.gas_price}
        if base == 0:
            return {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0}
        tip = 10**9
        return {"maxFeePerGas": 2 * base + tip, "maxPriorityFeePerGas": tip}

    def _latest_base_fee(self) -> int | None:
        """The latest block's ``baseFeePerGas`` (None before London). Over JSON-RPC the block is
        asked for directly: web3's block formatting of every field costs ~0.3 ms of CPU and is not
        needed for one. An answer that is not a plain block with a hex or absent base fee (an
        error, no block) is asked again through web3, so that it raises or reads what web3 would;
        the in-process chain is always read through web3."""
        if self.kind != "memory":
            block = self.plain_result("eth_getBlockByNumber", ["latest", False])
            if isinstance(block, dict):
                base = block.get("baseFeePerGas")
                if base is None:
                    return None
                if isinstance(base, str) and _HEX_QUANTITY.fullmatch(base):
                    return int(base, 16)
        return self.w3.eth.get_block("latest").get("baseFeePerGas")

    def fund(self, addresses: list[str]) -> None:
        """Give gas money where the chain charges for gas and we can mint it (dev chains only)."""
        if self.kind == "memory":
            source = self.w3.eth.accounts[0]
            for address in addresses:
                if self.w3.eth.get_balance(address) < FUNDING_WEI // 2:
                    tx = self.w3.eth.send_transaction({"from": source, "to": address, "value": FUNDING_WEI})
                    self.w3.eth.wait_for_transaction_receipt(tx)
        elif self.kind == "anvil" and "maxFeePerGas" in self.fee_fields() and self.fee_fields()["maxFeePerGas"]:
            for address in addresses:
                self.w3.provider.make_request("anvil_setBalance", [address, hex(FUNDING_WEI)])

    def plain_result(self, method: str, params: list[Any]) -> Any:
        """The ``result`` of a JSON-RPC request sent straight to the provider, past web3's formatting
        and middleware; None for an error answer or no result. For the fast paths that read one plain
        value and, given None or something unexpected, ask again through web3 (so that web3 raises or
        formats as it would). Transport errors propagate."""
        response = self.w3.provider.make_request(method, params)
        return response.get("result") if isinstance(response, dict) and "error" not in response else None

    def rpc(self, method: str, params: list[Any]) -> Any:
        """A raw JSON-RPC call; raises NodeUnavailable on transport errors and RuntimeError on an RPC error."""
        try:
            response = self.w3.provider.make_request(method, params)
        except (requests.ConnectionError, requests.Timeout, OSError) as exc:
            raise NodeUnavailable(f"node at {self.url} did not answer {method}: {exc}") from None
        if "error" in response:
            raise RuntimeError(f"{method}: {response['error'].get('message', response['error'])}")
        return response.get("result")


def _memory_web3() -> Web3:
    from eth_tester import EthereumTester, PyEVMBackend
    from web3.providers.eth_tester import EthereumTesterProvider

    return Web3(EthereumTesterProvider(EthereumTester(PyEVMBackend())))


def connect(url: str, expected_chain_id: int = 0, timeout: float = 10.0) -> Chain:
    """Connect to ``url`` and check it answers with the expected chain id (0 = any)."""
    if url.startswith("memory://"):
        w3 = _memory_web3()
        kind = "memory"
    elif url.startswith(("http://", "https://")):
        provider = NodeHTTPProvider(url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None)
        w3 = Web3(provider)
        w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
        kind = "rpc"
    else:
        raise ValueError(f"unsupported node URL {url!r}: use memory:// or http(s)://")
    try:
        chain_id = w3.eth.chain_id
        client = w3.client_version if kind == "rpc" else "eth-tester"
    except (requests.ConnectionError, requests.Timeout, OSError) as exc:
        raise NodeUnavailable(f"node unreachable at {url}: {type(exc).__name__}") from None
    if kind == "rpc" and client.lower().startswith("anvil"):
        kind = "anvil"
    if expected_chain_id and chain_id != expected_chain_id:
        raise ChainIdMismatch(f"node at {url} reports chain id {chain_id}, expected {expected_chain_id}")
    return Chain(w3=w3, url=url, kind=kind, chain_id=chain_id)
