"""Pages call the API's own route functions (the same checks, the same services, the same error codes) and
show their refusals: as a 4xx page when reading, as a message beside the form when writing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from chain.errors import ChainError, ContractRevert
from gateway.deps import Caller
from gateway.errors import APIError
from gateway.web.session import WebRefusal

T = TypeVar("T")


def read(who: Caller, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Call an API route function for a page (as ``who``); its refusal becomes the page's refusal."""
    try:
        return fn(*args, **kwargs)
    except APIError as exc:
        raise WebRefusal(exc.status, exc.code, exc.message, who) from None


def explain(exc: Exception) -> str:
    """One line saying why an action was refused: the API's code and message, or the contract's own error."""
    if isinstance(exc, APIError):
        return f"{exc.message} ({exc.code})"
    if isinstance(exc, ContractRevert):
        args = ", ".join(f"{k}={v}" for k, v in exc.to_dict()["args"].items())
        return f"{exc.error}({args})"
    if isinstance(exc, ValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        field = ".".join(str(p) for p in first.get("loc", ()))
        return f"{field}: {first.get('msg', 'invalid input')} (invalid_request)"
    return str(exc)


ACTION_ERRORS = (APIError, ChainError, ValidationError)


def status_of(exc: Exception) -> int:
    if isinstance(exc, APIError):
        return exc.status
    if isinstance(exc, ValidationError):
        return 422
    return 409


def fen(text: Any) -> int:
    """Yuan as typed (``1,234.5``) → fen; ValueError on anything else."""
    cleaned = str(text or "").replace(",", "").replace("¥", "").strip()
    if not cleaned:
        raise ValueError("amount missing")
    from decimal import Decimal, InvalidOperation

    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount in yuan") from None
    if value < 0 or value != value.quantize(Decimal("0.01")):
        raise ValueError(f"{text!r} is not an amount in yuan with at most two decimals")
    return int(value * 100)
