"""Synthetic source files for one district, with labelled anomalies (ground truth for the audit).

Run ``python -m oracle.sample --enterprises 3000 --out DIR --anomalies 0.1 --seed 7 [--broken N]``.
It writes, deterministically for a seed:

=========================  ==================================================================
``registry.csv``           market-regulation export (:mod:`oracle.adapters.registry` layout; status in Chinese)
``registry.json``          the same enterprises as JSON (status in English)
``tax.csv``                two tax years before the as-of year (:mod:`oracle.adapters.tax`)
``social_insurance.csv``   the 12 months before the as-of month (:mod:`oracle.adapters.social_insurance`)
``payout_batch.csv``       finance's export of one payout batch (the first six return-file columns)
``bank_return.csv``        the bank's return file for it (:mod:`oracle.adapters.bank_return`)
``declarations.json``      what each firm would declare when applying, its payee account and, for
                           firms in the batch, the approved amount
``anomalies.json``         ground truth: labels (uscc, kind, points, level, detail), clusters, the
                           payout batch's failed lines and the broken lines (file, line_no, kind)
=========================  ==================================================================

CSV files are UTF-8 with a BOM unless ``--encoding`` says otherwise (``utf-8`` or ``gb18030``).
Names, addresses and scopes come from :mod:`oracle.sample.words`; the anomalies are described in
:mod:`oracle.sample.anomalies`.
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from oracle.sample import files
from oracle.sample.anomalies import Injector, Truth
from oracle.sample.firms import Firm, FirmFactory
from oracle.sample.payout import PayoutLine, build_batch

__all__ = ["Sample", "generate", "write", "main"]

DEFAULT_AS_OF = date(2026, 6, 30)
DEFAULT_DISTRICT = ("350102", "福州市鼓楼区")


@dataclass
class Sample:
    """A generated district, in memory."""

    seed: int
    share: float
    as_of: date
    district: str
    firms: list[Firm]
    truth: Truth
    batch_id: str
    payout: list[PayoutLine]


def generate(enterprises: int, share: float = 0.1, seed: int = 7, *, as_of: date = DEFAULT_AS_OF,
             district: str = DEFAULT_DISTRICT[0], district_name: str = DEFAULT_DISTRICT[1],
             batch_size: int = 200) -> Sample:
    """Firms, injected anomalies and a payout batch; the same arguments give the same sample."""
    if enterprises < 1:
        raise ValueError("need at least one enterprise")
    rng = random.Random(seed)
    factory = FirmFactory(rng, as_of, district, district_name)
    firms = [factory.firm() for _ in range(enterprises)]
    truth = Injector(factory).inject(firms, share)
    batch_id, payout = build_batch(rng, firms, truth, batch_size, as_of)
    return Sample(seed, share, as_of, district, firms, truth, batch_id, payout)


def declaration(firm: Firm, approved: int | None) -> dict[str, object]:
    """What the firm would declare in an application (official values unless an anomaly overrides them)."""
    d = firm.declared
    year = max(firm.tax) if firm.tax else None
    month = max(firm.headcount) if firm.headcount else None
    tax = firm.tax.get(year) if year else None

    def money(key: str, official: int | None) -> str | None:
        value = d.get(key, official)
        return None if value is None else files.yuan(int(value))  # type: ignore[arg-type]

    return {
        "uscc": firm.uscc, "name": d.get("name", firm.name),
        "legal_representative": d.get("legal_representative", firm.legal_rep.name),
        "registered_capital_yuan": money("registered_capital", firm.capital),
        "address": d.get("address", firm.address), "business_scope": d.get("business_scope", firm.scope),
        "phone": firm.phone, "submit_ip": firm.ip,
        "figures_year": year, "revenue_yuan": money("revenue", tax.revenue if tax else None),
        "tax_paid_yuan": money("tax_paid", tax.tax_paid if tax else None),
        "staff_month": month, "staff": d.get("staff", firm.headcount[month] if month else None),
        "bank_account": {"account_no": firm.account_no, "holder_name": firm.account_holder,
                         "holder_type": firm.holder_type, "since": firm.account_since.isoformat()},
        "approved_amount_yuan": None if approved is None else files.yuan(approved),
    }


def write(sample: Sample, out: str | Path, *, broken: int = 0, encoding: str = "utf-8-sig") -> dict[str, Path]:
    """Write the files into ``out`` (created if needed); returns them by name."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"broken:{sample.seed}:{broken}")
    plan = files.plan_broken(broken)
    tables = {
        "registry.csv": (files.REGISTRY_HEADER, files.registry_rows(sample.firms)),
        "tax.csv": (files.TAX_HEADER, files.tax_rows(sample.firms)),
        "social_insurance.csv": (files.SI_HEADER, files.si_rows(sample.firms)),
        "bank_return.csv": (list(files.RETURN_HEADER), files.return_rows(sample.batch_id, sample.payout)),
        "payout_batch.csv": (files.BATCH_HEADER, files.batch_rows(sample.batch_id, sample.payout)),
    }
    written: dict[str, Path] = {}
    broken_lines: list[dict[str, object]] = []
    for name, (header, rows) in tables.items():
        if plan.get(name):
            rows, where = files.insert_broken(rng, name, header, rows, plan[name])
            broken_lines += where
        written[name] = out / name
        written[name].write_bytes(files.encode_csv(header, rows, encoding))
    written["registry.json"] = out / "registry.json"
    written["registry.json"].write_bytes(files.registry_json(sample.firms))
    approvals = {line.firm.uscc: line.approved for line in sample.payout}
    written["declarations.json"] = out / "declarations.json"
    files.write_json(written["declarations.json"],
                     [declaration(f, approvals.get(f.uscc)) for f in sample.firms])
    truth = sample.truth
    written["anomalies.json"] = out / "anomalies.json"
    files.write_json(written["anomalies.json"], {
        "generator": "oracle.sample", "seed": sample.seed, "as_of": sample.as_of.isoformat(),
        "district": sample.district, "enterprises": len(sample.firms), "anomaly_share": sample.share,
        "anomalous_enterprises": len(truth.anomalous),
        "labels": [vars(label) for label in truth.labels],
        "clusters": truth.clusters,
        "payout": {"batch_id": sample.batch_id, "lines": len(sample.payout),
                   "failed_lines": [x.line_no for x in sample.payout if x.status == "failed"]},
        "broken_lines": broken_lines,
        "normal_firms": {"status": "active", "registered_district": sample.district, "min_age_days": 730,
                         "min_insured_staff": 3, "min_tax_paid_yuan": 20000, "declared": "equal to official",
                         "account": "own enterprise account, unchanged for at least 365 days",
                         "shared_values": "none (addresses, phones, IPs, accounts, controllers all distinct)"},
    })
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m oracle.sample", description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=3000)
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--anomalies", type=float, default=0.1, help="share of anomalous enterprises (0-1)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--broken", type=int, default=0, help="number of deliberately broken lines")
    parser.add_argument("--as-of", type=date.fromisoformat, default=DEFAULT_AS_OF, help="reference date")
    parser.add_argument("--district", default=DEFAULT_DISTRICT[0], help="6-digit division code")
    parser.add_argument("--district-name", default=DEFAULT_DISTRICT[1])
    parser.add_argument("--batch-size", type=int, default=200, help="firms in the payout batch")
    parser.add_argument("--encoding", choices=("utf-8-sig", "utf-8", "gb18030"), default="utf-8-sig")
    args = parser.parse_args(argv)
    sample = generate(args.enterprises, args.anomalies, args.seed, as_of=args.as_of, district=args.district,
                      district_name=args.district_name, batch_size=args.batch_size)
    written = write(sample, args.out, broken=args.broken, encoding=args.encoding)
    print(f"{len(sample.firms)} enterprises, {len(sample.truth.anomalous)} anomalous, "
          f"{len(sample.payout)} payout lines; wrote {', '.join(sorted(written))} to {args.out}")
    return 0
