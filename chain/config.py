"""The one configuration object: ``Settings``, read from ``<data dir>/config.toml``.

Every component takes the pieces it needs from a ``Settings`` passed to it; nothing reads
configuration from globals. Secrets (passphrases) never live here: they come from the
environment or a prompt at start.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_DATA_DIR = Path(".alliance")
PASSPHRASE_ENV = "ALLIANCE_PASSPHRASE"
DATA_DIR_ENV = "ALLIANCE_DATA_DIR"
EMBEDDED = "embedded"


class ConfigError(ValueError):
    """The configuration is missing or invalid; the message names the file and the problem."""


@dataclass(frozen=True)
class NodeSettings:
    """The embedded anvil node that `alliance up` starts and supervises."""

    host: str = "127.0.0.1"
    port: int = 8545
    chain_id: int = 4242
    hardfork: str = "cancun"
    # seconds between checks for a changed chain: a changed chain's state is written then, but no
    # sooner than 20x the last dump's duration after it (chain.state_dumps); an idle chain is never rewritten
    state_interval: int = 1
    history_states: int = 256  # past blocks' states kept (in memory) for reads at an older block
    start_timeout: float = 20.0


@dataclass(frozen=True)
class GatewaySettings:
    host: str = "127.0.0.1"
    port: int = 8645
    token_issuer: str = "alliance-ledger"
    token_ttl_seconds: int = 8 * 3600
    password_scrypt_n: int = 2**15
    # the department whose member anchors what enterprises upload (the service centre)
    service_department: str = "APPROVAL"
    # how old the chain facts of a licence verdict may be: 0 = a head check started after the
    # request arrived (never staler than the chain when asked); N = one started in the last N ms
    verify_max_staleness_ms: float = 0.0
    # login throttling: this many failed logins for one username (or from one address) within the
    # window lock further logins for that username (address) for lock_seconds
    login_max_failures: int = 5
    login_max_failures_per_address: int = 30
    login_window_seconds: int = 900
    login_lock_seconds: int = 900


@dataclass(frozen=True)
class ChainSettings:
    # "embedded" (anvil started by the CLI), "memory://" (eth-tester) or an http(s):// JSON-RPC URL
    rpc_url: str = EMBEDDED
    # the chain id the deployment must be on; 0 = accept what the node reports on first deploy
    expected_chain_id: int = 0
    receipt_timeout: float = 60.0
    gas_multiplier: float = 1.25
    keystore_scrypt_n: int = 2**15
    indexer_poll_seconds: float = 0.5
    indexer_batch_blocks: int = 2000


@dataclass(frozen=True)
class DocumentSettings:
    """Off-chain documents and their batch anchoring."""

    max_bytes: int = 20 * 1024 * 1024  # largest accepted upload
    cipher: str = "aes-256-gcm"  # encryption at rest: "aes-256-gcm" or "sm4-gcm"
    batch_size: int = 200  # seal a batch at this many documents ...
    batch_seconds: float = 1.0  # ... or when its oldest document has waited this long


@dataclass(frozen=True)
class CalendarSettings:
    """The working-day calendar (工作日) that notice periods, review deadlines and audit timers count in.

    Saturdays and Sundays are rest days unless listed in ``workdays`` (调休 make-up days); the dates in
    ``holidays`` are rest days. List the State Council's published holiday schedule here each year:
    the product ships none, because a wrong default would silently shift every deadline.
    """

    holidays: tuple[str, ...] = ()  # ISO dates, e.g. "2027-01-01"
    workdays: tuple[str, ...] = ()  # weekend dates that are working days (调休)
    timezone: str = "Asia/Shanghai"  # the district's civil time, in which dates and deadlines are read


@dataclass(frozen=True)
class SubsidySettings:
    """Subsidy applications and review (gateway.subsidies).

    Each review level must be recorded within its number of working days (counted with
    ``[calendar]``) from when it became due; the automatic-approval rule (秒批) is recorded on chain
    under ``autoverify_rule`` (with the policy's criteria version), so changing the rule changes the
    recorded rule version.
    """

    first_review_workdays: int = 5  # 初审
    re_review_workdays: int = 5  # 复审
    signoff_workdays: int = 3  # 审定
    autoverify_rule: str = "autoverify-1"
    # a double-random draw executes in a block after its request's: "auto" mines one empty block on a
    # node that mines only on transactions (the embedded anvil, eth-tester) so that it runs at once;
    # "never" leaves it requested until the next block (POST /subsidies/draws/{id}/execute)
    draw_mine_block: str = "auto"

    @property
    def review_workdays(self) -> tuple[int, int, int]:
        """The deadlines of review levels 1, 2 and 3 (first review, re-review, sign-off)."""
        return self.first_review_workdays, self.re_review_workdays, self.signoff_workdays


@dataclass(frozen=True)
class PayoutSettings:
    """Public notices, payout batches, use of funds (gateway.subsidies notices / payouts / usage).

    ``notice_workdays`` is the notice period when neither the request nor the policy gives one;
    a returned amount that differs from the exported one by at most ``rounding_tolerance_fen`` is
    reported as a rounding difference, a larger one as an amount mismatch (both refuse the import).
    """

    notice_workdays: int = 5  # 公示期
    max_batch_lines: int = 5000  # lines per bank batch file
    rounding_tolerance_fen: int = 99
    # what an enterprise may report spending on; the code on-chain is the position + 1, so new categories go at
    # the end. The last six are what policies usually ban (the audit's USE1 ``banned`` / ``severe``): the
    # enterprise reports them as they are, and the audit flags them.
    use_categories: tuple[str, ...] = ("equipment", "research", "personnel", "rent", "training", "other", "wages",
                                       "debt", "buildings", "entertainment", "gifts", "investment")


@dataclass(frozen=True)
class AuditSettings:
    """The 29 supervision points (see audit/catalogue.py and docs/audit_points.md).

    ``thresholds`` overrides a point's default thresholds, one ``"POINT.param=value"`` string each,
    e.g. ``["PUB1.prompt_wd=4", "APP5.alarm_ratio=0.4"]``; a changed threshold changes that point's
    rule version. ``disabled`` lists point ids that are not evaluated.
    """

    thresholds: tuple[str, ...] = ()
    disabled: tuple[str, ...] = ()
    district: str = ""  # the district's 6-digit division code: a firm registered elsewhere has moved out (PAY4)
    # alerts, holds and cases (audit.routing, audit.cases): deadlines in working days of [calendar]
    rectification_workdays: int = 10  # a warning's rectification deadline (整改期限) before it escalates to alarm
    case_step_workdays: int = 20  # each step of a problem clue (问题线索) is due within this many working days
    yellow_workdays: int = 3  # a deadline this close (or closer) shows yellow; past it shows red
    anchor_batch_size: int = 500  # alert records anchored per AuditTrail transaction at most
    tick_seconds: int = 60  # how often the gateway's background loop runs the audit timers
    live_verify_seconds: int = 3600  # event-driven audit: how often the live snapshot is reloaded and fully rescanned


@dataclass(frozen=True)
class Settings:
    """The whole configuration. Every field after ``database_url`` is one ``[section]`` of config.toml:
    to add a section, define its frozen dataclass (defaults for every field) and add a field here."""

    data_dir: Path
    database_url: str = ""
    chain: ChainSettings = field(default_factory=ChainSettings)
    node: NodeSettings = field(default_factory=NodeSettings)
    gateway: GatewaySettings = field(default_factory=GatewaySettings)
    documents: DocumentSettings = field(default_factory=DocumentSettings)
    calendar: CalendarSettings = field(default_factory=CalendarSettings)
    audit: AuditSettings = field(default_factory=AuditSettings)
    subsidies: SubsidySettings = field(default_factory=SubsidySettings)
    payouts: PayoutSettings = field(default_factory=PayoutSettings)

    # ---- derived paths -------------------------------------------------
    @property
    def config_file(self) -> Path:
        return self.data_dir / "config.toml"

    @property
    def alliance_file(self) -> Path:
        return self.data_dir / "alliance.toml"

    @property
    def keystore_dir(self) -> Path:
        return self.data_dir / "keystore"

    @property
    def token_key_file(self) -> Path:
        return self.data_dir / "keystore" / "token-signing-key.pem"

    @property
    def vault_key_file(self) -> Path:
        return self.data_dir / "keystore" / "vault-key.sealed"

    @property
    def alliance_secret_file(self) -> Path:
        """The alliance HMAC key: personal identifiers appear on-chain only as HMACs under it."""
        return self.data_dir / "keystore" / "alliance-hmac.sealed"

    @property
    def vault_dir(self) -> Path:
        return self.data_dir / "documents"

    @property
    def node_dir(self) -> Path:
        return self.data_dir / "node"

    @property
    def deployment_file(self) -> Path:
        return self.data_dir / "deployment.json"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'gateway.db').resolve()}"

    @property
    def effective_rpc_url(self) -> str:
        if self.chain.rpc_url == EMBEDDED:
            return f"http://{self.node.host}:{self.node.port}"
        return self.chain.rpc_url

    @property
    def embedded(self) -> bool:
        return self.chain.rpc_url == EMBEDDED


def _sections() -> list[tuple[str, type]]:
    """(name, dataclass) of every ``[section]`` of config.toml, in file order."""
    defaults = Settings(data_dir=Path("."))
    return [(f.name, type(getattr(defaults, f.name))) for f in fields(Settings) if f.name not in ("data_dir",
                                                                                                  "database_url")]


def section_names() -> list[str]:
    return [name for name, _ in _sections()]


def _section(cls: type, raw: Any, where: str) -> Any:
    if raw is None:
        return cls()
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    known = {f.name: f for f in fields(cls)}
    unknown = set(raw) - set(known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}")
    values = {}
    for key, value in raw.items():
        default = getattr(cls(), key)
        if isinstance(default, tuple):  # a TOML array of strings
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}.{key} must be an array of strings, got {value!r}")
            values[key] = tuple(value)
            continue
        accepted: tuple[type, ...] = (int, float) if isinstance(default, float) else (type(default),)
        if isinstance(value, bool) or not isinstance(value, accepted):
            raise ConfigError(f"{where}.{key} must be of type {type(default).__name__}, got {value!r}")
        values[key] = type(default)(value)
    return cls(**values)


def load_settings(data_dir: Path | str | None = None) -> Settings:
    """Read ``config.toml`` from the data directory (``--data-dir``, $ALLIANCE_DATA_DIR or ./.alliance)."""
    root = Path(data_dir or os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR).resolve()
    path = root / "config.toml"
    if not path.exists():
        raise ConfigError(f"no configuration at {path}: run `alliance init` first")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    unknown = set(raw) - {"database_url", *section_names()}
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {sorted(unknown)}")
    if not isinstance(raw.get("database_url", ""), str):
        raise ConfigError(f"{path}: database_url must be of type str, got {raw['database_url']!r}")
    settings = Settings(
        data_dir=root,
        database_url=str(raw.get("database_url", "")),
        **{name: _section(cls, raw.get(name), f"{path} [{name}]") for name, cls in _sections()},
    )
    if settings.documents.cipher not in ("aes-256-gcm", "sm4-gcm"):
        raise ConfigError(f"{path} [documents] cipher must be \"aes-256-gcm\" or \"sm4-gcm\"")
    sub = settings.subsidies
    if sub.draw_mine_block not in ("auto", "never"):
        raise ConfigError(f"{path} [subsidies] draw_mine_block must be \"auto\" or \"never\"")
    if min(sub.review_workdays) < 1:
        raise ConfigError(f"{path} [subsidies] review deadlines must be at least 1 working day")
    url = settings.chain.rpc_url
    if not (url == EMBEDDED or url.startswith(("memory://", "http://", "https://"))):
        raise ConfigError(f"{path} [chain] rpc_url {url!r}: use \"embedded\", \"memory://\" or an http(s):// URL")
    return settings


def _toml_string(value: str) -> str:
    """A TOML basic string (JSON's escapes are all valid TOML escapes)."""
    return json.dumps(value, ensure_ascii=False)


def render_config(settings: Settings) -> str:
    """The TOML text of a settings object (what `alliance init` writes)."""

    def table(name: str, obj: Any) -> str:
        lines = [f"[{name}]"]
        for f in fields(obj):
            value = getattr(obj, f.name)
            if isinstance(value, tuple):
                rendered = "[" + ", ".join(_toml_string(v) for v in value) + "]"
            elif isinstance(value, str):
                rendered = _toml_string(value)
            else:
                rendered = repr(value).lower() if isinstance(value, bool) else repr(value)
            lines.append(f"{f.name} = {rendered}")
        return "\n".join(lines)

    head = [
        "# Alliance Ledger configuration. Passphrases are never stored here: set $ALLIANCE_PASSPHRASE",
        "# or answer the prompt. database_url empty = SQLite in the data directory;",
        '# for PostgreSQL e.g. "postgresql+psycopg://user@127.0.0.1:5432/alliance".',
        f"database_url = {_toml_string(settings.database_url)}",
        "",
    ]
    body = "\n\n".join(table(name, getattr(settings, name)) for name in section_names())
    return "\n".join(head) + body + "\n"


def with_overrides(settings: Settings, **sections: dict[str, Any]) -> Settings:
    """A copy of ``settings`` with some section fields replaced (tests and CLI flags)."""
    changes: dict[str, Any] = {}
    for name, values in sections.items():
        if name == "database_url":
            changes[name] = values
        else:
            changes[name] = replace(getattr(settings, name), **values)
    return replace(settings, **changes)
