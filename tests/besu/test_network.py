"""chain.besu: the QBFT network for Hyperledger Besu, one validator per department.

Generated once per module for the default 14-department alliance (cheap scrypt cost), then read
back file by file: genesis and its extraData, node keys (encrypted), Besu config files, the
permissions allowlists and the manifest. Bad inputs must fail before anything is written.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from eth_account import Account
from eth_keys import keys as eth_keys

from chain.alliance import DEFAULT_ALLIANCE_FILE, AllianceSpec, load_alliance
from chain.artifacts import EVM_VERSION
from chain.besu import (
    BFT_MIX_HASH,
    BesuNetworkError,
    decode_extra_data,
    encode_extra_data,
    fault_tolerance,
    generate_network,
    load_network,
    milestones,
    parse_enode,
    quorum,
    vote_majority,
)
from chain.keystore import DEPLOYER_ALIAS, create_keystore

PASSPHRASE = "besu-node-passphrase"
FAST_N = 2**10
CHAIN_ID = 20240
_HEX64 = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])")


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def spec() -> AllianceSpec:
    return load_alliance(DEFAULT_ALLIANCE_FILE)


@pytest.fixture(scope="module")
def members(spec: AllianceSpec) -> dict[str, str]:
    aliases = [DEPLOYER_ALIAS] + [m.alias for m in spec.members]
    return {alias: Account.create().address for alias in aliases}


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory, spec: AllianceSpec, members: dict[str, str]):
    out = tmp_path_factory.mktemp("besu") / "network"
    manifest = generate_network(spec, out, chain_id=CHAIN_ID, passphrase=PASSPHRASE, member_accounts=members,
                                scrypt_n=FAST_N)
    return out, manifest


@pytest.fixture(scope="module")
def node_keys(network, spec: AllianceSpec) -> dict[str, bytes]:
    """department code -> decrypted node private key (only the test ever holds these)."""
    out, _ = network
    return {d.code: bytes(Account.decrypt(json.loads((out / "nodes" / d.code / "key.json").read_text()), PASSPHRASE))
            for d in spec.departments}


def _kwargs(members: dict[str, str], **over):
    base = dict(chain_id=CHAIN_ID, passphrase=PASSPHRASE, member_accounts=members, scrypt_n=4)
    base.update(over)
    return base


# --------------------------------------------------------------------------- genesis and extraData

def test_extra_data_lists_the_node_keys_in_department_order(network, spec, node_keys) -> None:
    out, manifest = network
    genesis = json.loads((out / "genesis.json").read_text())
    vanity, validators, vote, round_, seals = decode_extra_data(genesis["extraData"])
    expected = [Account.from_key(node_keys[d.code]).address for d in spec.departments]
    assert len(spec.departments) == 14
    assert list(validators) == expected
    assert len(set(validators)) == 14
    assert vanity == bytes(32)
    assert vote is None
    assert round_ == 0
    assert seals == ()
    assert manifest.extra_data == genesis["extraData"]
    assert [v.address for v in manifest.validators] == expected
    assert [v.department for v in manifest.validators] == [d.code for d in spec.departments]
    # Besu's QBFT encoding of "no vote, round 0, no seals" ends in c0 80 c0
    assert genesis["extraData"].endswith("c080c0")


def test_extra_data_matches_besu_documentation_vectors() -> None:
    # The QBFT genesis examples in Besu's documentation (configure/consensus/qbft.md).
    documented = ("0xf87aa00000000000000000000000000000000000000000000000000000000000000000f854944592c8e45706cc08b8"
                  "f44b11e43cba0cfc5892cb9406e23768a0f59cf365e18c2e0c89e151bcdedc7094c5327f96ee02d7bcbc1bf1236b8c"
                  "15148971e1de94ab5e7f4061c605820d3744227eed91ff8e2c8908c080c0")
    validators = ["0x4592c8e45706cc08b8f44b11e43cba0cfc5892cb", "0x06e23768a0f59cf365e18c2e0c89e151bcdedc70",
                  "0xc5327f96ee02d7bcbc1bf1236b8c15148971e1de", "0xab5e7f4061c605820d3744227eed91ff8e2c8908"]
    assert encode_extra_data(validators) == documented
    decoded = decode_extra_data(documented)
    assert [v.lower() for v in decoded.validators] == validators
    assert (decoded.vote, decoded.round, decoded.seals) == (None, 0, ())
    # contract validator selection: no validators in the header
    empty = "0xe5a00000000000000000000000000000000000000000000000000000000000000000c0c080c0"
    assert encode_extra_data([]) == empty
    assert decode_extra_data(empty).validators == ()


def test_extra_data_round_trips_votes_rounds_and_seals() -> None:
    a, b = Account.create().address, Account.create().address
    seal = bytes(range(65))
    for vote in ((b, True), (b, False)):
        raw = encode_extra_data([a], vote=vote, round=7, seals=[seal, seal])
        assert tuple(decode_extra_data(raw)) == (bytes(32), (a,), vote, 7, (seal, seal))
    # Besu writes a drop vote as an empty string and an add vote as 0xFF
    assert encode_extra_data([a], vote=(b, False)).endswith(b[2:].lower() + "8080c0")
    assert encode_extra_data([a], vote=(b, True)).endswith(b[2:].lower() + "81ff80c0")


@pytest.mark.parametrize("bad", ["", "0x", "0xzz", "0xc0", "0xc3808080",
                                 "0xe4a00000000000000000000000000000000000000000000000000000000000000000c0c0c0",
                                 "0xe69f000000000000000000000000000000000000000000000000000000000000c2c100c080c0"])
def test_decode_extra_data_rejects_what_is_not_qbft(bad: str) -> None:
    with pytest.raises(BesuNetworkError):
        decode_extra_data(bad)


def test_genesis_is_qbft_zero_fee_and_stops_at_cancun(network) -> None:
    out, _ = network
    genesis = json.loads((out / "genesis.json").read_text())
    config = genesis["config"]
    assert config["chainId"] == CHAIN_ID
    assert config["qbft"] == {"blockperiodseconds": 2, "epochlength": 30000, "requesttimeoutseconds": 4}
    assert config["zeroBaseFee"] is True
    assert genesis["baseFeePerGas"] == "0x0"
    assert genesis["difficulty"] == "0x1"
    assert genesis["mixHash"] == BFT_MIX_HASH
    assert int(genesis["gasLimit"], 16) > 10_000_000
    assert genesis["alloc"] == {}  # gas is free: nobody needs a balance unless asked for
    assert EVM_VERSION == "cancun"
    assert config["cancunTime"] == 0 and config["shanghaiTime"] == 0
    assert config["londonBlock"] == 0 and config["berlinBlock"] == 0
    fork_keys = [k for k in config if k.endswith(("Block", "Time"))]
    assert all(config[k] == 0 for k in fork_keys)
    later = {"pragueTime", "osakaTime", "futureEipsTime", "experimentalEipsTime"}
    assert not later & set(config), "nothing after the pinned cancun"
    # every node ships the identical genesis
    for node_genesis in (out / "nodes").glob("*/genesis.json"):
        assert node_genesis.read_bytes() == (out / "genesis.json").read_bytes()


def test_milestones_follow_the_pinned_evm_version() -> None:
    assert list(milestones("cancun"))[-2:] == ["shanghaiTime", "cancunTime"]
    assert "cancunTime" not in milestones("shanghai")
    assert list(milestones("london"))[-1] == "londonBlock"
    assert "pragueTime" in milestones("prague")
    with pytest.raises(BesuNetworkError, match="evmVersion"):
        milestones("frontier-2")


def test_funded_accounts_go_into_alloc(tmp_path: Path, spec, members) -> None:
    rich = Account.create().address
    generate_network(spec, tmp_path / "net", **_kwargs(members, funded_accounts=[rich]))
    alloc = json.loads((tmp_path / "net" / "genesis.json").read_text())["alloc"]
    assert list(alloc) == [rich.lower()[2:]]
    assert int(alloc[rich.lower()[2:]]["balance"], 16) > 0


# --------------------------------------------------------------------------- node keys

def test_node_keys_are_encrypted_and_never_in_clear(network, node_keys, spec) -> None:
    out, manifest = network
    secrets = {k.hex() for k in node_keys.values()}
    addresses = {v.address for v in manifest.validators}
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) >= 1 + 1 + 14 * 6
    assert not [p for p in files if p.name == "key"], "Besu's plain key file must never be written"
    for path in files:
        raw = path.read_bytes()
        text = raw.decode("utf-8", errors="replace").lower()
        for key in node_keys.values():
            assert key not in raw, f"raw node key bytes in {path}"
        assert not secrets & {t.lower() for t in _HEX64.findall(text)}, f"node key in clear in {path}"
        if path.name != "key.json":  # any 64-hex token elsewhere must not be a validator's key
            for token in _HEX64.findall(text):
                try:
                    derived = Account.from_key(bytes.fromhex(token)).address
                except Exception:  # noqa: BLE001 - not a valid secp256k1 scalar
                    continue
                assert derived not in addresses, f"validator key in clear in {path}"
    for d in spec.departments:
        key_json = out / "nodes" / d.code / "key.json"
        assert stat.S_IMODE(key_json.stat().st_mode) == 0o600
        doc = json.loads(key_json.read_text())
        assert doc["crypto"]["kdf"] == "scrypt"
        assert doc["crypto"]["kdfparams"]["n"] == FAST_N


def test_node_keys_decrypt_with_the_passphrase_only(network, node_keys, spec) -> None:
    out, manifest = network
    for d in spec.departments:
        node = json.loads((out / "nodes" / d.code / "node.json").read_text())
        key = node_keys[d.code]
        public = eth_keys.PrivateKey(key).public_key
        assert node["address"] == public.to_checksum_address() == manifest.validator(d.code).address
        assert node["public_key"] == public.to_bytes().hex()
        node_id, host, port = parse_enode(node["enode"])
        assert node_id == node["public_key"] and len(node_id) == 128
        assert (host, port) == (node["host"], node["p2p_port"])
    doc = json.loads((out / "nodes" / spec.departments[0].code / "key.json").read_text())
    with pytest.raises(ValueError):
        Account.decrypt(doc, "wrong-passphrase")


# --------------------------------------------------------------------------- Besu config files

def test_config_files_parse_as_toml_with_the_right_settings(network, spec) -> None:
    out, manifest = network
    bootnodes = list(manifest.enodes[:4])
    seen_ports = set()
    for i, d in enumerate(spec.departments):
        config = tomllib.loads((out / "nodes" / d.code / "config.toml").read_text(encoding="utf-8"))
        node = manifest.validator(d.code)
        # all on 127.0.0.1 without host_of: consecutive ports
        assert config["p2p-port"] == 30303 + i == node.p2p_port
        assert config["rpc-http-port"] == 8545 + i == node.rpc_port
        assert config["p2p-host"] == "127.0.0.1"
        assert config["rpc-http-host"] == "127.0.0.1"
        assert node.rpc_url == f"http://127.0.0.1:{8545 + i}"
        seen_ports |= {config["p2p-port"], config["rpc-http-port"]}
        assert config["data-path"] == "data" and config["genesis-file"] == "genesis.json"
        assert config["rpc-http-enabled"] is True
        assert {"ETH", "NET", "WEB3", "QBFT"} <= set(config["rpc-http-api"])
        assert config["bootnodes"] == bootnodes
        assert config["permissions-nodes-config-file-enabled"] is True
        assert config["permissions-accounts-config-file-enabled"] is True
        assert config["permissions-nodes-config-file"] == "permissions_config.toml"
        assert config["permissions-accounts-config-file"] == "permissions_config.toml"
        assert config["min-gas-price"] == 0
        assert "127.0.0.1" in config["host-allowlist"]
        assert config["node-private-key-file"].endswith(f"{d.code}/key")
        assert config["identity"] == d.code
    assert len(seen_ports) == 28


def test_permissions_allowlist_every_enode_and_member_account(network, spec, members) -> None:
    out, manifest = network
    enodes = set(manifest.enodes)
    accounts = {a.lower() for a in members.values()}
    assert len(enodes) == 14
    for d in spec.departments:
        perms = tomllib.loads((out / "nodes" / d.code / "permissions_config.toml").read_text(encoding="utf-8"))
        assert set(perms["nodes-allowlist"]) == enodes and len(perms["nodes-allowlist"]) == 14
        assert set(manifest.bootnodes) <= set(perms["nodes-allowlist"])  # Besu refuses to start otherwise
        assert set(perms["accounts-allowlist"]) == accounts
        assert members[DEPLOYER_ALIAS].lower() in perms["accounts-allowlist"]
        assert all(re.fullmatch(r"0x[0-9a-f]{40}", a) for a in perms["accounts-allowlist"])


def test_host_of_places_nodes_on_their_hosts(tmp_path: Path, spec, members) -> None:
    codes = [d.code for d in spec.departments]
    hosts = {code: f"10.20.0.{i + 1}" for i, code in enumerate(codes)}
    hosts[codes[1]] = hosts[codes[0]]  # two departments share a machine
    hosts[codes[2]] = "besu.finance.example.gov.cn"  # a DNS name
    m = generate_network(spec, tmp_path / "net", **_kwargs(members, host_of=hosts.__getitem__, p2p_port=40404,
                                                            rpc_port=9545))
    first, second, third = m.validators[:3]
    assert (first.host, first.p2p_port, first.rpc_port) == ("10.20.0.1", 40404, 9545)
    assert (second.host, second.p2p_port, second.rpc_port) == ("10.20.0.1", 40405, 9546)
    assert all((v.p2p_port, v.rpc_port) == (40404, 9545) for v in m.validators[2:])
    assert parse_enode(third.enode)[1:] == ("besu.finance.example.gov.cn", 40404)
    cfg = tomllib.loads((tmp_path / "net" / "nodes" / codes[2] / "config.toml").read_text())
    assert cfg["Xdns-enabled"] is True and "p2p-host" not in cfg
    cfg0 = tomllib.loads((tmp_path / "net" / "nodes" / codes[0] / "config.toml").read_text())
    assert cfg0["p2p-host"] == "10.20.0.1" and cfg0["rpc-http-host"] == "127.0.0.1"


# --------------------------------------------------------------------------- manifest

def test_manifest_fault_tolerance_and_read_back(network) -> None:
    out, manifest = network
    assert (manifest.n, manifest.fault_tolerance, manifest.quorum, manifest.vote_majority) == (14, 4, 10, 8)
    data = json.loads((out / "network.json").read_text())
    assert data["chain_id"] == CHAIN_ID
    assert data["fault_tolerance"] == 4 and data["quorum"] == 10 and data["validator_count"] == 14
    assert data["bootnodes"] == list(manifest.enodes[:4])
    assert [v["enode"] for v in data["validators"]] == list(manifest.enodes)
    loaded = load_network(out)
    assert loaded == manifest
    assert loaded.fault_tolerance == 4


@pytest.mark.parametrize(("n", "f", "q", "votes"), [(1, 0, 1, 1), (3, 0, 2, 2), (4, 1, 3, 3), (7, 2, 5, 4),
                                                    (10, 3, 7, 6), (13, 4, 9, 7), (14, 4, 10, 8), (16, 5, 11, 9)])
def test_bft_arithmetic(n: int, f: int, q: int, votes: int) -> None:
    assert (fault_tolerance(n), quorum(n), vote_majority(n)) == (f, q, votes)
    assert n - f >= q  # the honest validators alone can always seal a block


def test_load_network_detects_tampering(tmp_path: Path, spec, members) -> None:
    out = tmp_path / "net"
    generate_network(spec, out, **_kwargs(members))
    genesis = json.loads((out / "genesis.json").read_text())
    genesis["config"]["zeroBaseFee"] = False
    (out / "genesis.json").write_text(json.dumps(genesis, indent=2) + "\n")
    with pytest.raises(BesuNetworkError, match="changed after generation"):
        load_network(out)
    with pytest.raises(BesuNetworkError, match="no network.json"):
        load_network(tmp_path / "elsewhere")


# --------------------------------------------------------------------------- inputs

def test_member_accounts_from_keystore_dir(tmp_path: Path, spec) -> None:
    ks = tmp_path / "keystore"
    expected = {alias: create_keystore(ks, alias, "keystore-pass", 2)
                for alias in [DEPLOYER_ALIAS] + [m.alias for m in spec.members]}
    m = generate_network(spec, tmp_path / "net", chain_id=CHAIN_ID, passphrase=PASSPHRASE, keystore_dir=ks,
                         scrypt_n=4)
    assert dict(m.member_accounts) == expected
    assert set(m.accounts_allowlist) == {a.lower() for a in expected.values()}


@pytest.mark.parametrize(("chain_id", "message"), [(0, "positive"), (-5, "positive"), (True, "positive"),
                                                   ("7", "positive"), (1, "Ethereum mainnet"),
                                                   (11155111, "Sepolia"), (2**64, "too large")])
def test_bad_chain_id(tmp_path: Path, spec, members, chain_id, message) -> None:
    out = tmp_path / "net"
    with pytest.raises(ValueError, match=message):
        generate_network(spec, out, **_kwargs(members, chain_id=chain_id))
    assert not out.exists()


def test_empty_alliance(tmp_path: Path, spec, members) -> None:
    empty = replace(spec, departments=())
    with pytest.raises(ValueError, match="no departments"):
        generate_network(empty, tmp_path / "net", **_kwargs(members))
    assert not (tmp_path / "net").exists()


def test_existing_non_empty_out_dir(tmp_path: Path, spec, members) -> None:
    out = tmp_path / "net"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not empty"):
        generate_network(spec, out, **_kwargs(members))
    with pytest.raises(ValueError, match="no network.json"):  # overwrite only replaces an earlier network
        generate_network(spec, out, **_kwargs(members, overwrite=True))
    assert (out / "notes.txt").read_text() == "keep me"

    (out / "notes.txt").unlink()
    first = generate_network(spec, out, **_kwargs(members))  # an empty directory is fine
    with pytest.raises(ValueError, match="not empty"):
        generate_network(spec, out, **_kwargs(members))
    second = generate_network(spec, out, **_kwargs(members, overwrite=True))
    assert first.validators[0].address != second.validators[0].address
    assert load_network(out) == second
    assert [p.name for p in tmp_path.iterdir()] == ["net"], "no staging directories left behind"


def test_unwritable_out_dir(tmp_path: Path, spec, members) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ValueError, match="cannot create|not a directory|not writable"):
        generate_network(spec, blocker / "net", **_kwargs(members))
    with pytest.raises(ValueError, match="not a directory"):
        generate_network(spec, blocker, **_kwargs(members))
    if os.geteuid() != 0:  # root writes anywhere; the probe covers read-only mounts
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        try:
            with pytest.raises(ValueError, match="not writable"):
                generate_network(spec, ro / "net", **_kwargs(members))
        finally:
            ro.chmod(0o700)


@pytest.mark.parametrize(("change", "message"), [
    ({"passphrase": "short"}, "at least 8"),
    ({"member_accounts": None}, "member accounts"),
    ({"member_accounts": {DEPLOYER_ALIAS: "0x" + "11" * 20}}, "every alliance member"),
    ({"host_of": lambda code: "::1"}, "IPv6"),
    ({"host_of": lambda code: "bad host!"}, "not an IPv4 address or DNS name"),
    ({"host_of": lambda code: "0.0.0.0"}, "routable"),
    ({"p2p_port": 0}, "TCP port"),
    ({"p2p_port": 8545, "rpc_port": 8550}, "overlap"),
    ({"block_period_seconds": 0}, "block_period_seconds"),
    ({"scrypt_n": 1000}, "power of two"),
    ({"funded_accounts": ["0x1234"]}, "not a 20-byte hex address"),
    ({"rpc_api": ["NET"]}, "ETH"),
])
def test_bad_inputs_fail_before_writing(tmp_path: Path, spec, members, change, message) -> None:
    out = tmp_path / "net"
    with pytest.raises(ValueError, match=message):
        generate_network(spec, out, **_kwargs(members, **change))
    assert not out.exists()


def test_member_account_errors(tmp_path: Path, spec, members) -> None:
    dup = dict(members)
    dup[DEPLOYER_ALIAS] = members[spec.members[0].alias]
    with pytest.raises(ValueError, match="share address"):
        generate_network(spec, tmp_path / "a", **_kwargs(members=None, member_accounts=dup))
    bad = dict(members)
    good = members[DEPLOYER_ALIAS]
    bad[DEPLOYER_ALIAS] = good[:2] + "".join(c.swapcase() if c.isalpha() else c for c in good[2:])
    if bad[DEPLOYER_ALIAS] != good and any(c.isalpha() for c in good[2:]):
        with pytest.raises(ValueError, match="checksum"):
            generate_network(spec, tmp_path / "b", **_kwargs(members=None, member_accounts=bad))
    with pytest.raises(ValueError, match="not both"):
        generate_network(spec, tmp_path / "c", **_kwargs(members, keystore_dir=tmp_path))
    with pytest.raises(ValueError, match="no keystore directory"):
        generate_network(spec, tmp_path / "d", **_kwargs(members=None, member_accounts=None,
                                                         keystore_dir=tmp_path / "missing"))


# --------------------------------------------------------------------------- start.sh

_FAKE_BESU = """#!/usr/bin/env bash
# stands in for besu: records its arguments and the key file it was given, then exits
key=""
for arg in "$@"; do
  case "$arg" in --node-private-key-file=*) key="${arg#*=}";; esac
done
{
  echo "args=$*"
  echo "mode=$(stat -c %a "$key")"
  echo "key=$(cat "$key")"
  echo "passphrase_env=${BESU_NODE_PASSPHRASE:-unset}"
} > "$REPORT"
"""


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_start_script_decrypts_key_to_private_tmp_file_and_removes_it(tmp_path: Path, network, node_keys) -> None:
    out, manifest = network
    code = manifest.validators[0].department
    node_dir = tmp_path / code
    shutil.copytree(out / "nodes" / code, node_dir)
    fake = tmp_path / "fake-besu"
    fake.write_text(_FAKE_BESU)
    fake.chmod(0o755)
    key_dir, report = tmp_path / "keys", tmp_path / "report.txt"
    env = {"PATH": os.environ["PATH"], "BESU_BIN": str(fake), "BESU_PYTHON": sys.executable,
           "BESU_KEY_DIR": str(key_dir), "REPORT": str(report), "BESU_NODE_PASSPHRASE": PASSPHRASE}

    done = subprocess.run(["bash", str(node_dir / "start.sh")], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = dict(line.split("=", 1) for line in report.read_text().splitlines())
    assert "--config-file=config.toml" in lines["args"]
    assert f"--node-private-key-file={key_dir}/key" in lines["args"]
    assert lines["mode"] == "600"
    assert lines["key"] == "0x" + node_keys[code].hex()  # Besu's key file format: one line of 0x-hex
    assert lines["passphrase_env"] == "unset"  # besu never sees the passphrase
    assert not (key_dir / "key").exists(), "the plain key is removed when besu exits"
    assert stat.S_IMODE(key_dir.stat().st_mode) == 0o700

    report.unlink()
    wrong = dict(env, BESU_NODE_PASSPHRASE="not-the-passphrase")
    failed = subprocess.run(["bash", str(node_dir / "start.sh")], env=wrong, capture_output=True, text=True,
                            timeout=60)
    assert failed.returncode != 0 and "wrong passphrase" in failed.stderr
    assert not report.exists(), "besu must not start without its key"
    assert not (key_dir / "key").exists()

    missing = {k: v for k, v in env.items() if k != "BESU_NODE_PASSPHRASE"}
    refused = subprocess.run(["bash", str(node_dir / "start.sh")], env=missing, capture_output=True, text=True,
                             timeout=60)
    assert refused.returncode == 2 and "BESU_NODE_PASSPHRASE" in refused.stderr
