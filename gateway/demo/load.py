"""Load the demo plan (:mod:`gateway.demo.plan`) into a running ledger through the product's services.

Every record goes through the same service functions the API calls — oracle ingest, licence issue,
policies, applications (reduced materials, 秒批), reviews, draws, notices and objections, payee
accounts, bank batch export and return import, use reports, claw-backs — so the SQL tables, the chain
and the indexed events hold what a real run would. Only time is simulated: the chain's clock is moved
forward between the plan's days (anvil ``evm_setNextBlockTimestamp``, eth-tester time travel), and the
services take their time from the latest block. Nothing else is written directly.

After the load the chain's clock stands ``AS_OF_DAY`` days after it started (ahead of the wall clock by
that much); the manifest's ``as_of`` is that date, the date the audit should be run at.

Members: three review levels need three different reviewers of the policy's department; where the
alliance has fewer, the demo adds reviewer members through on-chain governance (a proposal approved by
the governors), their keys written as encrypted keystores when ``keystore_dir`` is given.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import func, select

from chain.roles import bytes32_to_code, to_names
from gateway.context import GatewayContext
from gateway.demo import plan as demo_plan
from gateway.demo.plan import AS_OF_DAY, MATERIALS, AppPlan, DemoPlan, PolicyPlan
from gateway.services import documents
from gateway.services import licences as licence_service
from gateway.subsidies import applications, draws, materials, notices, payouts, policies, reviews, trace, usage
from gateway.subsidies import audit_data, bankfiles
from gateway.subsidies.models import SubsidyApplication, SubsidyPolicy
from oracle import service as oracle_service
from oracle.adapters import bank_flow
from oracle.facts import CST
from oracle.sample import files as sample_files
from oracle.uscc import complete

log = logging.getLogger("alliance.demo")
DAY = 86400
INGEST_LINES = 40
BATCH_LINES = 150


class DemoError(RuntimeError):
    """The demo cannot be loaded here (a node whose clock cannot move, a ledger already holding policies)."""


# ---------------------------------------------------------------------------- the clock

class ChainClock:
    """The chain's clock: read from the latest block, moved forward with the node's time controls."""

    def __init__(self, ctx: GatewayContext):
        self.chain = ctx.ledger.chain
        if self.chain.kind not in ("memory", "anvil"):
            raise DemoError("the demo moves the chain's clock to build its history: it needs the embedded anvil "
                            f"node or eth-tester (memory://), not a {self.chain.kind} node")

    def now(self) -> int:
        return self.chain.now()

    def advance_to(self, t: int) -> None:
        if t <= self.now():
            return
        w3 = self.chain.w3
        if self.chain.kind == "memory":
            w3.testing.timeTravel(t)
            w3.testing.mine(1)
        else:
            w3.provider.make_request("evm_setNextBlockTimestamp", [t])
            w3.provider.make_request("evm_mine", [])


# ---------------------------------------------------------------------------- members

@dataclass
class Cast:
    """Who signs what in the demo."""

    officers: dict[str, LocalAccount]  # department -> POLICY member
    reviewers: dict[str, list[LocalAccount]]  # department -> three REVIEWER members
    issuers: dict[str, tuple[str, LocalAccount]]  # licence type -> (department, ISSUER member)
    finance: LocalAccount
    added_members: list[str] = field(default_factory=list)


def _chain_members(ctx: GatewayContext) -> list[tuple[str, str, set[str]]]:
    f = ctx.ledger.registry.functions
    out = []
    for account in f.memberAccounts().call():
        active, dept, roles = f.getMember(account).call()
        if active:
            out.append((account, bytes32_to_code(dept), set(to_names(roles))))
    return out


def _keys(ctx: GatewayContext, extra: dict[str, LocalAccount]) -> dict[str, LocalAccount]:
    keyring = ctx.ledger.keyring
    out = {a: keyring.by_address(a) for a in keyring.addresses()}
    out.update(extra)
    return out


def cast(ctx: GatewayContext, departments: list[str], keystore_dir: Path | None = None,
         passphrase: str | None = None, scrypt_n: int = 2 ** 15) -> Cast:
    """The demo's signers; adds reviewer members by governance where a department has fewer than three."""
    from chain.keystore import Keyring, create_keystore
    from gateway.services import alliance

    extra: dict[str, LocalAccount] = {}
    if keystore_dir is not None and passphrase is not None:  # demo reviewers of an earlier run
        aliases = [p.stem for p in Path(keystore_dir).glob("*-demo-rev*.json")]
        if aliases:
            ring = Keyring.unlock(Path(keystore_dir), passphrase, aliases)
            extra.update({a: ring.by_address(a) for a in ring.addresses()})
    keys = _keys(ctx, extra)
    members = _chain_members(ctx)
    governors = [keys[a] for a, _, roles in members if "governor" in roles and a in keys]
    added: list[str] = []
    for dept in departments:
        held = [a for a, d, roles in members if d == dept and "reviewer" in roles and a in keys]
        for n in range(len(held), 3):
            alias = f"{dept}-demo-rev{n + 1}"
            if keystore_dir is not None and passphrase is not None:
                create_keystore(Path(keystore_dir), alias, passphrase, scrypt_n)
                account = Keyring.unlock(Path(keystore_dir), passphrase, [alias]).account(alias)
            else:
                account = Account.create()
            result = alliance.propose(ctx.ledger, governors[0], "AddMember",
                                      {"account": account.address, "department": dept, "roles": ["reviewer"]})
            pid = result["proposal"]["id"]
            for g in governors[1:]:
                if alliance.proposal(ctx.ledger, pid)["status"] != "open":
                    break
                alliance.approve(ctx.ledger, g, pid)
            if alliance.proposal(ctx.ledger, pid)["status"] != "executed":
                raise DemoError(f"the proposal adding a reviewer to {dept} was not executed")
            ctx.ledger.chain.fund([account.address])  # gas money, as the bootstrap gives every member
            keys[account.address] = account
            added.append(alias)
        members = _chain_members(ctx) if added else members
    officers, reviewers = {}, {}
    for dept in departments:
        pol = [keys[a] for a, d, roles in members if d == dept and "policy" in roles and a in keys]
        if not pol:
            raise DemoError(f"this gateway holds no POLICY key of {dept}")
        officers[dept] = pol[0]
        revs = [keys[a] for a, d, roles in members if d == dept and "reviewer" in roles and a in keys]
        reviewers[dept] = revs[:3]
    issuers = {}
    for lt in ctx.ledger.spec.licence_types:
        for dept in lt.issuers:
            acc = [keys[a] for a, d, roles in members if d == dept and "issuer" in roles and a in keys]
            if acc:
                issuers[lt.code] = (dept, acc[0])
                break
    fin = [keys[a] for a, _, roles in members if "finance" in roles and a in keys]
    if not fin:
        raise DemoError("this gateway holds no FINANCE key")
    return Cast(officers, reviewers, issuers, fin[0], added)


# ---------------------------------------------------------------------------- the load

@dataclass
class LoadResult:
    seconds: float
    phases: dict[str, float]
    figures: dict[str, Any]
    manifest: dict[str, Any]
    ids: dict[str, str]

    def report(self) -> dict[str, Any]:
        return {"seconds": round(self.seconds, 1), "phases": {k: round(v, 1) for k, v in self.phases.items()},
                **self.figures}


class Loader:
    def __init__(self, ctx: GatewayContext, demo: DemoPlan, progress: Callable[[str], None] | None = None,
                 keystore_dir: Path | None = None, passphrase: str | None = None, workers: int = 4):
        self.ctx, self.plan = ctx, demo
        self.clock = ChainClock(ctx)
        self.progress = progress or (lambda msg: log.info(msg))
        self.keystore_dir, self.passphrase = keystore_dir, passphrase
        self.ids: dict[str, str] = {}  # plan key -> product id
        self.firms = {f.uscc: f for f in demo.sample.firms}
        self.phases: dict[str, float] = {}
        self.outcome: Counter = Counter()
        self.d0 = 0
        self.workers = workers if self.clock.chain.kind == "anvil" else 1

    # ---------------------------------------------------------------- helpers

    def at(self, day: float) -> None:
        self.clock.advance_to(self.d0 + int(day * DAY))

    def _workdays_before_as_of(self, n: int) -> int:
        cal = applications.calendar(self.ctx)
        as_of = self.d0 + AS_OF_DAY * DAY
        d = cal.local_date(as_of)
        count = 0
        while count < n:
            d -= timedelta(days=1)
            if cal.is_workday(d):
                count += 1
        return max(int(datetime.combine(d, datetime.min.time(), tzinfo=CST).timestamp()) + 10 * 3600,
                   self.clock.now() + 1)

    def _phase(self, name: str, started: float) -> None:
        self.phases[name] = self.phases.get(name, 0.0) + time.monotonic() - started
        self.progress(f"{name}: {self.phases[name]:.1f}s")

    def _store(self, content: bytes, department: str, uploaded_by: str, name: str) -> str:
        return documents.store(self.ctx, content, media_type="application/pdf", filename=name,
                               department=notices.anchoring_department(self.ctx, department),
                               uploaded_by=uploaded_by)["sha256"]

    def app(self, key: str) -> str:
        return self.ids[key]

    def parallel(self, fn: Callable[[Any], Any], items: list[Any]) -> None:
        """Run ``fn`` over independent items (different enterprises' steps of one day) on ``workers``
        threads: the transaction manager allocates each account's nonces under its lock, so the sends of
        one signer interleave safely; eth-tester runs them one by one."""
        if self.workers <= 1 or len(items) < 2:
            for item in items:
                fn(item)
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(self.workers) as pool:
            for _ in pool.map(fn, items):
                pass

    # ---------------------------------------------------------------- run

    def run(self) -> LoadResult:
        with self.ctx.sessions() as s:
            if s.scalar(select(func.count()).select_from(SubsidyPolicy)):
                raise DemoError("the ledger already holds subsidy policies: load the demo into a new data directory")
        started = time.monotonic()
        self.d0 = self.clock.now()
        depts = sorted({p.department for p in self.plan.policies})
        t = time.monotonic()
        self.cast = cast(self.ctx, depts, self.keystore_dir, self.passphrase)
        self._phase("members", t)
        self.setup()
        self.publish()
        self.submit_main()
        self.review_main()
        self.notice(1, 5.0)
        self.objections()
        self.change_accounts(8.0)
        self.late_signoffs(12.0)
        self.pay(1, 15.0)
        self.registry_changes(18.0)
        self.use(1, 20.0)
        self.claw_back(25.0)
        self.notice(2, 30.0)
        self.pay(2, 40.0)
        self.use(2, 45.0)
        self.flows_and_performance(46.0)
        self.late_applications()
        self.notice(3, AS_OF_DAY - 1.0)
        self.recent_objections()
        t = time.monotonic()
        self.at(AS_OF_DAY)
        if self.ctx.batcher is not None:
            self.ctx.batcher.flush()
        self._phase("anchoring", t)
        seconds = time.monotonic() - started
        t = time.monotonic()
        figures = self.figures()
        self._phase("figures", t)
        as_of = applications.calendar(self.ctx).local_date(self.clock.now()).isoformat()
        self.tamper()
        manifest = demo_plan.manifest(self.plan, self.ids, as_of)
        manifest["load_seconds"] = round(seconds, 1)
        manifest["figures"] = figures
        return LoadResult(seconds, self.phases, figures, manifest, self.ids)

    # ---------------------------------------------------------------- day 0: district, licences, payees

    def setup(self) -> None:
        t = time.monotonic()
        firms = self.plan.sample.firms
        latest_year = max(y for f in firms for y in f.tax) if any(f.tax for f in firms) else None
        latest_month = max(m for f in firms for m in f.headcount) if any(f.headcount for f in firms) else None
        tax_rows = [r for r in sample_files.tax_rows(firms) if str(r[1]) == str(latest_year)]
        si_rows = [r for r in sample_files.si_rows(firms) if str(r[1]) == str(latest_month)]
        now = self.clock.now()
        for name, header, rows, dtype in (
                ("registry.csv", sample_files.REGISTRY_HEADER, sample_files.registry_rows(firms), "ENTERPRISE_REGISTRY"),
                ("tax.csv", sample_files.TAX_HEADER, tax_rows, "TAX_SUMMARY"),
                ("social_insurance.csv", sample_files.SI_HEADER, si_rows, "SOCIAL_INSURANCE")):
            self._ingest(name, header, rows, dtype, now)
        self._phase("oracle facts", t)
        t = time.monotonic()
        by_type: dict[str, list[licence_service.LicenceDraft]] = defaultdict(list)
        for f in firms:
            for lt in self.plan.licences[f.uscc]:
                by_type[lt].append(licence_service.LicenceDraft(
                    licence_type=lt, number=f"DEMO-{lt[:4]}-{f.uscc}", holder_uscc=f.uscc, holder_name=f.name,
                    valid_from="2024-01-01", valid_until="2034-12-31"))
        for lt, drafts in by_type.items():
            if lt not in self.cast.issuers:
                continue
            dept, account = self.cast.issuers[lt]
            for start in range(0, len(drafts), licence_service.MAX_BULK):
                licence_service.issue(self.ctx, account, dept, drafts[start:start + licence_service.MAX_BULK])
        self._phase("licences", t)
        t = time.monotonic()
        applying = {a.uscc for a in self.plan.applications}
        for uscc in sorted(applying):
            first = self.plan.payees[uscc][0]
            payouts.confirm_payee(self.ctx, uscc, first["account_no"], first["payee_name"], first["bank_name"],
                                  confirmed_by=uscc)
        for p in self.plan.policies:
            if p.draw:
                dept, officer = p.department, self.cast.officers[p.department]
                if draws.agencies(self.ctx, dept):
                    continue
                d = demo_plan.POLICY_DEPARTMENTS.index(dept) if dept in demo_plan.POLICY_DEPARTMENTS else 9
                for k, name in enumerate(("正信", "华兴", "致同", "立信", "天健", "中审")):
                    uscc = complete(f"9135010{d:02d}{k + 1:08d}")
                    draws.register_agency(self.ctx, officer, dept, f"福建{name}会计师事务所有限公司", uscc)
        self._phase("payees and agencies", t)

    def _ingest(self, name: str, header: list[str], rows: list[list[str]], dtype: str, observed: int) -> None:
        """Attest source rows through the oracle, in files of ``INGEST_LINES`` lines: the oracle sends 100
        facts per transaction, more than eth-tester's fixed 10M gas holds."""
        step = INGEST_LINES if self.clock.chain.kind == "memory" else 2000
        for n, start in enumerate(range(0, len(rows), step)):
            raw = sample_files.encode_csv(header, rows[start:start + step], "utf-8-sig")
            report = oracle_service.ingest(self.ctx.ledger, self.ctx.hmac_key, raw, f"demo-{n:03d}-{name}",
                                           data_type=dtype, observed_at=observed)
            if report.errors:
                raise DemoError(f"the oracle refused lines of the demo's {name}: {report.errors[:3]}")

    # ---------------------------------------------------------------- day 0: policies

    def _criteria(self, p: PolicyPlan, floor: int | None = None) -> dict[str, Any]:
        active = {"fact": "status", "op": "==", "value": "active"}
        if p.no_application:
            return {"all": [active, {"fact": "insured_headcount", "op": ">=", "value": 1}]}
        if p.narrow_usccs:
            names = [self.firms[u].name for u in p.narrow_usccs]
            return {"all": [active, {"fact": "name", "op": "in", "value": names}]}
        return {"all": [active, {"fact": "registered_capital_fen", "op": ">=",
                                 "value": p.capital_floor_fen if floor is None else floor}]}

    def _draft(self, p: PolicyPlan, legal_basis: str, opens_at: int, floor: int | None = None) -> policies.PolicyDraft:
        mats = [policies.MaterialSpec(code, MATERIALS[code][0], list(MATERIALS[code][1])) for code in p.materials]
        amount = {"kind": "fixed", "amount_fen": p.fixed_fen} if p.no_application else {"kind": "requested"}
        return policies.PolicyDraft(
            title=p.title, legal_basis_sha256=legal_basis, budget_fen=p.budget_fen, cap_fen=p.cap_fen,
            opens_at=opens_at, closes_at=opens_at + p.window_days * DAY, notice_workdays=p.notice_workdays,
            payout_deadline_workdays=15, criteria=self._criteria(p, floor), amount_rule=amount, materials=mats,
            no_application=p.no_application, document_date=self._document_date(p))

    def _document_date(self, p: PolicyPlan) -> str | None:
        if not p.document_days_before:
            return None
        published = applications.calendar(self.ctx).local_date(self.d0)
        return (published - timedelta(days=p.document_days_before)).isoformat()

    def publish(self) -> None:
        t = time.monotonic()
        # the window opens when the policy (and its guide) is published: a window opening before the guide is
        # the PUB1 alarm
        opens_at = self.opens_at = self.clock.now() + 1
        self.legal: dict[str, str] = {}
        for p in self.plan.policies:
            officer = self.cast.officers[p.department]
            text = f"{p.title}\n{p.department} 政策文件（演示数据）\n预算 {p.budget_fen / 100:.2f} 元".encode()
            self.legal[p.key] = self._store(text, p.department, officer.address, f"{p.key}.pdf")
            row = policies.publish(self.ctx, officer, p.department, self._draft(p, self.legal[p.key], opens_at))
            self.ids[p.key] = row.id
        self._phase("policies", t)

    # ---------------------------------------------------------------- day 1: applications

    def _requested(self, a: AppPlan) -> int:
        cap = self.plan.policy(a.policy).cap_fen
        return cap * -a.requested_fen // 100 if a.requested_fen < 0 else min(a.requested_fen, cap)

    def _submit(self, a: AppPlan) -> None:
        p = self.plan.policy(a.policy)
        held = set(self.plan.licences[a.uscc])
        uploads = {}
        for code in p.materials:
            if not set(MATERIALS[code][1]) & held:
                content = f"{MATERIALS[code][0]} {a.uscc} {a.key}（演示数据）".encode()
                uploads[code] = self._store(content, self.ctx.settings.gateway.service_department, a.uscc,
                                            f"{code}-{a.key}.pdf")
        row = applications.submit(self.ctx, a.uscc, self.ids[p.key], self._requested(a), declared=a.declared or None,
                                  uploads=uploads, project=a.project)
        self.ids[a.key] = row.id
        self.outcome["auto" if row.status == "approved" else "manual"] += 1

    def submit_main(self) -> None:
        t = time.monotonic()
        self.at(1.0)
        self.parallel(self._submit, [a for a in self.plan.applications
                                     if a.path != "enrolled" and a.submit_day == 1.0])
        for p in self.plan.policies:
            if not p.no_application:
                continue
            wanted = [a for a in self.plan.applications if a.policy == p.key]
            result = applications.enrol(self.ctx, self.cast.officers[p.department], self.ids[p.key],
                                        only=[a.uscc for a in wanted])
            by_uscc = {e["uscc"]: e["application_id"] for e in result["enrolled"]}
            for a in wanted:
                if a.uscc in by_uscc:
                    self.ids[a.key] = by_uscc[a.uscc]
                    self.outcome["enrolled"] += 1
        self._phase("applications", t)
        t = time.monotonic()
        self.at(1.5)
        for p in self.plan.policies:
            if p.draw and any(a.policy == p.key and a.key in self.ids for a in self.plan.applications):
                officer = self.cast.officers[p.department]
                subjects = [x.id for x in applications.of_policy(self.ctx, self.ids[p.key])
                            if x.status in draws.DRAWABLE]
                for a in self.plan.applications:  # REV3: drawn for on its own, its agency linked to it
                    if a.policy == p.key and a.draw_linked and self.ids.get(a.key) in subjects:
                        subjects.remove(self.ids[a.key])
                        done = draws.draw(self.ctx, officer, p.department, self.ids[p.key], 1, [self.ids[a.key]])
                        self._agency_shareholder(a, draws.get_agency(self.ctx, done.agency_id))
                if subjects:
                    draws.draw(self.ctx, officer, p.department, self.ids[p.key], min(3, len(subjects)), subjects)
        self._phase("draws", t)

    def _agency_shareholder(self, a: AppPlan, agency: Any) -> None:
        """REV3: the registry's next extract of the applicant lists the verification agency drawn for its
        application among its shareholders (a corporate shareholder, by USCC)."""
        row = self._with_shareholder(a.uscc, agency.name, agency.uscc)
        self._ingest("registry-agency-shareholder.csv", sample_files.REGISTRY_HEADER, [row], "ENTERPRISE_REGISTRY",
                     self.clock.now())

    def _with_shareholder(self, uscc: str, name: str, id_number: str) -> list[str]:
        """The firm's registry row with one more shareholder (``name|ID number or USCC``)."""
        row = sample_files.registry_rows([self.firms[uscc]])[0]
        col = sample_files.REGISTRY_HEADER.index("shareholders")
        row[col] = ";".join(x for x in (row[col], f"{name}|{id_number}") if x)
        return row

    # ---------------------------------------------------------------- days 2-12: review

    def _status(self, a: AppPlan) -> str:
        return applications.get(self.ctx, self.ids[a.key]).status

    def _review(self, a: AppPlan, level: int) -> None:
        p = self.plan.policy(a.policy)
        reviewer = self.cast.reviewers[p.department][level - 1]
        passed = a.reject_level != level
        # the reviewer opened the application before deciding (REV4 measures the time between): 45 minutes to
        # 4 hours earlier, or 2 minutes for the injected hurried review
        spent = 120 if a.quick_review and level == 1 else 45 * 60 + (int(a.key[1:]) * 37 + level * 11) % 195 * 60
        audit_data.open_for_review(self.ctx, reviewer.address, p.department, ("reviewer",),
                                   applications.get(self.ctx, self.ids[a.key]), "view", now=self.clock.now() - spent)
        amount = 0
        if passed:
            amount = min(self._requested(a) * a.approve_ratio_bp // 10000, p.cap_fen)
        opinion = ("同意，材料齐全，符合申报条件。" if passed else "不同意：经核查不符合申报条件。") + f"（{a.key}）"
        reviews.record(self.ctx, reviewer, p.department, self.ids[a.key], level, passed, amount, opinion)

    def review_main(self) -> None:
        t = time.monotonic()
        for level, day in ((1, 2.0), (2, 3.0), (3, 4.0)):
            self.at(day)
            due = [a for a in self.plan.applications
                   if a.key in self.ids and a.submit_day == 1.0 and a.review_days[level - 1] == day
                   and self._status(a) in ("submitted", "under_review")]
            self.parallel(lambda a, level=level: self._review(a, level), due)
            if level == 2:
                self.at(3.5)
                self.amend()
        self._phase("reviews", t)

    def late_signoffs(self, day: float) -> None:
        t = time.monotonic()
        self.at(day)
        for a in self.plan.applications:
            if a.key in self.ids and a.review_days[2] == day and self._status(a) in ("submitted", "under_review"):
                self._review(a, 3)
                a.notice_round = 2
        self._phase("reviews", t)

    def amend(self) -> None:
        for p in self.plan.policies:
            if p.amend_day is None:
                continue
            draft = self._draft(p, self.legal[p.key], self.opens_at, floor=p.capital_floor_fen * 11 // 10)
            policies.amend(self.ctx, self.cast.officers[p.department], self.ids[p.key], draft,
                           "申报条件调整：注册资本门槛上调10%")

    # ---------------------------------------------------------------- notices, objections

    def notice(self, round_: int, day: float) -> None:
        t = time.monotonic()
        self.at(day)
        groups: dict[tuple[str, int | None], list[str]] = defaultdict(list)
        wanted = ("noticed", "paid", "used", "clawed_back", "rejected")
        for a in self.plan.applications:
            if a.key not in self.ids or a.notice_round != round_ or a.stage not in wanted:
                continue
            if a.stage == "rejected" and a.objection != "upheld":
                continue
            if self._status(a) != "approved":
                continue
            groups[(a.policy, a.notice_workdays)].append(a.key)
        self.notices: dict[str, str] = getattr(self, "notices", {})
        for (pkey, days), keys in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
            p = self.plan.policy(pkey)
            for start in range(0, len(keys), notices.MAX_NOTICE):
                chunk = keys[start:start + notices.MAX_NOTICE]
                draft = notices.NoticeDraft(self.ids[pkey], [self.ids[k] for k in chunk],
                                            f"{p.title} 拟奖补名单公示（第{round_}轮）", days)
                row = notices.open_notice(self.ctx, self.cast.officers[p.department], p.department, draft)
                for k in chunk:
                    self.notices[k] = row.id
        self._phase("notices", t)

    def objections(self) -> None:
        t = time.monotonic()
        self.at(6.0)
        filed = {}
        for a in self.plan.applications:
            if a.objection and a.objection != "recent" and a.key in self.notices:
                filed[a.key] = notices.file_objection(
                    self.ctx, self.notices[a.key], self.ids[a.key], f"举报：{a.key} 申报材料与实际经营情况不符。",
                    kind="public", filed_by="demo-public")
        self.at(7.0)
        for a in self.plan.applications:
            if a.key in filed and a.objection in ("dismissed", "upheld"):
                p = self.plan.policy(a.policy)
                notices.answer_objection(self.ctx, self.cast.officers[p.department], p.department,
                                         self.notices[a.key], filed[a.key].number,
                                         "经核查，异议成立。" if a.objection == "upheld" else "经核查，异议不成立。",
                                         a.objection == "upheld")
        self._phase("objections", t)

    def recent_objections(self) -> None:
        for a in self.plan.applications:
            if a.objection == "recent" and a.key in self.notices:
                notices.file_objection(self.ctx, self.notices[a.key], self.ids[a.key],
                                       f"举报：{a.key} 实际经营地址与申报不符。", kind="public", filed_by="demo-public")

    # ---------------------------------------------------------------- payouts

    def change_accounts(self, day: float) -> None:
        self.at(day)
        for uscc, accounts in self.plan.payees.items():
            if len(accounts) > 1 and any(a.uscc == uscc for a in self.plan.applications):
                for acc in accounts[1:]:
                    payouts.confirm_payee(self.ctx, uscc, acc["account_no"], acc["payee_name"], acc["bank_name"],
                                          confirmed_by=uscc)

    def _bank(self, batch_id: str, failing: set[str], when: datetime) -> bytes:
        _control, lines = bankfiles.read_export(payouts.export_file(self.ctx, batch_id, "csv"))
        out = []
        for x in lines:
            line = {"line_no": x.line_no, "uscc": x.uscc, "payee_name": x.payee_name, "account_no": x.account_no,
                    "amount_fen": x.amount}
            if x.application_id in failing:
                line.update(status="failed", failure_reason="账户状态异常")
            else:
                line.update(status="paid", bank_reference=f"DEMO{batch_id[-10:]}{x.line_no:05d}", paid_at=when)
            out.append(line)
        return bankfiles.write_return(batch_id, out, "csv")

    def _return(self, batch_id: str, failing: set[str]) -> bool:
        """The bank's return file for a batch, imported; True when a line failed."""
        when = datetime.fromtimestamp(self.clock.now(), CST).replace(microsecond=0)
        raw = self._bank(batch_id, failing, when)
        payouts.import_return(self.ctx, self.cast.finance, raw, f"return-{batch_id}.csv")
        self.batches = getattr(self, "batches", []) + [batch_id]
        return any(x.status == "failed" for x in payouts.batch_lines(self.ctx, batch_id))

    def _export_and_return(self, app_ids: list[str], failing: set[str]) -> list[str]:
        """Export the lines in batches, send each batch's return file back; the batches with failed lines."""
        out = []
        # recordPayoutBatch records every line in one transaction: batches of BATCH_LINES lines stay well
        # inside a block's gas (30M on anvil; a 300-line batch does not fit)
        max_lines = min(self.ctx.settings.payouts.max_batch_lines, BATCH_LINES)
        for start in range(0, len(app_ids), max_lines):
            chunk = app_ids[start:start + max_lines]
            try:
                batch, _skipped = payouts.export_batch(self.ctx, self.cast.finance.address, application_ids=chunk)
            except notices.FundError as exc:
                raise DemoError(f"{exc.code}: {exc} {exc.details}") from None
            if self._return(batch.id, failing):
                out.append(batch.id)
        return out

    def pay(self, round_: int, day: float) -> None:
        t = time.monotonic()
        self.at(day)
        paying = [a for a in self.plan.applications if a.key in self.notices and a.notice_round == round_
                  and a.stage in ("paid", "used", "clawed_back", "noticed") and a.bank != "never"
                  and not (a.stage == "noticed" and a.bank == "paid")]
        payable = [a for a in paying if self._status(a) == "noticed" and a.objection != "open"]
        retried = [self.ids[a.key] for a in payable if a.bank == "failed_then_paid"]
        # lines that fail for good go in their own batch, so that re-exporting the others leaves them failed
        self._export_and_return([self.ids[a.key] for a in payable if a.bank == "failed"],
                                {self.ids[a.key] for a in payable if a.bank == "failed"})
        failed_batches = self._export_and_return([self.ids[a.key] for a in payable if a.bank != "failed"],
                                                 set(retried))
        self.at(day + 1)
        for batch_id in failed_batches:  # finance re-exports the failed lines to the bank; paid this time
            new, _skipped = payouts.reexport_failed(self.ctx, self.cast.finance.address, batch_id)
            self._return(new.id, set())
        self._phase("payouts", t)

    def registry_changes(self, day: float) -> None:
        t = time.monotonic()
        self.at(day)
        changed = [a for a in self.plan.applications if a.registry_change and a.key in self.ids]
        if changed:
            rows = []
            for a in changed:
                f = self.firms[a.uscc]
                row = sample_files.registry_rows([f])[0]
                header = sample_files.REGISTRY_HEADER
                if a.registry_change == "moved_out":
                    row[header.index("registered_district")] = "350103"
                else:
                    row[header.index("status")] = {"abnormal": "经营异常", "deregistered": "注销"}[a.registry_change]
                rows.append(row)
            self._ingest("registry-changes.csv", sample_files.REGISTRY_HEADER, rows, "ENTERPRISE_REGISTRY",
                         self.clock.now())
        self.reviewer_shareholders()
        self._phase("registry changes", t)

    def reviewer_shareholders(self) -> None:
        """REV2: a level-1 reviewer declares their identity (the keyed hash of their ID number), and the
        registry's next extract lists them among the shareholders of a firm whose application they passed."""
        rows = []
        for n, a in enumerate(x for x in self.plan.applications if x.shareholder_reviewer and x.key in self.ids):
            p = self.plan.policy(a.policy)
            reviewer = self.cast.reviewers[p.department][0]
            id_number = f"3501021980010{n:04d}X"
            audit_data.declare_identity(self.ctx, reviewer.address, p.department, ("reviewer",), reviewer.address,
                                        id_number, [])
            rows.append(self._with_shareholder(a.uscc, "林某某", id_number))
        if rows:
            self._ingest("registry-shareholders.csv", sample_files.REGISTRY_HEADER, rows, "ENTERPRISE_REGISTRY",
                         self.clock.now())

    # ---------------------------------------------------------------- use, claw-back

    def use(self, round_: int, day: float) -> None:
        t = time.monotonic()
        self.at(day)
        self.parallel(self._use, [a for a in self.plan.applications if a.stage in ("used", "clawed_back")
                                  and a.key in self.notices and a.notice_round == round_])
        self._phase("use", t)

    def _use(self, a: AppPlan) -> None:
        """One usage report of 80 % of what was paid, with its receipt uploaded by the enterprise."""
        rec = notices.on_chain_application(self.ctx, self.ids[a.key])
        if not rec["paid"]:
            return
        category = a.use_category or ("equipment", "research", "training")[int(a.key[1:]) % 3]
        amount = rec["paid"] * 80 // 100
        receipt = self._store(f"发票 {a.key} {category} {amount}（演示数据）".encode(),
                              self.ctx.settings.gateway.service_department, a.uscc, f"receipt-{a.key}.pdf")
        usage.report_use(self.ctx, a.uscc, usage.UseDraft(self.ids[a.key], category, amount,
                                                          f"{category} 支出（演示数据）", [receipt]))

    def claw_back(self, day: float) -> None:
        t = time.monotonic()
        self.at(day)
        for a in self.plan.applications:
            if (a.stage != "clawed_back" and a.clawback != "overdue") or a.key not in self.ids:
                continue
            rec = notices.on_chain_application(self.ctx, self.ids[a.key])
            if not rec["paid"]:
                continue
            p = self.plan.policy(a.policy)
            officer = self.cast.officers[p.department]
            amount = rec["paid"] // 3
            order = usage.order_claw_back(self.ctx, officer, p.department, self.ids[a.key], amount,
                                          "绩效目标未完成，按协议追回三分之一奖补资金（演示数据）")
            if a.clawback != "overdue":  # the overdue one is never refunded (USE4)
                usage.record_refund(self.ctx, officer, p.department, order.id, amount, f"RF{a.key}")
        self._phase("claw-backs", t)

    def flows_and_performance(self, day: float) -> None:
        """USE2: finance's bank statements (BANK_FLOW) of recipients' accounts; USE3: a policy's performance
        commitment and a firm's report against it."""
        t = time.monotonic()
        self.at(day)
        today = applications.calendar(self.ctx).local_date(self.clock.now())
        rows = []
        for a in self.plan.applications:
            if a.flow_to and a.key in self.ids:
                paid = notices.on_chain_application(self.ctx, self.ids[a.key])["paid"]
                if not paid:
                    continue
                b = self.plan.app(a.flow_to)
                rows.append([a.uscc, f"FLOW{a.key}", self.plan.payees[a.uscc][-1]["account_no"], today.isoformat(),
                             f"{paid // 2 / 100:.2f}", "transfer", self.plan.payees[b.uscc][-1]["account_no"], ""])
        if rows:
            header = [c.name for c in bank_flow.COLUMNS]  # the adapter's canonical columns, in its order
            self._ingest("bank-flow.csv", header, rows, "BANK_FLOW", self.clock.now())
        for a in self.plan.applications:
            if a.performance is None or a.key not in self.ids:
                continue
            p = self.plan.policy(a.policy)
            officer = self.cast.officers[p.department]
            due = today + timedelta(days=AS_OF_DAY + 60 - int(day))
            audit_data.set_commitment(self.ctx, officer.address, p.department, self.ids[p.key], "jobs",
                                      "新增就业岗位（演示数据）", 100, due.isoformat(),
                                      (due + timedelta(days=730)).isoformat())
            audit_data.report_performance(self.ctx, a.uscc, self.ids[a.key], "jobs", a.performance,
                                          "新增就业岗位完成情况（演示数据）")
        self._phase("flows and performance", t)

    def tamper(self) -> None:
        """REV6: a row of the gateway's database edited by hand (the approved amount), as an insider would."""
        from sqlalchemy import update

        keys = [self.ids[a.key] for a in self.plan.applications if a.tamper and a.key in self.ids]
        if keys:
            with self.ctx.sessions() as s, s.begin():
                s.execute(update(SubsidyApplication).where(SubsidyApplication.id.in_(keys))
                          .values(approved_fen=SubsidyApplication.approved_fen + 100000))

    # ---------------------------------------------------------------- late applications

    def late_applications(self) -> None:
        t = time.monotonic()
        late = sorted([a for a in self.plan.applications if a.submit_day < 0], key=lambda a: a.submit_day)
        lapsing = [a for a in late if a.licence_lapse]
        days = {int(-a.submit_day) for a in late} | {wd for a in lapsing for wd in a.licence_lapse if wd}
        for wd in sorted(days, reverse=True):
            self.clock.advance_to(self._workdays_before_as_of(wd))
            for a in late:
                if int(-a.submit_day) != wd:
                    continue
                self._submit(a)
                if a.review_days[0] == -2.0 and self._status(a) == "submitted":
                    self._review(a, 1)
            for a in lapsing:
                if a.licence_lapse[0] == wd:
                    self._revoke_material_licence(a)
                elif a.licence_lapse[1] == wd:
                    self._resupply(a)
        self._phase("late applications", t)

    def _lapsed_material(self, a: AppPlan) -> dict[str, Any]:
        """The application's licence-backed material to lapse: one whose licence is not the business licence
        when there is one (its other standing is untouched)."""
        items = [m for m in materials.material_items(self.ctx, self.ids[a.key]) if m["satisfied_by"] == "licence"]
        if not items:
            raise DemoError(f"application {a.key} has no licence-backed material to lapse")
        return next((m for m in items if m["licence_type"] != "BUSINESS_LICENCE"), items[0])

    def _revoke_material_licence(self, a: AppPlan) -> None:
        """APP1: the issuing department revokes the licence standing in for one of the application's materials
        while it awaits review (reason code 3)."""
        m = self._lapsed_material(a)
        _, account = self.cast.issuers[m["licence_type"]]
        licence_service.revoke(self.ctx, account, m["licence_id"], 3)

    def _resupply(self, a: AppPlan) -> None:
        """APP1: the enterprise re-supplies the lapsed material by upload."""
        m = self._lapsed_material(a)
        content = f"{m['name']} {a.uscc} {a.key}（补交，演示数据）".encode()
        sha = self._store(content, self.ctx.settings.gateway.service_department, a.uscc, f"{m['code']}-{a.key}-2.pdf")
        materials.resupply(self.ctx, a.uscc, self.ids[a.key], m["code"], sha)

    # ---------------------------------------------------------------- figures

    def figures(self) -> dict[str, Any]:
        saved = materials.saved(self.ctx)
        stages = {"budget": 0, "approved": 0, "noticed": 0, "paid": 0, "used": 0, "clawed_back": 0}
        reconciled = 0
        for p in self.plan.policies:
            tr = trace.policy_trace(self.ctx, self.ids[p.key])
            for st in tr["stages"]:
                value = st.get("events_fen") if st["stage"] != "budget" else st["contract_fen"]
                stages[st["stage"]] += int(value or 0)
            reconciled += bool(tr["reconciled"])
        with self.ctx.sessions() as s:
            statuses = dict(s.execute(select(SubsidyApplication.status, func.count())
                                      .group_by(SubsidyApplication.status)).all())
            paths = dict(s.execute(select(SubsidyApplication.path, func.count())
                                   .group_by(SubsidyApplication.path)).all())
        return {"policies": len(self.plan.policies), "applications": sum(statuses.values()),
                "statuses": statuses, "paths": paths,
                "materials": {k: saved[k] for k in ("applications", "materials_required", "materials_by_licence",
                                                    "materials_uploaded", "saved_ratio")},
                "amounts_fen": stages,
                "amounts_yuan": {k: f"{v / 100:,.2f}" for k, v in stages.items()},
                "policies_reconciled": reconciled,
                "members_added": self.cast.added_members,
                "chain_time": self.clock.now()}


def load(ctx: GatewayContext, policies_n: int = 170, applications_n: int = 5000, seed: int = 7,
         out: Path | None = None, progress: Callable[[str], None] | None = None, keystore_dir: Path | None = None,
         passphrase: str | None = None, departments: tuple[str, ...] | None = None, workers: int = 4) -> LoadResult:
    """Plan and load the demo; write ``demo_anomalies.json`` into ``out`` when given."""
    t = time.monotonic()
    demo = demo_plan.build(policies_n, applications_n, seed, departments or demo_plan.POLICY_DEPARTMENTS)
    planned = time.monotonic() - t
    result = Loader(ctx, demo, progress, keystore_dir, passphrase, workers).run()
    result.phases = {"plan": planned, **result.phases}
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "demo_anomalies.json").write_text(demo_plan.dumps(result.manifest), encoding="utf-8")
    return result
