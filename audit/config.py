"""Thresholds of the 29 points from configuration (``[audit]`` in config.toml, chain.config.AuditSettings).

``thresholds`` is a list of ``"POINT.param=value"`` strings; the value is read as the type of the
default (int, float; a tuple default takes ``a|b|c``). An unknown point or parameter, or a value of
the wrong type, is a :class:`chain.config.ConfigError`. Example::

    [audit]
    thresholds = ["PUB1.prompt_wd=4", "APP5.alarm_ratio=0.4", "USE1.banned=gifts|wages"]
    disabled = ["APP4"]
"""

from __future__ import annotations

from typing import Any

from chain.config import AuditSettings, ConfigError
from audit.rules import BY_ID


def _coerce(point: str, name: str, default: Any, raw: str) -> Any:
    where = f"[audit] thresholds: {point}.{name}"
    if isinstance(default, tuple):
        return tuple(v.strip() for v in raw.split("|") if v.strip())
    try:
        if isinstance(default, bool):
            raise ValueError
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        raise ConfigError(f"{where} must be a {type(default).__name__}, got {raw!r}") from None
    raise ConfigError(f"{where}: unsupported parameter type")  # pragma: no cover


def thresholds(settings: AuditSettings | None = None) -> dict[str, dict[str, Any]]:
    """Effective thresholds of every point: its defaults with the configured overrides applied."""
    settings = settings or AuditSettings()
    params = {pid: dict(r.defaults) for pid, r in BY_ID.items()}
    for item in settings.thresholds:
        key, sep, value = item.partition("=")
        point, dot, name = key.strip().partition(".")
        if not sep or not dot:
            raise ConfigError(f"[audit] thresholds: {item!r} is not \"POINT.param=value\"")
        if point not in BY_ID:
            raise ConfigError(f"[audit] thresholds: unknown point {point!r}")
        if name not in params[point]:
            raise ConfigError(f"[audit] thresholds: {point} has no parameter {name!r} "
                              f"(it has {sorted(params[point]) or 'none'})")
        params[point][name] = _coerce(point, name, params[point][name], value.strip())
    return params


def enabled(settings: AuditSettings | None = None) -> list[str]:
    settings = settings or AuditSettings()
    unknown = set(settings.disabled) - set(BY_ID)
    if unknown:
        raise ConfigError(f"[audit] disabled: unknown point(s) {sorted(unknown)}")
    return [pid for pid in BY_ID if pid not in settings.disabled]
