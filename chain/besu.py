"""Generate the production network: Hyperledger Besu, QBFT, one validator per department.

``generate_network`` writes, for every department of the alliance spec, a self-contained node
directory (``nodes/<CODE>/``) plus the shared ``genesis.json`` and a ``network.json`` manifest::

    <out>/genesis.json                 QBFT genesis; extraData lists the N validators in department order
    <out>/network.json                 chain id, validators (department, address, enode), bootnodes, f, quorum
    <out>/nodes/<CODE>/key.json        the node key, ENCRYPTED (Web3 Secret Storage v3, scrypt)
    <out>/nodes/<CODE>/node.json       public facts: address (= validator address), public key, enode
    <out>/nodes/<CODE>/config.toml     Besu ``--config-file``
    <out>/nodes/<CODE>/permissions_config.toml   nodes-allowlist (all enodes), accounts-allowlist (members)
    <out>/nodes/<CODE>/genesis.json    copy of the genesis, so the directory can be shipped alone
    <out>/nodes/<CODE>/start.sh        decrypts the key into a 0600 file on tmpfs, then runs besu

Besu itself reads its node key from a plain hex file (``key``: one line, ``0x`` + 64 hex digits)
and generates a fresh key if the file is missing. That file is never written here: ``start.sh``
decrypts ``key.json`` with ``$BESU_NODE_PASSPHRASE`` at start, into a tmpfs directory
(``/dev/shm`` unless ``$BESU_KEY_DIR``), checks the address against ``node.json`` and removes
the plain file when besu exits.

Formats follow Besu's own code and documentation:

- extraData is ``RLP([vanity(32 bytes), [validator addresses], vote, round, [seals]])`` with, in
  the genesis, no vote (an empty list), round 0 (the RLP integer 0, i.e. an empty string) and no
  seals (``QbftExtraDataCodec.encodeFromAddresses``); a vote is ``[address, 0xFF]`` to add and
  ``[address, ""]`` to drop.
- enode URL: ``enode://<128 hex digits of the uncompressed public key>@<host>:<port>``; the
  discovery port equals the listening port so no ``?discport``.
- the validator address is the last 20 bytes of keccak256 of the public key (the node address).
- milestones: block numbers up to London, timestamps from Shanghai (``shanghaiTime``,
  ``cancunTime``), all at 0, stopping at the pinned ``EVM_VERSION``.
- quorum of a BFT round is ceil(2N/3) (``BftHelpers.calculateRequiredValidatorQuorum``); the
  network tolerates f = floor((N-1)/3) faulty validators; adding or removing a validator needs
  votes from more than half of the validators (``qbft_proposeValidatorVote``).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rlp
from eth_account import Account
from eth_keys import keys as eth_keys
from eth_utils import is_hex_address, keccak, to_checksum_address

from chain.alliance import AllianceSpec
from chain.artifacts import EVM_VERSION
from chain.keystore import DEPLOYER_ALIAS, keystore_address, write_private_file

# --------------------------------------------------------------------------- constants

VANITY_LENGTH = 32
#: "ctical byzantine fault tolerance": the mixHash Besu expects of every BFT block (BftHelpers).
BFT_MIX_HASH = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"
DEFAULT_EPOCH_LENGTH = 30_000
DEFAULT_GAS_LIMIT = 100_000_000
DEFAULT_FUNDING_WEI = 10**24  # 1,000,000 ether; only for explicitly funded accounts (gas is free)
DEFAULT_RPC_API = ("ETH", "NET", "WEB3", "QBFT", "DEBUG", "PERM")
DEFAULT_KEY_DIR = "/dev/shm/alliance-besu-{code}"  # tmpfs on Linux; start.sh honours $BESU_KEY_DIR
MIN_PASSPHRASE = 8
VOTE_ADD = b"\xff"  # Vote.ADD_BYTE_VALUE
VOTE_DROP = b"\x00"  # Vote.DROP_BYTE_VALUE; Besu writes a drop vote as an empty string

# Public chains whose ids must not be reused: a transaction signed for the alliance would be
# valid there too (EIP-155 replay protection is per chain id).
PUBLIC_CHAIN_IDS = {1: "Ethereum mainnet", 3: "Ropsten", 4: "Rinkeby", 5: "Goerli", 17000: "Holesky",
                    560048: "Hoodi", 11155111: "Sepolia"}

# Besu genesis milestone keys in protocol order, each with the solc evmVersion that needs it.
# Block-numbered forks up to London, timestamp forks from Shanghai (Besu's JsonGenesisConfigOptions).
MILESTONES: tuple[tuple[str, str], ...] = (
    ("homestead", "homesteadBlock"),
    ("tangerineWhistle", "eip150Block"),
    ("spuriousDragon", "eip158Block"),
    ("byzantium", "byzantiumBlock"),
    ("constantinople", "constantinopleBlock"),
    ("petersburg", "petersburgBlock"),
    ("istanbul", "istanbulBlock"),
    ("istanbul", "muirGlacierBlock"),
    ("berlin", "berlinBlock"),
    ("london", "londonBlock"),
    ("paris", ""),  # the merge has no QBFT milestone; PREVRANDAO reads mixHash
    ("shanghai", "shanghaiTime"),
    ("cancun", "cancunTime"),
    ("prague", "pragueTime"),
    ("osaka", "osakaTime"),
)

_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
_ENODE = re.compile(r"^enode://([0-9a-f]{128})@([^:@/\s]+):(\d{1,5})$")
_RPC_API = re.compile(r"^[A-Z][A-Z0-9_]*$")


class BesuNetworkError(ValueError):
    """The network cannot be generated or read back; the message names the problem."""


# --------------------------------------------------------------------------- BFT arithmetic

def fault_tolerance(n: int) -> int:
    """Faulty validators a QBFT network of ``n`` survives: f = floor((n - 1) / 3)."""
    return max(n - 1, 0) // 3


def quorum(n: int) -> int:
    """Commit seals a block needs: ceil(2n / 3) (Besu ``BftHelpers.calculateRequiredValidatorQuorum``)."""
    return -(-2 * n // 3)


def vote_majority(n: int) -> int:
    """Validators that must vote to add or remove a validator: more than half, floor(n / 2) + 1."""
    return n // 2 + 1


# --------------------------------------------------------------------------- extraData

@dataclass(frozen=True)
class ExtraData:
    """A decoded QBFT ``extraData``; it unpacks as ``(vanity, validators, vote, round, seals)``."""

    vanity: bytes
    validators: tuple[str, ...]
    vote: tuple[str, bool] | None  # (address, True to add / False to drop)
    round: int
    seals: tuple[bytes, ...]

    def __iter__(self):
        return iter((self.vanity, self.validators, self.vote, self.round, self.seals))


def encode_extra_data(validators: Iterable[str], *, vanity: bytes = bytes(VANITY_LENGTH),
                      vote: tuple[str, bool] | None = None, round: int = 0,  # noqa: A002 - QBFT's name
                      seals: Iterable[bytes] = ()) -> str:
    """QBFT extraData as Besu encodes it: ``RLP([vanity, [validators], vote | [], round, [seals]])``."""
    if len(vanity) != VANITY_LENGTH:
        raise BesuNetworkError(f"extraData vanity must be {VANITY_LENGTH} bytes, got {len(vanity)}")
    if isinstance(round, bool) or not isinstance(round, int) or round < 0 or round >= 2**31:
        raise BesuNetworkError(f"extraData round must be a non-negative 32-bit integer, got {round!r}")
    addresses = [_address_bytes(a, "validator") for a in validators]
    vote_item: list = []
    if vote is not None:
        address, add = vote
        vote_item = [_address_bytes(address, "vote recipient"), VOTE_ADD if add else b""]
    seal_items = [bytes(s) for s in seals]
    if any(len(s) != 65 for s in seal_items):
        raise BesuNetworkError("every commit seal must be a 65-byte signature")
    return "0x" + rlp.encode([bytes(vanity), addresses, vote_item, round, seal_items]).hex()


def decode_extra_data(extra_data: str | bytes) -> ExtraData:
    """Decode QBFT extraData (hex string or bytes) into ``(vanity, validators, vote, round, seals)``.

    Validators and the vote recipient come back as checksum addresses; the vote is ``None`` when
    the block carries none. Anything that is not a QBFT extraData raises BesuNetworkError.
    """
    if isinstance(extra_data, str):
        text = extra_data.strip()
        body = text[2:] if text[:2].lower() == "0x" else text
        try:
            raw = bytes.fromhex(body)
        except ValueError:
            raise BesuNetworkError("extraData is not a hex string") from None
    else:
        raw = bytes(extra_data)
    if not raw:
        raise BesuNetworkError("extraData is empty: a QBFT block needs the BFT extra data")
    try:
        items = rlp.decode(raw)
    except rlp.exceptions.DecodingError as exc:
        raise BesuNetworkError(f"extraData is not valid RLP: {exc}") from None
    if not isinstance(items, list) or len(items) != 5:
        raise BesuNetworkError("extraData must be an RLP list of 5 items: vanity, validators, vote, round, seals")
    vanity, validators, vote, round_, seals = items
    if not isinstance(vanity, bytes) or len(vanity) != VANITY_LENGTH:
        raise BesuNetworkError(f"extraData vanity must be {VANITY_LENGTH} bytes")
    if not isinstance(validators, list) or not all(isinstance(v, bytes) and len(v) == 20 for v in validators):
        raise BesuNetworkError("extraData validators must be a list of 20-byte addresses")
    decoded_vote: tuple[str, bool] | None
    if vote == []:
        decoded_vote = None
    elif (isinstance(vote, list) and len(vote) == 2 and isinstance(vote[0], bytes) and len(vote[0]) == 20
          and vote[1] in (VOTE_ADD, VOTE_DROP, b"")):
        decoded_vote = (to_checksum_address(vote[0]), vote[1] == VOTE_ADD)
    else:
        raise BesuNetworkError("extraData vote must be an empty list or [address, 0xFF | empty]")
    if not isinstance(round_, bytes) or len(round_) > 4 or round_[:1] == b"\x00":
        raise BesuNetworkError("extraData round must be a canonical RLP integer of at most 4 bytes")
    if not isinstance(seals, list) or not all(isinstance(s, bytes) and len(s) == 65 for s in seals):
        raise BesuNetworkError("extraData seals must be a list of 65-byte signatures")
    return ExtraData(vanity=vanity, validators=tuple(to_checksum_address(v) for v in validators),
                     vote=decoded_vote, round=int.from_bytes(round_, "big"), seals=tuple(seals))


# --------------------------------------------------------------------------- node identity

def enode_url(public_key_hex: str, host: str, port: int) -> str:
    """``enode://<node id>@<host>:<port>`` (the node id is the 64-byte public key in hex)."""
    return f"enode://{public_key_hex.removeprefix('0x').lower()}@{host}:{port}"


def parse_enode(url: str) -> tuple[str, str, int]:
    """(node id, host, port) of an enode URL as written here; raises BesuNetworkError otherwise."""
    m = _ENODE.match(url)
    if not m or not 1 <= int(m.group(3)) <= 65535:
        raise BesuNetworkError(f"not an enode URL enode://<128 hex>@host:port: {url!r}")
    return m.group(1), m.group(2), int(m.group(3))


def node_address(public_key_hex: str) -> str:
    """The node (= validator) address: the last 20 bytes of keccak256(public key)."""
    return to_checksum_address(keccak(bytes.fromhex(public_key_hex.removeprefix("0x")))[12:])


@dataclass(frozen=True)
class ValidatorNode:
    department: str
    name: str
    name_en: str
    address: str  # checksum; the validator address in extraData
    public_key: str  # 128 hex digits, no 0x: the enode id
    host: str
    p2p_port: int
    rpc_port: int
    rpc_url: str  # where the department's gateway reaches this node (loopback by default)

    @property
    def enode(self) -> str:
        return enode_url(self.public_key, self.host, self.p2p_port)

    def as_dict(self) -> dict[str, Any]:
        return {"department": self.department, "name": self.name, "name_en": self.name_en,
                "address": self.address, "public_key": self.public_key, "enode": self.enode,
                "host": self.host, "p2p_port": self.p2p_port, "rpc_port": self.rpc_port, "rpc_url": self.rpc_url}


@dataclass(frozen=True)
class NetworkManifest:
    """What ``network.json`` records; ``fault_tolerance``, ``quorum`` and ``vote_majority`` follow from N."""

    chain_id: int
    evm_version: str
    block_period_seconds: int
    request_timeout_seconds: int
    epoch_length: int
    validators: tuple[ValidatorNode, ...]
    bootnodes: tuple[str, ...]
    accounts_allowlist: tuple[str, ...]  # lower-case 0x addresses, as in permissions_config.toml
    member_accounts: Mapping[str, str]  # alias -> checksum address
    extra_data: str
    genesis_sha256: str
    directory: Path | None = field(default=None, compare=False)

    @property
    def n(self) -> int:
        return len(self.validators)

    @property
    def fault_tolerance(self) -> int:
        return fault_tolerance(self.n)

    @property
    def quorum(self) -> int:
        return quorum(self.n)

    @property
    def vote_majority(self) -> int:
        return vote_majority(self.n)

    @property
    def enodes(self) -> tuple[str, ...]:
        return tuple(v.enode for v in self.validators)

    def validator(self, department: str) -> ValidatorNode:
        for v in self.validators:
            if v.department == department:
                return v
        raise KeyError(department)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": "alliance-besu-network/1",
            "consensus": "qbft",
            "chain_id": self.chain_id,
            "evm_version": self.evm_version,
            "block_period_seconds": self.block_period_seconds,
            "request_timeout_seconds": self.request_timeout_seconds,
            "epoch_length": self.epoch_length,
            "validator_count": self.n,
            "fault_tolerance": self.fault_tolerance,
            "quorum": self.quorum,
            "vote_majority": self.vote_majority,
            "validators": [v.as_dict() for v in self.validators],
            "bootnodes": list(self.bootnodes),
            "accounts_allowlist": list(self.accounts_allowlist),
            "member_accounts": dict(self.member_accounts),
            "extra_data": self.extra_data,
            "genesis_sha256": self.genesis_sha256,
        }


# --------------------------------------------------------------------------- inputs

def member_accounts_from_keystores(keystore_dir: Path) -> dict[str, str]:
    """alias -> address of every keystore in ``keystore_dir`` (public addresses only; nothing is unlocked)."""
    directory = Path(keystore_dir)
    if not directory.is_dir():
        raise BesuNetworkError(f"no keystore directory at {directory}: run `alliance init` first")
    accounts: dict[str, str] = {}
    for path in sorted(directory.glob("*.json")):
        try:
            accounts[path.stem] = keystore_address(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BesuNetworkError(f"keystore {path} has no readable address: {exc!r}") from None
    if not accounts:
        raise BesuNetworkError(f"no keystores (*.json) in {directory}: run `alliance init` first")
    return accounts


def _address_bytes(address: str, what: str) -> bytes:
    if not isinstance(address, str) or not is_hex_address(address):
        raise BesuNetworkError(f"{what} {address!r} is not a 20-byte hex address")
    return bytes.fromhex(address.removeprefix("0x").removeprefix("0X"))


def _checksum(address: object, what: str) -> str:
    if not isinstance(address, str) or not is_hex_address(address):
        raise BesuNetworkError(f"{what} {address!r} is not a 20-byte hex address")
    digits = address[2:] if address[:2] in ("0x", "0X") else address
    if digits != digits.lower() and digits != digits.upper() and to_checksum_address(address) != address:
        raise BesuNetworkError(f"{what} {address!r} has a wrong checksum (mixed case that is not EIP-55)")
    return to_checksum_address(address)


def _check_port(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise BesuNetworkError(f"{what} must be a TCP port from 1 to 65535, got {value!r}")
    return value


def _check_host(host: object, department: str) -> tuple[str, bool]:
    """(host, is_ip): an IPv4 address or a DNS name usable in an enode URL."""
    if not isinstance(host, str) or not host:
        raise BesuNetworkError(f"host_of({department!r}) must return a host name or IPv4 address, got {host!r}")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if not _HOSTNAME.match(host) or host.replace(".", "").isdigit():
            raise BesuNetworkError(f"host_of({department!r}) returned {host!r}, not an IPv4 address or DNS name")
        return host, False
    if ip.version != 4:
        raise BesuNetworkError(f"host_of({department!r}) returned IPv6 {host!r}; use an IPv4 address or DNS name")
    if ip.is_unspecified:
        raise BesuNetworkError(f"host_of({department!r}) returned {host!r}: peers need a routable address")
    return str(ip), True


def milestones(evm_version: str = EVM_VERSION) -> dict[str, int]:
    """The genesis milestone keys that bring a Besu chain to ``evm_version`` at genesis, all at 0."""
    names = [name for name, _ in MILESTONES]
    if evm_version not in names:
        raise BesuNetworkError(f"evmVersion {evm_version!r} has no Besu milestone mapping (known: {names})")
    last = max(i for i, (name, _) in enumerate(MILESTONES) if name == evm_version)
    return {key: 0 for _, key in MILESTONES[:last + 1] if key}


# --------------------------------------------------------------------------- file rendering

def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, (list, tuple)):
        if len(value) <= 3:
            return "[" + ", ".join(_toml_value(v) for v in value) + "]"
        return "[\n" + "".join(f"  {_toml_value(v)},\n" for v in value) + "]"
    raise TypeError(f"no TOML rendering for {type(value).__name__}")


def _toml(pairs: Sequence[tuple[str, Any]], header: str) -> str:
    lines = [f"# {line}".rstrip() for line in header.strip().splitlines()]
    lines.append("")
    for key, value in pairs:
        if key.startswith("#"):
            lines.append(key)
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _genesis(*, chain_id: int, extra_data: str, block_period_seconds: int, request_timeout_seconds: int,
             epoch_length: int, gas_limit: int, funded: Sequence[str], evm_version: str) -> dict[str, Any]:
    config: dict[str, Any] = {"chainId": chain_id}
    config.update(milestones(evm_version))
    config["zeroBaseFee"] = True
    config["qbft"] = {
        "blockperiodseconds": block_period_seconds,
        "epochlength": epoch_length,
        "requesttimeoutseconds": request_timeout_seconds,
    }
    return {
        "config": config,
        "nonce": "0x0",
        "timestamp": "0x0",
        "extraData": extra_data,
        "gasLimit": hex(gas_limit),
        "difficulty": "0x1",
        "mixHash": BFT_MIX_HASH,
        "coinbase": "0x0000000000000000000000000000000000000000",
        "baseFeePerGas": "0x0",
        "alloc": {a.lower().removeprefix("0x"): {"balance": hex(DEFAULT_FUNDING_WEI)} for a in funded},
    }


def _config_toml(node: ValidatorNode, *, is_ip: bool, bootnodes: Sequence[str], rpc_http_host: str,
                 rpc_api: Sequence[str], key_file: str) -> str:
    host_allowlist = ["localhost", "127.0.0.1"]
    if rpc_http_host not in ("127.0.0.1", "localhost") and node.host not in host_allowlist:
        host_allowlist.append(node.host)
    pairs: list[tuple[str, Any]] = [
        ("identity", node.department),
        ("data-path", "data"),
        ("genesis-file", "genesis.json"),
        ("# The key is decrypted here by start.sh (never stored in clear); start.sh passes the same path.", None),
        ("node-private-key-file", key_file),
        ("sync-mode", "FULL"),
        ("", None),
        ("# P2P: the enode other validators allowlist is enode://<node id>@host:p2p-port", None),
        ("p2p-enabled", True),
    ]
    if is_ip:
        pairs.append(("p2p-host", node.host))
    else:
        pairs += [("# host is a DNS name: enode URLs with names need Besu's early-access DNS support.", None),
                  ("Xdns-enabled", True)]
    pairs += [
        ("p2p-port", node.p2p_port),
        ("bootnodes", list(bootnodes)),
        ("", None),
        ("# JSON-RPC: loopback only by default. QBFT (validator votes), PERM (allowlists) and DEBUG", None),
        ("# (traces, used to read revert reasons) are privileged: never expose them without a proxy", None),
        ("# that authenticates callers.", None),
        ("rpc-http-enabled", True),
        ("rpc-http-host", rpc_http_host),
        ("rpc-http-port", node.rpc_port),
        ("rpc-http-api", list(rpc_api)),
        ("host-allowlist", host_allowlist),
        ("", None),
        ("# Zero-gas network: genesis has zeroBaseFee; every node must accept a gas price of 0.", None),
        ("min-gas-price", 0),
        ("revert-reason-enabled", True),
        ("", None),
        ("# Local permissioning (Besu's contract-based permissioning is deprecated).", None),
        ("permissions-nodes-config-file-enabled", True),
        ("permissions-nodes-config-file", "permissions_config.toml"),
        ("permissions-accounts-config-file-enabled", True),
        ("permissions-accounts-config-file", "permissions_config.toml"),
    ]
    lines = [f"# Besu configuration of the {node.department} validator ({node.name_en} / {node.name}).",
             "# Generated by `alliance network besu`; start the node with ./start.sh, not besu directly.", ""]
    for key, value in pairs:
        lines.append(key if value is None else f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _permissions_toml(enodes: Sequence[str], accounts: Sequence[str]) -> str:
    return _toml(
        [("nodes-allowlist", list(enodes)), ("accounts-allowlist", list(accounts))],
        header="""
Besu local permissioning, the same on every node of the alliance.
nodes-allowlist: the enode URL of every validator (bootnodes must be listed, or Besu will not start).
accounts-allowlist: every member account and the deployer; only they may send transactions.
After editing, apply without restart: perm_reloadPermissionsFromFile (PERM API, loopback only).
""")


_START_SH = r"""#!/usr/bin/env bash
# Start the Besu validator of {code} ({name_en}).
#
# Needs: besu on PATH (or $BESU_BIN); python3 with eth-account (or $BESU_PYTHON); the node key
# passphrase in $BESU_NODE_PASSPHRASE (from a secret store, systemd LoadCredential, ...; never
# on the command line). The key is decrypted into a 0600 file on tmpfs ($BESU_KEY_DIR, default
# {key_dir}), checked against node.json and removed again when besu exits.
set -euo pipefail
cd "$(dirname "$0")"

if [[ -z "${{BESU_NODE_PASSPHRASE:-}}" ]]; then
  echo "start.sh: set BESU_NODE_PASSPHRASE to the passphrase of key.json" >&2
  exit 2
fi
KEY_DIR="${{BESU_KEY_DIR:-{key_dir}}}"
KEY_FILE="$KEY_DIR/key"
umask 077
mkdir -p "$KEY_DIR"
chmod 700 "$KEY_DIR"
if [[ "$(stat -f -c %T "$KEY_DIR" 2>/dev/null || true)" != "tmpfs" ]]; then
  echo "start.sh: warning: $KEY_DIR is not on tmpfs; the decrypted node key will touch the disk" >&2
fi
rm -f "$KEY_FILE"
trap 'rm -f "$KEY_FILE"' EXIT

"${{BESU_PYTHON:-python3}}" - key.json node.json "$KEY_FILE" <<'PY'
import json, os, sys
from eth_account import Account
keystore, node, out = sys.argv[1:4]
secret = os.environ.pop("BESU_NODE_PASSPHRASE")
with open(keystore) as fh:
    doc = json.load(fh)
try:
    key = Account.decrypt(doc, secret)
except ValueError:
    sys.exit("start.sh: wrong passphrase for " + keystore)
with open(node) as fh:
    expected = json.load(fh)["address"]
if Account.from_key(key).address.lower() != expected.lower():
    sys.exit("start.sh: key.json does not hold the key of validator " + expected)
fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
with os.fdopen(fd, "w") as fh:
    fh.write("0x" + bytes(key).hex())
PY
unset BESU_NODE_PASSPHRASE

"${{BESU_BIN:-besu}}" --config-file=config.toml --node-private-key-file="$KEY_FILE" "$@" &
BESU_PID=$!
trap 'kill -TERM "$BESU_PID" 2>/dev/null || true' TERM INT
set +e
wait "$BESU_PID"
status=$?
if kill -0 "$BESU_PID" 2>/dev/null; then
  wait "$BESU_PID"
  status=$?
fi
exit "$status"
"""


# --------------------------------------------------------------------------- generate

def generate_network(
    spec: AllianceSpec,
    out_dir: Path,
    *,
    chain_id: int,
    passphrase: str,
    member_accounts: Mapping[str, str] | None = None,
    keystore_dir: Path | None = None,
    host_of: Callable[[str], str] | None = None,
    p2p_port: int = 30303,
    rpc_port: int = 8545,
    rpc_http_host: str = "127.0.0.1",
    rpc_api: Sequence[str] = DEFAULT_RPC_API,
    block_period_seconds: int = 2,
    request_timeout_seconds: int | None = None,
    epoch_length: int = DEFAULT_EPOCH_LENGTH,
    gas_limit: int = DEFAULT_GAS_LIMIT,
    funded_accounts: Sequence[str] = (),
    bootnode_count: int = 4,
    scrypt_n: int = 2**15,
    overwrite: bool = False,
) -> NetworkManifest:
    """Write a QBFT network for ``spec``: one validator per department, in department order.

    Member accounts for the accounts allowlist come from ``member_accounts`` (alias -> address) or
    from the keystores in ``keystore_dir`` (addresses only, nothing is unlocked); every member of
    the spec and the deployer must be there. ``host_of(code)`` gives each department's host (IPv4
    or DNS name); without it every node is on 127.0.0.1. Nodes that share a host get consecutive
    ports from ``p2p_port`` / ``rpc_port``. The first ``bootnode_count`` validators are the
    bootnodes. Node keys are encrypted with ``passphrase`` (scrypt cost ``scrypt_n``).

    The directory is written completely or not at all. An existing non-empty ``out_dir`` is an
    error unless ``overwrite`` is set and it holds a network generated here (``network.json``).
    Bad inputs raise BesuNetworkError (a ValueError) naming the problem.
    """
    # ---- validate everything before writing anything
    if isinstance(chain_id, bool) or not isinstance(chain_id, int) or chain_id <= 0:
        raise BesuNetworkError(f"chain id must be a positive integer, got {chain_id!r}")
    if chain_id >= 2**63:
        raise BesuNetworkError(f"chain id {chain_id} is too large (must be below 2**63)")
    if chain_id in PUBLIC_CHAIN_IDS:
        raise BesuNetworkError(f"chain id {chain_id} belongs to {PUBLIC_CHAIN_IDS[chain_id]}: "
                               "choose a private chain id so alliance transactions cannot be replayed there")
    if not isinstance(spec, AllianceSpec):
        raise BesuNetworkError(f"spec must be an AllianceSpec, got {type(spec).__name__}")
    if not spec.departments:
        raise BesuNetworkError("the alliance has no departments: a QBFT network needs at least one validator")
    codes = [d.code for d in spec.departments]
    if len(set(codes)) != len(codes):
        raise BesuNetworkError(f"duplicate department codes in the alliance: {codes}")
    if not isinstance(passphrase, str) or len(passphrase) < MIN_PASSPHRASE:
        raise BesuNetworkError(f"the node key passphrase must be at least {MIN_PASSPHRASE} characters")
    if isinstance(scrypt_n, bool) or not isinstance(scrypt_n, int) or scrypt_n < 2 or scrypt_n & (scrypt_n - 1):
        raise BesuNetworkError(f"scrypt_n must be a power of two of at least 2, got {scrypt_n!r}")
    _check_port(p2p_port, "p2p_port")
    _check_port(rpc_port, "rpc_port")
    for value, what, low in ((block_period_seconds, "block_period_seconds", 1), (epoch_length, "epoch_length", 1),
                             (gas_limit, "gas_limit", 5000), (bootnode_count, "bootnode_count", 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise BesuNetworkError(f"{what} must be an integer of at least {low}, got {value!r}")
    if request_timeout_seconds is None:
        request_timeout_seconds = max(4, 2 * block_period_seconds)
    if isinstance(request_timeout_seconds, bool) or not isinstance(request_timeout_seconds, int) \
            or request_timeout_seconds < 1:
        raise BesuNetworkError(f"request_timeout_seconds must be a positive integer, got {request_timeout_seconds!r}")
    if not isinstance(rpc_http_host, str) or not rpc_http_host:
        raise BesuNetworkError("rpc_http_host must be an address to bind the JSON-RPC server to")
    apis = [str(a).upper() for a in rpc_api]
    if not apis or not all(_RPC_API.match(a) for a in apis) or "ETH" not in apis:
        raise BesuNetworkError(f"rpc_api must be a list of Besu API names including ETH, got {list(rpc_api)!r}")

    if member_accounts is not None and keystore_dir is not None:
        raise BesuNetworkError("pass member_accounts or keystore_dir, not both")
    if member_accounts is None:
        if keystore_dir is None:
            raise BesuNetworkError("the accounts allowlist needs the member accounts: "
                                   "pass member_accounts (alias -> address) or keystore_dir")
        member_accounts = member_accounts_from_keystores(keystore_dir)
    if not isinstance(member_accounts, Mapping):
        raise BesuNetworkError("member_accounts must map keystore alias -> address")
    members: dict[str, str] = {}
    for alias, address in member_accounts.items():
        members[str(alias)] = _checksum(address, f"member account {alias!r}")
    wanted = [DEPLOYER_ALIAS] + [m.alias for m in spec.members]
    missing = [a for a in wanted if a not in members]
    if missing:
        raise BesuNetworkError(f"no account for {missing}: every alliance member and the deployer must be "
                               "allowlisted (run `alliance init` to create their keystores)")
    by_address: dict[str, str] = {}
    for alias, address in members.items():
        if address in by_address:
            raise BesuNetworkError(f"member accounts {by_address[address]!r} and {alias!r} share address {address}")
        by_address[address] = alias
    funded = [_checksum(a, "funded account") for a in funded_accounts]
    if len(set(funded)) != len(funded):
        raise BesuNetworkError("funded_accounts lists an address twice")

    # hosts and ports: nodes sharing a host get consecutive ports
    placements: list[tuple[str, bool, int, int]] = []
    per_host: dict[str, int] = {}
    for code in codes:
        host, is_ip = _check_host(host_of(code) if host_of is not None else "127.0.0.1", code)
        k = per_host.get(host, 0)
        per_host[host] = k + 1
        p2p, rpc = p2p_port + k, rpc_port + k
        if p2p > 65535 or rpc > 65535:
            raise BesuNetworkError(f"too many nodes on {host}: ports run past 65535")
        placements.append((host, is_ip, p2p, rpc))
    for host in per_host:
        used = [(p, r) for h, _, p, r in placements if h == host]
        ports = [p for p, _ in used] + [r for _, r in used]
        if len(set(ports)) != len(ports):
            raise BesuNetworkError(f"P2P and JSON-RPC ports overlap on {host}: "
                                   f"p2p {p2p_port}+ and rpc {rpc_port}+ for {len(used)} nodes")

    out_dir = Path(out_dir)
    _prepare_out_dir(out_dir, overwrite)

    # ---- keys and identities
    validators: list[ValidatorNode] = []
    keystores: list[dict[str, Any]] = []
    placement_ip: list[bool] = []
    for dept, (host, is_ip, p2p, rpc) in zip(spec.departments, placements):
        account = Account.create()
        public_key = eth_keys.PrivateKey(bytes(account.key)).public_key.to_bytes().hex()
        address = node_address(public_key)
        if address != account.address:  # eth_keys and eth_account must agree on the node address
            raise BesuNetworkError("node address derivation mismatch")
        doc = Account.encrypt(account.key, passphrase, kdf="scrypt", iterations=scrypt_n)
        doc["node"] = dept.code
        del account
        rpc_host = "127.0.0.1" if rpc_http_host in ("127.0.0.1", "localhost", "0.0.0.0") else rpc_http_host
        validators.append(ValidatorNode(department=dept.code, name=dept.name, name_en=dept.name_en,
                                        address=address, public_key=public_key, host=host, p2p_port=p2p,
                                        rpc_port=rpc, rpc_url=f"http://{rpc_host}:{rpc}"))
        keystores.append(doc)
        placement_ip.append(is_ip)

    extra_data = encode_extra_data(v.address for v in validators)
    genesis = _genesis(chain_id=chain_id, extra_data=extra_data, block_period_seconds=block_period_seconds,
                       request_timeout_seconds=request_timeout_seconds, epoch_length=epoch_length,
                       gas_limit=gas_limit, funded=funded, evm_version=EVM_VERSION)
    genesis_bytes = (json.dumps(genesis, indent=2) + "\n").encode()
    enodes = [v.enode for v in validators]
    bootnodes = enodes[:bootnode_count]
    allowlist = sorted({a.lower() for a in members.values()})
    manifest = NetworkManifest(
        chain_id=chain_id, evm_version=EVM_VERSION, block_period_seconds=block_period_seconds,
        request_timeout_seconds=request_timeout_seconds, epoch_length=epoch_length,
        validators=tuple(validators), bootnodes=tuple(bootnodes), accounts_allowlist=tuple(allowlist),
        member_accounts=dict(sorted(members.items())), extra_data=extra_data,
        genesis_sha256=hashlib.sha256(genesis_bytes).hexdigest(), directory=out_dir,
    )
    permissions = _permissions_toml(enodes, allowlist)

    # ---- write into a sibling temp dir, then move into place
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        os.chmod(staging, 0o755)
        (staging / "genesis.json").write_bytes(genesis_bytes)
        for node, doc, is_ip in zip(validators, keystores, placement_ip):
            nd = staging / "nodes" / node.department
            nd.mkdir(parents=True)
            write_private_file(nd / "key.json", (json.dumps(doc, indent=2) + "\n").encode())
            (nd / "node.json").write_text(json.dumps(node.as_dict(), indent=2, ensure_ascii=False) + "\n",
                                          encoding="utf-8")
            (nd / "genesis.json").write_bytes(genesis_bytes)
            key_dir = DEFAULT_KEY_DIR.format(code=node.department)
            (nd / "config.toml").write_text(
                _config_toml(node, is_ip=is_ip, bootnodes=bootnodes, rpc_http_host=rpc_http_host, rpc_api=apis,
                             key_file=f"{key_dir}/key"), encoding="utf-8")
            (nd / "permissions_config.toml").write_text(permissions, encoding="utf-8")
            start = nd / "start.sh"
            start.write_text(_START_SH.format(code=node.department, name_en=node.name_en, key_dir=key_dir),
                             encoding="utf-8")
            start.chmod(0o750)
        (staging / "network.json").write_text(json.dumps(manifest.as_dict(), indent=2, ensure_ascii=False) + "\n",
                                              encoding="utf-8")
        if out_dir.exists():
            if overwrite:
                shutil.rmtree(out_dir)
            else:
                out_dir.rmdir()  # empty (checked above)
        os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _prepare_out_dir(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise BesuNetworkError(f"output path {out_dir} exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        if not overwrite:
            raise BesuNetworkError(f"output directory {out_dir} is not empty; pass overwrite=True to replace "
                                   "a network generated earlier (its node keys will be lost)")
        if not (out_dir / "network.json").is_file():
            raise BesuNetworkError(f"refusing to overwrite {out_dir}: it is not empty and holds no network.json "
                                   "from an earlier `alliance network besu`")
    parent = out_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BesuNetworkError(f"cannot create {parent}: {exc.strerror or exc}") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise BesuNetworkError(f"output directory {out_dir} is not writable ({parent} denies writing)")
    try:  # os.access can lie (root, ACLs, read-only mounts): probe
        fd, probe = tempfile.mkstemp(dir=parent, prefix=".alliance-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise BesuNetworkError(f"output directory {out_dir} is not writable: {exc.strerror or exc}") from None


# --------------------------------------------------------------------------- read back

def load_network(directory: Path) -> NetworkManifest:
    """Read ``network.json`` (and check it against ``genesis.json``) from a generated network directory."""
    directory = Path(directory)
    path = directory / "network.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BesuNetworkError(f"no network.json in {directory}: generate the network first") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise BesuNetworkError(f"{path} is unreadable: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != "alliance-besu-network/1":
        raise BesuNetworkError(f"{path} is not an alliance Besu network manifest")
    try:
        validators = tuple(
            ValidatorNode(department=v["department"], name=v["name"], name_en=v["name_en"],
                          address=to_checksum_address(v["address"]), public_key=v["public_key"], host=v["host"],
                          p2p_port=int(v["p2p_port"]), rpc_port=int(v["rpc_port"]), rpc_url=v["rpc_url"])
            for v in data["validators"])
        manifest = NetworkManifest(
            chain_id=int(data["chain_id"]), evm_version=data["evm_version"],
            block_period_seconds=int(data["block_period_seconds"]),
            request_timeout_seconds=int(data["request_timeout_seconds"]), epoch_length=int(data["epoch_length"]),
            validators=validators, bootnodes=tuple(data["bootnodes"]),
            accounts_allowlist=tuple(data["accounts_allowlist"]), member_accounts=dict(data["member_accounts"]),
            extra_data=data["extra_data"], genesis_sha256=data["genesis_sha256"], directory=directory)
    except (KeyError, TypeError, ValueError) as exc:
        raise BesuNetworkError(f"{path} is incomplete or malformed: {exc!r}") from None
    for v, raw in zip(validators, data["validators"]):
        if node_address(v.public_key) != v.address:
            raise BesuNetworkError(f"{path}: validator {v.department} address does not match its public key")
        if raw.get("enode") not in (None, v.enode):
            raise BesuNetworkError(f"{path}: validator {v.department} enode does not match its key, host and port")
    if tuple(decode_extra_data(manifest.extra_data).validators) != tuple(v.address for v in validators):
        raise BesuNetworkError(f"{path}: extraData does not list the validators in order")
    for key, value in (("fault_tolerance", manifest.fault_tolerance), ("quorum", manifest.quorum),
                       ("validator_count", manifest.n)):
        if key in data and data[key] != value:
            raise BesuNetworkError(f"{path}: {key} {data[key]} does not match {manifest.n} validators ({value})")
    genesis = directory / "genesis.json"
    if genesis.is_file():
        raw_genesis = genesis.read_bytes()
        if hashlib.sha256(raw_genesis).hexdigest() != manifest.genesis_sha256:
            raise BesuNetworkError(f"{genesis} was changed after generation (sha256 differs from network.json)")
        if json.loads(raw_genesis).get("extraData") != manifest.extra_data:
            raise BesuNetworkError(f"{genesis}: extraData differs from network.json")
    return manifest
