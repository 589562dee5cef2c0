"""Errors of the chain layer, and decoding of a revert into the contract's own custom error."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eth_abi import decode
from eth_utils import keccak, to_checksum_address


class ChainError(RuntimeError):
    """Base of every chain-layer error; ``code`` is machine-readable."""

    code = "chain_error"


class NodeUnavailable(ChainError):
    """The node did not answer (down, restarting, or unreachable)."""

    code = "node_unavailable"


class ChainIdMismatch(ChainError):
    code = "wrong_chain_id"


class DeploymentError(ChainError):
    code = "deployment_invalid"


class TransactionPending(ChainError):
    """The transaction is signed and journaled but not yet confirmed; it will be resubmitted."""

    code = "transaction_pending"

    def __init__(self, message: str, tx_hash: str, journal_id: int):
        super().__init__(message)
        self.tx_hash = tx_hash
        self.journal_id = journal_id


class TransactionRejected(ChainError):
    """The node refused the signed transaction outright (not a contract revert)."""

    code = "transaction_rejected"


class ContractRevert(ChainError):
    """A contract call or transaction reverted; ``error`` and ``args`` are the contract's own."""

    code = "contract_revert"

    def __init__(self, error: str, args: dict[str, Any], tx_hash: str | None = None):
        self.error = error
        self.args_ = args
        self.tx_hash = tx_hash
        shown = ", ".join(f"{k}={_show(v)}" for k, v in args.items())
        super().__init__(f"{error}({shown})")

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.error, "args": {k: _show(v) for k, v in self.args_.items()}, "tx_hash": self.tx_hash}


def _show(value: Any) -> Any:
    if isinstance(value, bytes):
        text = value.rstrip(b"\0")
        if len(value) == 32 and text and all(32 <= c < 127 for c in text):
            return text.decode()  # a short code stored as bytes32
        return "0x" + value.hex()
    if isinstance(value, (list, tuple)):
        return [_show(v) for v in value]
    return value


@dataclass(frozen=True)
class _ErrorDef:
    name: str
    arg_names: tuple[str, ...]
    arg_types: tuple[str, ...]


def abi_type(inp: dict[str, Any]) -> str:
    """The canonical type of an ABI parameter: ``(t1,t2,...)`` for a tuple, with its array suffix."""
    if inp["type"].startswith("tuple"):
        inner = ",".join(abi_type(c) for c in inp["components"])
        return f"({inner}){inp['type'][5:]}"
    return inp["type"]


class RevertDecoder:
    """Turns revert data into ``ContractRevert`` using the custom errors of the given ABIs."""

    PANIC_SELECTOR = keccak(text="Panic(uint256)")[:4]
    ERROR_SELECTOR = keccak(text="Error(string)")[:4]

    def __init__(self, abis: Iterable[list[dict[str, Any]]]):
        self._errors: dict[bytes, _ErrorDef] = {}
        for abi in abis:
            for item in abi:
                if item.get("type") != "error":
                    continue
                types = tuple(abi_type(i) for i in item["inputs"])
                selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
                names = tuple(i["name"] or f"arg{n}" for n, i in enumerate(item["inputs"]))
                self._errors[selector] = _ErrorDef(item["name"], names, types)

    def decode(self, data: bytes | str | None, tx_hash: str | None = None) -> ContractRevert:
        raw = _as_bytes(data)
        if len(raw) < 4:
            return ContractRevert("Reverted", {"reason": "no revert data"}, tx_hash)
        selector, body = raw[:4], raw[4:]
        try:
            if selector == self.ERROR_SELECTOR:
                return ContractRevert("Error", {"message": decode(["string"], body)[0]}, tx_hash)
            if selector == self.PANIC_SELECTOR:
                return ContractRevert("Panic", {"code": hex(decode(["uint256"], body)[0])}, tx_hash)
            spec = self._errors.get(selector)
            if spec is None:
                return ContractRevert("UnknownError", {"data": "0x" + raw.hex()}, tx_hash)
            values = decode(list(spec.arg_types), body)
        except Exception:  # malformed revert data
            return ContractRevert("UnknownError", {"data": "0x" + raw.hex()}, tx_hash)
        args = {
            n: to_checksum_address(v) if t == "address" else v
            for n, t, v in zip(spec.arg_names, spec.arg_types, values)
        }
        return ContractRevert(spec.name, args, tx_hash)


def _as_bytes(data: bytes | str | None) -> bytes:
    if data is None:
        return b""
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    text = str(data)
    if text.startswith("0x"):
        text = text[2:]
    try:
        return bytes.fromhex(text)
    except ValueError:
        return b""


def revert_data(exc: BaseException) -> bytes | None:
    """The raw revert data carried by a web3 or eth-tester exception, where it has any.

    web3 puts it in ``ContractLogicError.data``; eth-tester (through web3's tester provider)
    raises ``TransactionFailed("execution reverted: b'...'")`` with the data as a bytes repr.
    """
    data = getattr(exc, "data", None)
    if data:
        return _as_bytes(data)
    message = str(exc.args[0]) if exc.args else ""
    prefix = "execution reverted: "
    if message.startswith(prefix):
        literal = message[len(prefix):]
        if literal[:2] in ("b'", 'b"'):
            import ast

            try:
                value = ast.literal_eval(literal)
            except (ValueError, SyntaxError):
                return None
            return value if isinstance(value, bytes) else None
    return None


def revert_exceptions() -> tuple[type[BaseException], ...]:
    """Exception classes that mean "the EVM reverted" on every backend we support."""
    from web3.exceptions import ContractLogicError

    try:
        from eth_tester.exceptions import TransactionFailed
    except ImportError:  # eth-tester is a test/in-process dependency only
        return (ContractLogicError,)
    return (ContractLogicError, TransactionFailed)
