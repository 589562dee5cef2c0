"""chain.config (config.toml → Settings) and chain.alliance (the alliance file)."""

from __future__ import annotations

import copy
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from chain.alliance import DEFAULT_ALLIANCE_FILE, AllianceConfigError, load_alliance, parse_alliance
from chain.config import (
    DATA_DIR_ENV,
    ChainSettings,
    ConfigError,
    GatewaySettings,
    NodeSettings,
    Settings,
    load_settings,
    render_config,
)

# ====================================================================== config.toml


def write_config(data_dir: Path, text: str) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_config_names_alliance_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="alliance init") as info:
        load_settings(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere" / "config.toml") in str(info.value)


def test_data_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path / "d", "[node]\nport = 9001\n")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "d"))
    settings = load_settings()
    assert settings.data_dir == (tmp_path / "d").resolve()
    assert settings.node.port == 9001


def test_empty_config_gives_defaults(tmp_path: Path) -> None:
    write_config(tmp_path, "")
    settings = load_settings(tmp_path)
    assert settings == Settings(data_dir=tmp_path.resolve())
    assert settings.embedded
    assert settings.effective_rpc_url == "http://127.0.0.1:8545"
    assert settings.effective_database_url == f"sqlite:///{tmp_path.resolve() / 'gateway.db'}"


def test_invalid_toml(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[chain\nrpc_url = ")
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        load_settings(tmp_path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("[chains]\nrpc_url = \"memory://\"\n", "chains"),
        ("[chain]\nrpc_urll = \"memory://\"\n", "rpc_urll"),
        ("[node]\nport = 1\nverbose = 3\n", "verbose"),
        ("[gateway]\nhost = \"0.0.0.0\"\nsecret = \"x\"\n", "secret"),
        ("passphrase = \"hunter22\"\n", "passphrase"),
    ],
)
def test_unknown_section_or_key(tmp_path: Path, text: str, names: str) -> None:
    write_config(tmp_path, text)
    with pytest.raises(ConfigError, match="unknown") as info:
        load_settings(tmp_path)
    assert names in str(info.value)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('[node]\nport = "x"\n', "port"),
        ("[node]\nport = 8545.5\n", "port"),
        ("[node]\nport = true\n", "port"),
        ('[chain]\nreceipt_timeout = "soon"\n', "receipt_timeout"),
        ("[chain]\nrpc_url = 8545\n", "rpc_url"),
        ("[gateway]\ntoken_ttl_seconds = [1, 2]\n", "token_ttl_seconds"),
        ("chain = 5\n", "must be a table"),
        ("database_url = 5\n", "database_url"),
    ],
)
def test_wrong_type(tmp_path: Path, text: str, where: str) -> None:
    write_config(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path)
    assert where in str(info.value)


def test_int_accepted_for_float_setting(tmp_path: Path) -> None:
    write_config(tmp_path, "[chain]\nreceipt_timeout = 30\n")
    settings = load_settings(tmp_path)
    assert settings.chain.receipt_timeout == 30.0
    assert isinstance(settings.chain.receipt_timeout, float)


@pytest.mark.parametrize("url", ["ftp://node:8545", "ws://127.0.0.1:8546", "127.0.0.1:8545", "", "Embedded"])
def test_bad_rpc_url_scheme(tmp_path: Path, url: str) -> None:
    write_config(tmp_path, f'[chain]\nrpc_url = "{url}"\n')
    with pytest.raises(ConfigError, match="rpc_url"):
        load_settings(tmp_path)


@pytest.mark.parametrize("url", ["embedded", "memory://", "http://10.0.0.5:8545", "https://besu.example.org/rpc"])
def test_good_rpc_urls(tmp_path: Path, url: str) -> None:
    write_config(tmp_path, f'[chain]\nrpc_url = "{url}"\n')
    settings = load_settings(tmp_path)
    assert settings.chain.rpc_url == url
    assert settings.embedded == (url == "embedded")
    if url != "embedded":
        assert settings.effective_rpc_url == url


def test_render_then_load_round_trip_defaults(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path.resolve())
    write_config(tmp_path, render_config(settings))
    assert load_settings(tmp_path) == settings


def test_render_then_load_round_trip_every_field_changed(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path.resolve(),
        database_url="postgresql+psycopg://alliance:p%40ss@127.0.0.1:5432/alliance",
        chain=ChainSettings(rpc_url="https://besu-1.example.org:8545", expected_chain_id=1337,
                            receipt_timeout=12.5, gas_multiplier=2.0, keystore_scrypt_n=2**12,
                            indexer_poll_seconds=0.05, indexer_batch_blocks=17),
        node=NodeSettings(host="0.0.0.0", port=18545, chain_id=99, hardfork="shanghai", state_interval=7,
                          start_timeout=3.0),
        gateway=GatewaySettings(host="::1", port=18645, token_issuer="区政务服务中心",
                                token_ttl_seconds=60, password_scrypt_n=2**11),
    )
    text = render_config(settings)
    tomllib.loads(text)  # valid TOML
    write_config(tmp_path, text)
    assert load_settings(tmp_path) == settings


def test_render_round_trips_strings_with_toml_escapes(tmp_path: Path) -> None:
    """A value with a backslash or a quote must come back as written, not break the file."""
    settings = Settings(data_dir=tmp_path.resolve(), database_url=r"sqlite:///srv\alliance\gateway.db",
                        gateway=GatewaySettings(token_issuer='alliance "pilot"'))
    write_config(tmp_path, render_config(settings))
    loaded = load_settings(tmp_path)
    assert loaded.database_url == settings.database_url
    assert loaded.gateway.token_issuer == 'alliance "pilot"'


def test_render_never_contains_passphrases(tmp_path: Path) -> None:
    text = render_config(replace(Settings(data_dir=tmp_path), database_url=""))
    assert "passphrase =" not in text.lower()


# ====================================================================== the alliance file


def default_data() -> dict:
    return tomllib.loads(DEFAULT_ALLIANCE_FILE.read_text(encoding="utf-8"))


def test_default_alliance_file() -> None:
    spec = load_alliance(DEFAULT_ALLIANCE_FILE)
    assert len(spec.departments) == 14
    codes = [d.code for d in spec.departments]
    assert len(set(codes)) == 14
    assert {"APPROVAL", "DISCIPLINE", "FINANCE", "DRC", "MARKET", "TAX", "SCITECH", "COMMERCE", "INDUSTRY", "IP",
            "CULTURE", "HOUSING", "TALENT"} <= set(codes)
    for d in spec.departments:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in d.name), f"{d.code} has no Chinese name: {d.name!r}"
        assert d.name_en and d.name_en.isascii() and d.name_en[0].isupper(), d.name_en
        assert d.members, f"{d.code} has no member"
    assert spec.department("MARKET").name == "市场监督管理局"
    assert spec.department("DISCIPLINE").name == "纪委监委"
    assert "inspector" in spec.department("DISCIPLINE").roles
    assert len(spec.licence_types) == 6
    issuers = {lt.code: lt.issuers for lt in spec.licence_types}
    assert issuers["BUSINESS_LICENCE"] == ("MARKET",)
    assert all(lt.name and lt.name_en for lt in spec.licence_types)
    assert 1 <= spec.threshold <= 14
    assert spec.proposal_lifetime_days >= 1
    assert {m.alias for m in spec.members} >= {"MARKET-admin", "FINANCE-admin"}
    assert len(spec.members) == 14


def test_missing_alliance_file(tmp_path: Path) -> None:
    with pytest.raises(AllianceConfigError, match="not found"):
        load_alliance(tmp_path / "alliance.toml")


def test_invalid_alliance_toml(tmp_path: Path) -> None:
    path = tmp_path / "alliance.toml"
    path.write_text("threshold = \n", encoding="utf-8")
    with pytest.raises(AllianceConfigError, match="not valid TOML"):
        load_alliance(path)


def _dept(data: dict, code: str) -> dict:
    return next(d for d in data["departments"] if d["code"] == code)


def _mutate_duplicate_code(data: dict) -> None:
    data["departments"][1]["code"] = data["departments"][0]["code"]


def _mutate_bad_code(data: dict) -> None:
    _dept(data, "MARKET")["code"] = "market-regulation"


def _mutate_member_role_not_held(data: dict) -> None:
    _dept(data, "DISCIPLINE")["members"][0]["roles"] = ["governor", "finance"]


def _mutate_unknown_member_role(data: dict) -> None:
    _dept(data, "MARKET")["members"][0]["roles"] = ["governor", "emperor"]


def _mutate_unknown_department_role(data: dict) -> None:
    _dept(data, "TAX")["roles"] = ["governor", "tax_collector"]


def _mutate_threshold_zero(data: dict) -> None:
    data["threshold"] = 0


def _mutate_threshold_too_big(data: dict) -> None:
    data["threshold"] = 15


def _mutate_threshold_bool(data: dict) -> None:
    data["threshold"] = True


def _mutate_threshold_missing(data: dict) -> None:
    del data["threshold"]


def _mutate_unknown_issuer(data: dict) -> None:
    data["licence_types"]["BUSINESS_LICENCE"]["issuers"] = ["MARKET", "POLICE"]


def _mutate_no_governor(data: dict) -> None:
    for d in data["departments"]:
        for m in d["members"]:
            m["roles"] = [r for r in m["roles"] if r != "governor"] or ["reviewer"]
        d["roles"] = [r for r in d["roles"] if r != "governor"] + ["reviewer"]


def _mutate_no_departments(data: dict) -> None:
    data["departments"] = []


def _mutate_missing_name_en(data: dict) -> None:
    del _dept(data, "FINANCE")["name_en"]


def _mutate_duplicate_member(data: dict) -> None:
    d = _dept(data, "FINANCE")
    d["members"].append(dict(d["members"][0]))


def _mutate_bad_member_name(data: dict) -> None:
    _dept(data, "FINANCE")["members"][0]["name"] = "Chief Accountant"


def _mutate_bad_licence_code(data: dict) -> None:
    data["licence_types"]["business licence"] = data["licence_types"].pop("BUSINESS_LICENCE")


def _mutate_department_not_table(data: dict) -> None:
    data["departments"] = {"code": "MARKET"}  # `[departments]` written instead of `[[departments]]`


def _mutate_member_not_table(data: dict) -> None:
    _dept(data, "MARKET")["members"] = ["admin"]


def _mutate_licence_type_not_table(data: dict) -> None:
    data["licence_types"]["BUSINESS_LICENCE"] = "MARKET"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_mutate_duplicate_code, "duplicate department code"),
        (_mutate_bad_code, "market-regulation.*code must be"),
        (_mutate_member_role_not_held, r"\['finance'\] are not held by the department"),
        (_mutate_unknown_member_role, "unknown role 'emperor'"),
        (_mutate_unknown_department_role, "unknown role 'tax_collector'"),
        (_mutate_threshold_zero, "threshold must be an integer from 1 to 14"),
        (_mutate_threshold_too_big, "threshold must be an integer from 1 to 14"),
        (_mutate_threshold_bool, "threshold must be an integer from 1 to 14"),
        (_mutate_threshold_missing, "threshold must be an integer"),
        (_mutate_unknown_issuer, r"BUSINESS_LICENCE: unknown issuing department\(s\) \['POLICE'\]"),
        (_mutate_no_governor, "governor role"),
        (_mutate_no_departments, "at least one department"),
        (_mutate_missing_name_en, "FINANCE.*name_en"),
        (_mutate_duplicate_member, "duplicate member name"),
        (_mutate_bad_member_name, "Chief Accountant"),
        (_mutate_bad_licence_code, "business licence.*code must be"),
        (_mutate_department_not_table, "department"),
        (_mutate_member_not_table, "member"),
        (_mutate_licence_type_not_table, "BUSINESS_LICENCE"),
    ],
    ids=lambda v: v.__name__.removeprefix("_mutate_") if callable(v) else "",
)
def test_alliance_validation_errors(mutate, message: str) -> None:
    data = copy.deepcopy(default_data())
    parse_alliance(copy.deepcopy(data))  # the unmodified default is valid
    mutate(data)
    with pytest.raises(AllianceConfigError, match=message):
        parse_alliance(data, source="alliance.toml")


def test_alliance_error_names_the_file(tmp_path: Path) -> None:
    data_text = DEFAULT_ALLIANCE_FILE.read_text(encoding="utf-8").replace("threshold = 10", "threshold = 0", 1)
    path = tmp_path / "alliance.toml"
    path.write_text(data_text, encoding="utf-8")
    with pytest.raises(AllianceConfigError) as info:
        load_alliance(path)
    assert str(path) in str(info.value)


def test_roles_are_case_insensitive_and_normalised() -> None:
    data = default_data()
    d = _dept(data, "MARKET")
    d["roles"] = [r.upper() for r in d["roles"]]
    d["members"][0]["roles"] = ["Governor", "ISSUER"]
    spec = parse_alliance(data)
    market = spec.department("MARKET")
    assert "governor" in market.roles
    assert market.members[0].roles == ("governor", "issuer")


def test_calendar_section_round_trips_arrays(tmp_path: Path) -> None:
    from chain.config import CalendarSettings

    settings = replace(Settings(data_dir=tmp_path), calendar=CalendarSettings(holidays=("2027-01-01",),
                                                                              workdays=("2027-02-06",)))
    write_config(tmp_path, render_config(settings))
    loaded = load_settings(tmp_path)
    assert loaded.calendar.holidays == ("2027-01-01",)
    assert loaded.calendar.workdays == ("2027-02-06",)


def test_calendar_holidays_must_be_strings(tmp_path: Path) -> None:
    write_config(tmp_path, "[calendar]\nholidays = [20270101]\n")
    with pytest.raises(ConfigError, match=r"\[calendar\]\.holidays must be an array of strings"):
        load_settings(tmp_path)
