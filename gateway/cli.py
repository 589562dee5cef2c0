"""The ``alliance`` command line.

Every command prints a one-line ``alliance: error: ...`` and exits non-zero on bad input,
a missing configuration, a wrong passphrase, an unreachable node or a wrong chain id.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import signal
import sys
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from chain.alliance import DEFAULT_ALLIANCE_FILE, AllianceConfigError, load_alliance
from chain.config import (
    DATA_DIR_ENV,
    DEFAULT_DATA_DIR,
    ChainSettings,
    ConfigError,
    NodeSettings,
    Settings,
    load_settings,
    render_config,
)
from chain.errors import ChainError, ContractRevert
from chain.keystore import DEPLOYER_ALIAS, KeystoreError, create_keystore
from chain.roles import UnknownRoleError
from gateway.auth.tokens import generate_signing_key, save_signing_key
from gateway.runtime import ensure_secrets, open_runtime, read_passphrase
from gateway.services import alliance
from gateway.services.users import UserError, create_user

log = logging.getLogger("alliance")


class CLIError(Exception):
    """A user error with a one-line message."""


EXPECTED = (CLIError, ConfigError, AllianceConfigError, KeystoreError, ChainError, UserError,
            alliance.ProposalInputError, UnknownRoleError, FileNotFoundError)


def _print(obj: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(obj, indent=2, ensure_ascii=False, default=str))
    elif isinstance(obj, list):
        for row in obj:
            print("  ".join(f"{k}={v}" for k, v in row.items()))
    else:
        for k, v in obj.items():
            print(f"{k}: {v}")


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.data_dir)


# ---------------------------------------------------------------------------- init

def cmd_init(args: argparse.Namespace) -> int:
    from chain.deploy import DeploymentManifest
    from gateway.runtime import import_alliance_secret, read_alliance_secret

    root = Path(args.data_dir or DEFAULT_DATA_DIR).resolve()
    if (root / "config.toml").exists():
        raise CLIError(f"{root} is already initialised (config.toml exists)")
    source = Path(args.alliance) if args.alliance else DEFAULT_ALLIANCE_FILE
    spec = load_alliance(source)  # validate before writing anything
    rpc_url = args.rpc_url or "embedded"
    departments = list(dict.fromkeys(args.department or []))
    unknown = [code for code in departments if code not in {d.code for d in spec.departments}]
    if unknown:
        raise CLIError(f"unknown department(s) {unknown} in {source}")
    if (departments or args.deployer_only or args.join) and not rpc_url.startswith(("http://", "https://")):
        raise CLIError("--department, --deployer-only and --join are for a gateway sharing the alliance's node: "
                       "give its --rpc-url http(s)://...")
    # validated before anything is written; the secret is never printed
    shared_secret = read_alliance_secret(Path(args.alliance_secret_file)) if args.alliance_secret_file else None
    manifest = DeploymentManifest.load(Path(args.join)) if args.join else None
    chain_id = args.chain_id or (4242 if rpc_url == "embedded" else 0)
    if manifest is not None:
        if args.chain_id and args.chain_id != manifest.chain_id:
            raise CLIError(f"--chain-id {args.chain_id} differs from the deployment's chain id {manifest.chain_id}")
        chain_id = manifest.chain_id  # pinned: every command then refuses a node of another chain
    settings = Settings(
        data_dir=root,
        database_url=args.database_url or "",
        chain=ChainSettings(rpc_url=rpc_url, expected_chain_id=chain_id, keystore_scrypt_n=args.scrypt_n),
        node=replace(NodeSettings(), port=args.node_port) if args.node_port else NodeSettings(),
    )
    if args.gateway_port:
        settings = replace(settings, gateway=replace(settings.gateway, port=args.gateway_port))
    if departments and settings.gateway.service_department not in departments:
        # enterprise uploads are anchored by a department whose key this gateway holds
        anchoring = [d for d in departments
                     if any({"issuer", "operator"} & set(m.roles) for m in spec.department(d).members)]
        if anchoring:
            settings = replace(settings, gateway=replace(settings.gateway, service_department=anchoring[0]))
    passphrase = read_passphrase(confirm=True)
    if len(passphrase) < 8:
        raise CLIError("passphrase must be at least 8 characters")
    root.mkdir(parents=True, exist_ok=True)
    settings.keystore_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, settings.alliance_file)
    if args.deployer_only:
        aliases = [DEPLOYER_ALIAS]
    elif departments:  # a department's own gateway: its members' keys only, no deployer
        aliases = [m.alias for m in spec.members if m.department in departments]
    else:  # one machine for the whole alliance (the embedded default)
        aliases = [DEPLOYER_ALIAS] + [m.alias for m in spec.members]
    for alias in aliases:
        if not (settings.keystore_dir / f"{alias}.json").exists():
            create_keystore(settings.keystore_dir, alias, passphrase, settings.chain.keystore_scrypt_n)
    if not settings.token_key_file.exists():
        save_signing_key(generate_signing_key(), settings.token_key_file, passphrase)
    if shared_secret is not None:
        import_alliance_secret(settings, shared_secret, passphrase)
    ensure_secrets(settings, passphrase)
    if manifest is not None:
        manifest.save(settings.deployment_file)
    from gateway import db

    db.upgrade(settings.effective_database_url)
    settings.config_file.write_text(render_config(settings), encoding="utf-8")  # last: marks init complete
    scope = (f"department {', '.join(departments)}" if departments else "the deployer" if args.deployer_only
             else f"{len(spec.departments)} departments")
    print(f"initialised {root}: {scope}, {len(aliases)} encrypted keystores"
          + (f", joined the deployment on chain {manifest.chain_id}" if manifest else ""))
    return 0


# ---------------------------------------------------------------------------- up

def cmd_up(args: argparse.Namespace) -> int:
    import threading

    import uvicorn

    from chain.node import Supervisor
    from gateway.app import create_app

    settings = _settings(args)
    if args.demo:
        settings = _demo_district(settings)
    passphrase = read_passphrase()
    with open_runtime(settings, passphrase) as rt:
        ledger = rt.ledger
        report = ledger.reconcile()
        log.info("journal: %s", report.as_dict())
        if ledger.ensure_deployed():
            log.info("deployed contracts: %s", {n: r.address for n, r in ledger.manifest.contracts.items()})
        boot = ledger.bootstrap()
        if not boot.already_sealed:
            log.info("alliance bootstrapped: %s", boot)
        ledger.indexer.start()
        supervisor = None
        if rt.node is not None:
            lock = threading.Lock()

            def on_restart() -> None:
                with lock:
                    log.warning("node restarted; reconcile: %s", ledger.reconcile().as_dict())

            supervisor = Supervisor(rt.node, ledger.ready, on_restart)
            supervisor.start()
        context = rt.context(passphrase)
        recovered = context.batcher.recover()
        if recovered:
            log.info("anchored %d batches sealed before the last stop", len(recovered))
        if args.demo:
            _load_demo(args, settings, passphrase, context, on_up=True)
        from gateway.services.licences import settle_pending

        settle_pending(context)
        context.batcher.tasks.append(lambda: settle_pending(context))
        from gateway.subsidies.applications import settle_pending as settle_applications

        settle_applications(context)
        context.batcher.tasks.append(lambda: settle_applications(context))
        from audit.service import background_task as audit_timers

        context.batcher.tasks.append(audit_timers(context))
        from audit.service import event_listener as audit_events

        ledger.indexer.subscribe(audit_events(context))  # new subsidy-ledger events → event-driven audit
        from audit.service import warm_live

        warm_live(context)  # the live snapshot the events are evaluated over, loaded in the background
        context.batcher.start()
        _warm_verification(context)
        app = create_app(context)
        import gc

        # what start-up loaded (contracts, caches, the verification read-ahead) lives as long as the process:
        # moved out of the collector's generations, a full collection walks only what requests allocate
        # (a pause of ~0.3 s every ~15 s under load otherwise)
        gc.collect()
        gc.freeze()
        host = args.host or settings.gateway.host
        port = args.port or settings.gateway.port
        print(f"gateway listening on http://{host}:{port} (API docs at /docs); node {settings.effective_rpc_url}",
              flush=True)
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False))
        try:
            server.run()
        finally:
            context.batcher.stop()
            if supervisor is not None:
                supervisor.stop()
    print("stopped", flush=True)
    return 0


def _load_demo(args: argparse.Namespace, settings: Settings, passphrase: str, context, on_up: bool = False) -> dict:
    """Load the demo district through the services; print its report (time and figures) as JSON."""
    from gateway.demo.load import DemoError, load

    out = Path(args.demo_out) if args.demo_out else settings.data_dir / "demo"
    try:
        result = load(context, args.demo_policies, args.demo_applications, args.demo_seed, out=out,
                      progress=lambda msg: log.info("demo: %s", msg), keystore_dir=settings.keystore_dir,
                      passphrase=passphrase)
    except (DemoError, ValueError) as exc:  # ValueError: sizes too small for a plan
        if on_up:  # `up --demo` on a ledger that already holds data: serve it as it is
            log.warning("demo not loaded: %s", exc)
            return {}
        raise CLIError(str(exc)) from None
    report = {**result.report(), "manifest": str(out / "demo_anomalies.json")}
    print(json.dumps(report, ensure_ascii=False, indent=None if on_up else 2), flush=True)
    return report


def _demo_district(settings: Settings) -> Settings:
    """The demo's firms are the oracle sample's, registered in its district: with ``[audit] district`` unset,
    the audit could not tell a firm registered elsewhere (PAY4's "moved out"); set it in config.toml."""
    from oracle.sample import DEFAULT_DISTRICT

    if settings.audit.district:
        return settings
    settings = replace(settings, audit=replace(settings.audit, district=DEFAULT_DISTRICT[0]))
    settings.config_file.write_text(render_config(settings), encoding="utf-8")
    log.info("demo: [audit] district set to %s (%s), the demo district's, in %s", DEFAULT_DISTRICT[0],
             DEFAULT_DISTRICT[1], settings.config_file)
    return settings


def cmd_demo(args: argparse.Namespace) -> int:
    settings = _demo_district(_settings(args))
    passphrase = read_passphrase()
    with open_runtime(settings, passphrase) as rt:
        ledger = rt.ledger
        ledger.reconcile()
        ledger.ensure_deployed()
        ledger.bootstrap()
        context = rt.context(passphrase)
        context.batcher.recover()
        _load_demo(args, settings, passphrase, context)
    return 0


def _demo_options(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    parser.add_argument(f"--{prefix}policies", dest="demo_policies", type=int, default=170,
                        help="demo policies (default 170)")
    parser.add_argument(f"--{prefix}applications", dest="demo_applications", type=int, default=5000,
                        help="demo applications (default 5000)")
    parser.add_argument(f"--{prefix}seed", dest="demo_seed", type=int, default=7, help="demo seed (default 7)")
    parser.add_argument(f"--{prefix}out", dest="demo_out",
                        help="folder for demo_anomalies.json (default DATA_DIR/demo)")


def _warm_verification(context) -> None:
    """In the background: the chain facts of this gateway's licences, read once for fast verdicts."""
    import threading
    import time

    from gateway.services.licences import warm_verification

    def warm() -> None:
        start = time.perf_counter()
        try:
            kept = warm_verification(context)
        except Exception as exc:  # noqa: BLE001 - verdicts read the chain live instead
            log.warning("verification: reading chain facts ahead failed: %s", exc)
            return
        log.info("verification: chain facts of %d licences read ahead in %.1fs", kept, time.perf_counter() - start)

    threading.Thread(target=warm, name="verification-warm", daemon=True).start()


# ---------------------------------------------------------------------------- status / deploy

def cmd_status(args: argparse.Namespace) -> int:
    settings = _settings(args)
    with open_runtime(settings, None, start_node=False, keys=False) as rt:
        status = rt.ledger.status()
        if rt.ledger.manifest is None:
            raise CLIError(f"not deployed: no manifest at {settings.deployment_file}; run `alliance up`")
        status["alliance"] = alliance.summary(rt.ledger)
        status["departments"] = alliance.departments(rt.ledger)
    if args.json:
        _print(status, True)
    else:
        print(f"chain id {status['chain_id']}  head {status['node']['head']}  node {status['node']['url']}")
        for name, address in status["contracts"].items():
            print(f"contract {name} at {address}")
        print("deployment: " + ("consistent with the chain" if not status["deployment_problems"]
                                else "; ".join(status["deployment_problems"])))
        print(f"journal pending {status['journal']['pending']}  indexer lag "
              f"{status['indexer']['lag_blocks'] if status['indexer'] else 'n/a'} blocks")
        a = status["alliance"]
        print(f"alliance: {a['active_departments']} active departments, threshold {a['threshold']}, "
              f"bootstrap {'sealed' if a['sealed'] else 'open'}")
        for d in status["departments"]:
            print(f"  {d['code']:<12} {d['name']}  {d['name_en']}  members {d['member_count']}  "
                  f"roles {','.join(d['roles'])}{'' if d['active'] else '  (removed)'}")
    return 1 if status["deployment_problems"] else 0


def cmd_deploy(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.join:
        from chain.deploy import DeploymentManifest

        manifest = DeploymentManifest.load(Path(args.join))
        with open_runtime(settings, read_passphrase()) as rt:
            rt.ledger.reconcile()
            held = rt.ledger.join(manifest)
        if not settings.chain.expected_chain_id:  # pinned: every command then refuses a node of another chain
            settings = replace(settings, chain=replace(settings.chain, expected_chain_id=manifest.chain_id))
            settings.config_file.write_text(render_config(settings), encoding="utf-8")
        out = {"joined": str(Path(args.join)), "chain_id": manifest.chain_id,
               "contracts": {n: r.address for n, r in manifest.contracts.items()}, "members": held}
        _print(out, args.json)
        missing = [alias for alias, state in held.items() if not state.startswith("member of")]
        if missing:
            print(f"alliance: warning: {', '.join(missing)} cannot act until governance adds them", file=sys.stderr)
        return 0
    with open_runtime(settings, read_passphrase()) as rt:
        rt.ledger.reconcile()
        deployed = rt.ledger.ensure_deployed()
        boot = rt.ledger.bootstrap()
        out = {"deployed": deployed, "contracts": {n: r.address for n, r in rt.ledger.manifest.contracts.items()},
               "bootstrap_transactions": boot.transactions, "manifest": str(settings.deployment_file)}
    _print(out, args.json)
    return 0


def cmd_secret(args: argparse.Namespace) -> int:
    """``secret export``: the alliance HMAC key for the other gateways of the alliance."""
    from gateway.runtime import export_alliance_secret

    settings = _settings(args)
    export_alliance_secret(settings, read_passphrase(), Path(args.out))
    print(f"alliance secret written to {args.out} (mode 0600): it lets its holder link enterprises' keyed "
          "hashes; carry it to the other gateways over a secure channel and delete it after their init")
    return 0


def cmd_members_export(args: argparse.Namespace) -> int:
    """``members export``: this gateway's member accounts, as lines for the deploying operator's alliance file."""
    from chain.keystore import keystore_address

    settings = _settings(args)
    spec = load_alliance(settings.alliance_file)
    held = {m.alias: keystore_address(settings.keystore_dir / f"{m.alias}.json") for m in spec.members
            if (settings.keystore_dir / f"{m.alias}.json").exists()}
    if not held:
        raise CLIError(f"this gateway holds no member key in {settings.keystore_dir}")
    if args.json:
        _print(held, True)
    else:
        print("# paste under [addresses] in the alliance file of the operator who deploys")
        for alias, address in held.items():
            print(f'{alias} = "{address}"')
    return 0


# ---------------------------------------------------------------------------- members

def cmd_members(args: argparse.Namespace) -> int:
    settings = _settings(args)
    needs_keys = args.members_cmd in ("propose", "approve")
    with open_runtime(settings, read_passphrase() if needs_keys else None, keys=needs_keys) as rt:
        ledger = rt.ledger
        if ledger.manifest is None:
            raise CLIError("not deployed: run `alliance up` or `alliance deploy` first")
        if args.members_cmd == "list":
            _print(alliance.members(ledger), args.json)
            return 0
        if args.members_cmd == "proposals":
            _print(alliance.proposals(ledger, args.status), args.json)
            return 0
        account = ledger.keyring.account(args.as_alias)
        if args.members_cmd == "approve":
            out = alliance.approve(ledger, account, args.id)
        else:
            params: dict[str, Any] = {"account": args.account}
            if args.change == "add":
                params.update(department=args.department, roles=_roles(args.roles))
                action = "AddMember"
            elif args.change == "remove":
                action = "RemoveMember"
            else:
                params.update(roles=_roles(args.roles))
                action = "SetMemberRoles"
            out = alliance.propose(ledger, account, action, params)
    _print(out, args.json)
    return 0


def _roles(text: str | None) -> list[str]:
    if not text:
        raise CLIError("--roles is required, e.g. --roles issuer,reviewer")
    return [r for r in text.split(",") if r]


# ---------------------------------------------------------------------------- journal / users

def cmd_journal(args: argparse.Namespace) -> int:
    settings = _settings(args)
    with open_runtime(settings, None, keys=False) as rt:
        report = rt.ledger.reconcile()
    _print(report.as_dict(), args.json)
    return 1 if report.failed else 0


def cmd_users(args: argparse.Namespace) -> int:
    import os

    settings = _settings(args)
    from chain.db import make_engine, session_factory
    from chain.keystore import keystore_address
    from gateway import db

    db.upgrade(settings.effective_database_url)
    sessions = session_factory(make_engine(settings.effective_database_url))
    password = os.environ.get("ALLIANCE_USER_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            raise CLIError("no password: set $ALLIANCE_USER_PASSWORD or run in a terminal to be prompted")
        import getpass

        password = getpass.getpass(f"password for {args.username}: ")
    if args.member:
        address = args.member
        if not address.startswith("0x"):
            path = settings.keystore_dir / f"{args.member}.json"
            if not path.exists():
                raise CLIError(f"no member keystore named {args.member!r} in {settings.keystore_dir}")
            address = keystore_address(path)
        user = create_user(sessions, args.username, password, kind="member", member_address=address,
                           scrypt_n=settings.gateway.password_scrypt_n)
    else:
        user = create_user(sessions, args.username, password, kind="enterprise", uscc=args.enterprise,
                           scrypt_n=settings.gateway.password_scrypt_n)
    print(f"login {user.username} created for {user.member_address or user.uscc}")
    return 0


# ---------------------------------------------------------------------------- oracle

def cmd_oracle(args: argparse.Namespace) -> int:
    if args.oracle_cmd == "sample":
        from oracle.sample import main as sample_main

        argv = ["--enterprises", str(args.enterprises), "--out", args.out, "--anomalies", str(args.anomalies),
                "--seed", str(args.seed)]
        return sample_main(argv) or 0
    from oracle import service

    settings = _settings(args)
    needs_keys = args.oracle_cmd in ("ingest", "watch")
    passphrase = read_passphrase() if needs_keys else None
    with open_runtime(settings, passphrase, keys=needs_keys) as rt:
        if rt.ledger.manifest is None:
            raise CLIError("not deployed: run `alliance up` or `alliance deploy` first")
        if args.oracle_cmd == "facts":
            _print(service.latest(rt.ledger, args.uscc), True)
            return 0
        from chain.keystore import unseal_secret

        hmac_key = unseal_secret(settings.alliance_secret_file, passphrase)
        if args.oracle_cmd == "ingest":
            code = 0
            for path in args.files:
                try:
                    report = service.ingest(rt.ledger, hmac_key, Path(path).read_bytes(), Path(path).name,
                                            data_type=args.type, observed_at=args.observed_at)
                except service.OracleError as exc:
                    raise CLIError(f"{path}: {exc}") from None
                _print(report.as_dict(), args.json)
                code = code or (1 if report.errors else 0)
            return code
        return _watch(rt.ledger, hmac_key, Path(args.folder), args.interval)


def _watch(ledger, hmac_key: bytes, folder: Path, interval: float) -> int:
    """Ingest every file that appears in ``folder``; move it to done/ or failed/ with a report beside it."""
    import time as _time

    from oracle import service

    if not folder.is_dir():
        raise CLIError(f"no folder {folder}")
    for sub in ("done", "failed"):
        (folder / sub).mkdir(exist_ok=True)
    print(f"watching {folder} every {interval}s (Ctrl-C to stop)", flush=True)
    while True:
        for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
            try:
                report = service.ingest(ledger, hmac_key, path.read_bytes(), path.name).as_dict()
                target = folder / "done"
            except service.OracleError as exc:
                report, target = {"file": path.name, "error": {"code": exc.code, "message": str(exc)}}, folder / "failed"
            path.replace(target / path.name)
            (target / f"{path.name}.report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
            print(json.dumps({k: report.get(k) for k in ("file", "attested", "unchanged", "bad_lines", "error")},
                             ensure_ascii=False), flush=True)
        _time.sleep(interval)


# ---------------------------------------------------------------------------- fund trace and finance files

@contextmanager
def _fund_context(args: argparse.Namespace, keys: bool):
    """(runtime, gateway context) for the fund commands, on a deployed ledger; the passphrase unlocks the
    vault and HMAC key of the context (and the member keys with ``keys``)."""
    settings = _settings(args)
    passphrase = read_passphrase()
    with open_runtime(settings, passphrase, keys=keys) as rt:
        if rt.ledger.manifest is None:
            raise CLIError("not deployed: run `alliance up` or `alliance deploy` first")
        yield rt, rt.context(passphrase)


def cmd_trace(args: argparse.Namespace) -> int:
    from gateway.subsidies import trace
    from gateway.subsidies.notices import FundError

    with _fund_context(args, keys=False) as (_rt, ctx):
        try:
            result = {"policy": trace.policy_trace, "enterprise": trace.enterprise_trace,
                      "payout": trace.payout_trace}[args.kind](ctx, args.id)
        except FundError as exc:
            raise CLIError(f"{exc.code}: {exc}") from None
    _print(result, True)
    return 0 if result.get("reconciled", True) and result.get("consistent", True) else 1


def cmd_finance(args: argparse.Namespace) -> int:
    from gateway.subsidies import payouts
    from gateway.subsidies.notices import FundError

    with _fund_context(args, keys=True) as (rt, ctx):
        finance = [m.alias for m in rt.spec.members if "finance" in m.roles and m.alias in rt.ledger.keyring]
        alias = args.member or (finance[0] if finance else None)
        if alias is None or alias not in rt.ledger.keyring:
            raise CLIError("this gateway holds no FINANCE member key: pass --member ALIAS")
        account = rt.ledger.keyring.account(alias)
        try:
            if args.finance_cmd == "export":
                batch, skipped = payouts.export_batch(ctx, account.address, args.policy)
                Path(args.out).write_bytes(payouts.export_file(ctx, batch.id, args.format))
                result = {"batch": payouts.batch_view(ctx, batch, with_lines=False), "skipped": skipped,
                          "file": args.out}
            else:
                path = Path(args.file)
                if args.check:
                    result, _rf, _batch = payouts.reconcile(ctx, path.read_bytes(), path.name)
                else:
                    result = payouts.import_return(ctx, account, path.read_bytes(), path.name)
        except FundError as exc:
            report = exc.details.get("report")
            if report:
                _print(report, True)
            raise CLIError(f"{exc.code}: {exc}") from None
    _print(result, True)
    return 1 if result.get("blocking") else 0


# ---------------------------------------------------------------------------- backup

def cmd_backup(args: argparse.Namespace) -> int:
    from gateway.backup import create_backup

    manifest = create_backup(_settings(args), Path(args.out))
    _print({"archive": str(Path(args.out).resolve()), "files": len(manifest["files"]),
            "database": manifest["database"]}, args.json)
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from gateway.backup import BackupError, restore_backup

    target = Path(args.data_dir or DEFAULT_DATA_DIR).resolve()
    try:
        manifest = restore_backup(Path(args.archive), target)
    except BackupError as exc:
        raise CLIError(str(exc)) from None
    _print({"restored": str(target), "files": len(manifest["files"]), "created_at": manifest["created_at"],
            "next": "alliance up (the journal resubmits whatever the node state lacks)"}, args.json)
    return 0


# ---------------------------------------------------------------------------- network

def cmd_network(args: argparse.Namespace) -> int:
    """Generate a Hyperledger Besu QBFT network (one validator per department) from the alliance file."""
    from chain.besu import BesuNetworkError, generate_network

    settings = _settings(args)
    spec = load_alliance(settings.alliance_file)
    try:
        manifest = generate_network(spec, Path(args.out), chain_id=args.chain_id, passphrase=read_passphrase(),
                                    keystore_dir=settings.keystore_dir, block_period_seconds=args.block_period,
                                    scrypt_n=settings.chain.keystore_scrypt_n, overwrite=args.overwrite)
    except BesuNetworkError as exc:
        raise CLIError(str(exc)) from None
    out = {"out": str(Path(args.out).resolve()), "chain_id": args.chain_id,
           "validators": len(manifest.validators), "fault_tolerance": manifest.fault_tolerance,
           "guide": "docs/besu.md"}
    _print(out, args.json)
    return 0


# ---------------------------------------------------------------------------- verify (offline)

def cmd_verify(args: argparse.Namespace) -> int:
    """Check a proof bundle against any node: needs no data directory, gateway or database."""
    from chain import artifacts
    from chain.connection import connect

    try:
        bundle = json.loads(Path(args.bundle).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CLIError(f"no bundle file at {args.bundle}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise CLIError(f"{args.bundle} is not a JSON proof bundle: {exc}") from None
    fmt = bundle.get("format") if isinstance(bundle, dict) else None
    if fmt not in ("alliance-ledger/licence-proof@1", "alliance-ledger/document-proof@1"):
        raise CLIError(f"{args.bundle} is not an Alliance Ledger proof bundle (format {fmt!r})")
    chain = connect(args.rpc, int(bundle.get("chain_id") or 0))

    def bound(name: str):
        try:
            return chain.w3.eth.contract(address=bundle["contracts"][name], abi=artifacts.load(name).abi)
        except (KeyError, ValueError, TypeError):
            raise CLIError(f"the bundle does not name a valid {name} address") from None

    if fmt == "alliance-ledger/licence-proof@1":
        from gateway.verification.licences import Contracts, verify_licence

        verdict = verify_licence(bundle["document"], Contracts(bound("LicenceRegistry"), bound("AllianceRegistry")))
    else:
        from gateway.verification.documents import DocumentProof, verify_document

        content = Path(args.file).read_bytes() if args.file else None
        try:
            proof = DocumentProof.from_dict(bundle["document"])
        except ValueError as exc:
            raise CLIError(str(exc)) from None
        verdict = verify_document(bound("DocumentStore"), proof, content)
    return _report_verdict(verdict, "fragments", args.bundle, chain, args)


# ---------------------------------------------------------------------------- audit

def cmd_audit_check_pack(args: argparse.Namespace) -> int:
    """Check an audit evidence pack against any node: needs no data directory, gateway or database."""
    from audit.evidence import PackError, check_pack
    from chain.connection import connect

    try:
        data = Path(args.pack).read_bytes()
    except OSError as exc:
        raise CLIError(f"cannot read the pack {args.pack}: {exc.strerror or exc}") from None
    try:
        from audit.evidence import read_pack

        manifest, _ = read_pack(data)
        chain = connect(args.rpc, int(manifest.get("chain_id") or 0))
        verdict = check_pack(data, chain.w3)
    except PackError as exc:
        raise CLIError(f"{args.pack}: {exc}") from None
    return _report_verdict(verdict, "checks", args.pack, chain, args)


def _report_verdict(verdict, parts: str, what: str, chain, args: argparse.Namespace) -> int:
    """Print an offline check's verdict (JSON, or its status and one line per ``parts`` item); exit 0 if valid."""
    result = verdict.to_dict()
    if args.json:
        _print(result, True)
    else:
        print(f"{result['status']}  ({what} against chain {chain.chain_id} at {args.rpc})")
        for c in result[parts]:
            print(f"  {c['status']:<8} {c['name']}: {c['reason']}")
    return 0 if verdict.valid else 1


def cmd_audit(args: argparse.Namespace) -> int:
    """Timers, dashboard figures and evidence packs from this gateway's audit store."""
    import time

    from audit import dashboard, evidence
    from audit.alerts import AlertError
    from audit.routing import AuditChain, AuditEnv, tick

    settings = _settings(args)
    keys = args.audit_cmd in ("tick", "pack")
    with open_runtime(settings, read_passphrase() if keys else None, start_node=False, keys=keys) as rt:
        if rt.ledger.manifest is None:
            raise CLIError(f"not deployed: no manifest at {settings.deployment_file}; run `alliance up`")
        env = AuditEnv(rt.ledger.sessions, settings, AuditChain.from_ledger(rt.ledger))
        now = int(time.time())
        try:
            if args.audit_cmd == "tick":
                _print(tick(env, now), args.json)
            elif args.audit_cmd == "dashboard":
                _print(dashboard.figures(env, now, args.department), True)
            else:
                data = evidence.build_pack(env, now, alert_ids=args.alert or None, case_id=args.case)
                Path(args.out).write_bytes(data)
                _print({"pack": args.out, "bytes": len(data)}, args.json)
        except AlertError as exc:
            raise CLIError(str(exc)) from None
    return 0


# ---------------------------------------------------------------------------- parser

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="alliance", description="Alliance Ledger: permissioned ledger of licences "
                                "and subsidy funds for a district's department alliance.")
    p.add_argument("--data-dir", help=f"data directory (default ${DATA_DIR_ENV} or ./{DEFAULT_DATA_DIR})")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    p.add_argument("--log-format", choices=["text", "json"], default="text",
                   help="log lines as text (default) or one JSON object per line")
    sub = p.add_subparsers(dest="cmd", required=True)
    out = argparse.ArgumentParser(add_help=False)
    out.add_argument("--json", action="store_true", help="print JSON")

    s = sub.add_parser("init", help="create the data directory, configuration and encrypted keystores")
    s.add_argument("--alliance", help="alliance file to start from (default: the 14-department district)")
    s.add_argument("--rpc-url", help='"embedded" (default), "memory://" or an http(s):// JSON-RPC URL (Besu)')
    s.add_argument("--chain-id", type=int, help="the chain id the node must report")
    s.add_argument("--database-url", help="SQLAlchemy URL (default: SQLite in the data directory)")
    s.add_argument("--node-port", type=int, help="port of the embedded node (default 8545)")
    s.add_argument("--gateway-port", type=int, help="port of the gateway (default 8645)")
    s.add_argument("--scrypt-n", type=int, default=2**15, help="keystore scrypt cost (power of two)")
    who = s.add_mutually_exclusive_group()
    who.add_argument("--department", action="append", metavar="CODE",
                     help="a department's own gateway: keys of this department's members only, no deployer key "
                          "(repeat for a gateway serving several departments); needs an http(s) --rpc-url")
    who.add_argument("--deployer-only", action="store_true",
                     help="the operator who deploys: the deployer key only; list every member's address in the "
                          "alliance file ([addresses], from each department's `alliance members export`)")
    s.add_argument("--join", metavar="DEPLOYMENT_JSON",
                   help="attach to contracts deployed elsewhere (their deployment.json) instead of deploying")
    s.add_argument("--alliance-secret-file", metavar="PATH",
                   help="the alliance HMAC key shared by every gateway (from `alliance secret export`)")
    s.set_defaults(func=cmd_init)

    s = sub.add_parser("secret", help="the alliance secret shared by every gateway of the alliance")
    ssub = s.add_subparsers(dest="secret_cmd", required=True)
    x = ssub.add_parser("export", help="write the alliance HMAC key (hex, mode 0600) for another gateway's init")
    x.add_argument("--out", required=True, help="file to write (must not exist); transport it securely")
    s.set_defaults(func=cmd_secret)

    s = sub.add_parser("up", help="start the node, deploy and bootstrap if needed, serve the gateway")
    s.add_argument("--host", help="gateway address (default from config: 127.0.0.1)")
    s.add_argument("--port", type=int, help="gateway port (default from config)")
    s.add_argument("--demo", action="store_true",
                   help="load the demo district (policies, applications, anomalies) before serving, when the "
                        "ledger holds no policy yet; see `alliance demo load`")
    _demo_options(s, "demo-")
    s.set_defaults(func=cmd_up)

    s = sub.add_parser("demo", help="demo data: a district of subsidy policies and applications with anomalies")
    dsub = s.add_subparsers(dest="demo_cmd", required=True)
    d = dsub.add_parser("load", help="load the demo through the services (moves the chain's clock; embedded "
                                     "anvil or memory:// only); prints the time taken and the figures")
    _demo_options(d)
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("status", help="chain, contracts and the departments read from the chain", parents=[out])
    s.set_defaults(func=cmd_status)

    s = sub.add_parser("deploy", help="deploy the contracts and bootstrap the alliance", parents=[out])
    s.add_argument("--join", metavar="DEPLOYMENT_JSON",
                   help="do not deploy: check the deployment made elsewhere against the chain and attach to it")
    s.set_defaults(func=cmd_deploy)

    s = sub.add_parser("members", help="list members; propose and approve member changes")
    msub = s.add_subparsers(dest="members_cmd", required=True)
    msub.add_parser("list", help="members as the chain records them", parents=[out])
    msub.add_parser("export", help="this gateway's member accounts, as alliance-file lines for the operator",
                    parents=[out]).set_defaults(func=cmd_members_export)
    m = msub.add_parser("proposals", help="governance proposals", parents=[out])
    m.add_argument("--status", choices=["open", "executed", "cancelled"])
    m = msub.add_parser("propose", help="propose adding, removing or changing a member", parents=[out])
    m.add_argument("change", choices=["add", "remove", "roles"])
    m.add_argument("--account", required=True, help="the member's 0x address")
    m.add_argument("--department", help="department code (for add)")
    m.add_argument("--roles", help="comma-separated roles (for add and roles)")
    m.add_argument("--as", dest="as_alias", required=True, help="keystore alias of the proposing governor")
    m = msub.add_parser("approve", help="approve a proposal for your department", parents=[out])
    m.add_argument("id", type=int)
    m.add_argument("--as", dest="as_alias", required=True, help="keystore alias of the approving governor")
    s.set_defaults(func=cmd_members)

    s = sub.add_parser("journal", help="the transaction journal")
    jsub = s.add_subparsers(dest="journal_cmd", required=True)
    jsub.add_parser("reconcile", help="resubmit journaled transactions the chain is missing", parents=[out])
    s.set_defaults(func=cmd_journal)

    s = sub.add_parser("oracle", help="attest off-chain facts from their source departments")
    osub = s.add_subparsers(dest="oracle_cmd", required=True)
    o = osub.add_parser("ingest", help="attest the good lines of source files (bad lines are reported)",
                        parents=[out])
    o.add_argument("files", nargs="+")
    o.add_argument("--type", choices=["ENTERPRISE_REGISTRY", "TAX_SUMMARY", "SOCIAL_INSURANCE", "BANK_RETURN",
                                        "UTILITY_USE", "BANK_FLOW"],
                   help="data type (detected from the header when not given)")
    o.add_argument("--observed-at", type=int, help="when the source observed the facts (unix seconds; default now)")
    o = osub.add_parser("watch", help="ingest files dropped into a folder", parents=[out])
    o.add_argument("folder")
    o.add_argument("--interval", type=float, default=2.0)
    o = osub.add_parser("facts", help="latest attested facts of an enterprise with provenance", parents=[out])
    o.add_argument("uscc")
    o = osub.add_parser("sample", help="write realistic sample source files for a district", parents=[out])
    o.add_argument("--out", required=True)
    o.add_argument("--enterprises", type=int, default=3000)
    o.add_argument("--anomalies", type=float, default=0.1)
    o.add_argument("--seed", type=int, default=7)
    s.set_defaults(func=cmd_oracle)

    s = sub.add_parser("backup", help="archive the data directory (SQLite copied consistently while running)",
                       parents=[out])
    s.add_argument("--out", required=True, help="archive to write (.tar.gz)")
    s.set_defaults(func=cmd_backup)
    s = sub.add_parser("restore", help="restore an archive into a new --data-dir, checking every digest",
                       parents=[out])
    s.add_argument("archive")
    s.set_defaults(func=cmd_restore)

    s = sub.add_parser("network", help="generate deployment files for a multi-machine network")
    nsub = s.add_subparsers(dest="network_cmd", required=True)
    n = nsub.add_parser("besu", help="Besu QBFT: genesis, per-department node keys (encrypted), configs, allowlists",
                        parents=[out])
    n.add_argument("--out", required=True, help="output directory (must be new or empty)")
    n.add_argument("--chain-id", type=int, required=True, help="the network's chain id")
    n.add_argument("--block-period", type=int, default=2, help="seconds between blocks (default 2)")
    n.add_argument("--overwrite", action="store_true", help="replace an earlier generated network in --out")
    s.set_defaults(func=cmd_network)

    s = sub.add_parser("verify", help="check a proof bundle against any node (no data directory needed)",
                       parents=[out])
    s.add_argument("bundle", help="proof bundle JSON downloaded from the gateway")
    s.add_argument("--rpc", required=True, help="JSON-RPC URL of any node of the alliance chain")
    s.add_argument("--file", help="for a document bundle: the file itself, to check its digests too")
    s.set_defaults(func=cmd_verify)

    s = sub.add_parser("trace", help="fund trace read from the chain: a policy, an enterprise or a payout")
    s.add_argument("kind", choices=["policy", "enterprise", "payout"])
    s.add_argument("id", help="policy id (0x…), enterprise USCC, or payout: application id (0x…) or batch id")
    s.set_defaults(func=cmd_trace)

    s = sub.add_parser("finance", help="payout bank files: export a batch, import the bank's return file")
    fsub = s.add_subparsers(dest="finance_cmd", required=True)
    f = fsub.add_parser("export", help="export the payable lines as a new bank batch file")
    f.add_argument("--policy", help="only this policy's lines (0x…)")
    f.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    f.add_argument("--out", required=True, help="file to write")
    f.add_argument("--member", help="FINANCE member keystore alias (default: the first one held)")
    f = fsub.add_parser("import", help="import a bank return file; its paid lines go on-chain in one transaction")
    f.add_argument("file")
    f.add_argument("--check", action="store_true", help="only reconcile, record nothing")
    f.add_argument("--member", help="FINANCE member keystore alias (default: the first one held)")
    s.set_defaults(func=cmd_finance)

    s = sub.add_parser("audit", help="supervision: evidence packs, timers, dashboard figures")
    asub = s.add_subparsers(dest="audit_cmd", required=True)
    a = asub.add_parser("check-pack", help="check an evidence pack against any node (no data directory needed)",
                        parents=[out])
    a.add_argument("pack", help="evidence pack ZIP downloaded from the gateway")
    a.add_argument("--rpc", required=True, help="JSON-RPC URL of any node of the alliance chain")
    a.set_defaults(func=cmd_audit_check_pack)
    a = asub.add_parser("tick", help="escalate missed rectification deadlines and overdue cases now", parents=[out])
    a.set_defaults(func=cmd_audit)
    a = asub.add_parser("dashboard", help="counts, deadlines, rectification rate and amounts (JSON)")
    a.add_argument("--department", help="one department's figures (default: the whole alliance)")
    a.set_defaults(func=cmd_audit)
    a = asub.add_parser("pack", help="export the evidence pack of alerts or of a case", parents=[out])
    which = a.add_mutually_exclusive_group(required=True)
    which.add_argument("--alert", action="append", help="an alert id (repeatable)")
    which.add_argument("--case", help="a case id")
    a.add_argument("--out", required=True, help="the ZIP file to write")
    a.set_defaults(func=cmd_audit)

    s = sub.add_parser("users", help="gateway logins")
    usub = s.add_subparsers(dest="users_cmd", required=True)
    u = usub.add_parser("add", help="create a login (password from $ALLIANCE_USER_PASSWORD or prompt)")
    u.add_argument("username")
    who = u.add_mutually_exclusive_group(required=True)
    who.add_argument("--member", help="member keystore alias (e.g. MARKET-admin) or 0x address")
    who.add_argument("--enterprise", help="enterprise USCC (18 characters)")
    s.set_defaults(func=cmd_users)
    return p


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message (and exception)."""

    def format(self, record: logging.LogRecord) -> str:
        from datetime import datetime, timezone

        out = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
               "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def _configure_logging(args: argparse.Namespace) -> None:
    level = logging.DEBUG if args.verbose else logging.INFO
    if args.log_format != "json":
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter())
    logging.basicConfig(level=level, handlers=[handler])
    if args.cmd == "up":
        # uvicorn installs its own text handlers from this dict when the server starts
        from uvicorn.config import LOGGING_CONFIG

        for name in ("default", "access"):
            LOGGING_CONFIG["formatters"][name] = {"()": JsonLogFormatter}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args)
    for noisy in ("web3", "urllib3", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return args.func(args)
    except ContractRevert as exc:
        print(f"alliance: error: the contract refused: {exc}", file=sys.stderr)
        return 3
    except EXPECTED as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"alliance: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
