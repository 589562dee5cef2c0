"""Notice, payout batch (XLSX), return import, use report and trace on PostgreSQL — the same services
over the production database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.subsidies import bankfiles as bf
from tests.conftest import migrated_database
from tests.subsidies.conftest import SubsidyGateway, build_subsidy_gateway
from tests.subsidies.funds_support import (INSPECTOR, bank_return, batch_file, export, noticed_and_ended,
                                           upload_return)


@pytest.fixture(scope="module", params=["postgres"])
def pg(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SubsidyGateway]:
    directory = tmp_path_factory.mktemp("funds-pg")
    for url in migrated_database(request, directory):
        yield from build_subsidy_gateway(url, directory)


def test_notice_payout_use_and_trace_on_postgres(pg: SubsidyGateway) -> None:
    policy_id, apps, _ = noticed_and_ended(pg, [70_000_00, 30_000_00])
    batch = export(pg, policy_id=policy_id)["batch"]
    _, lines = bf.read_export(batch_file(pg, batch["batch_id"], "xlsx"), "batch.xlsx")
    raw = bf.write_return(batch["batch_id"], bank_return(lines, batch["batch_id"], failed={2: "账户冻结"}), "xlsx")
    response = upload_return(pg, raw, "return.xlsx")
    assert response.status_code == 200, response.text
    assert response.json()["paid_total_fen"] == 70_000_00
    app, _uscc, headers = apps[0]
    receipt = pg.upload(headers)
    response = pg.client.post("/funds/use-reports", json={"application_id": app, "category": "rent",
                                                          "amount_fen": 20_000_00, "description": "厂房租金",
                                                          "receipts": [receipt]}, headers=headers)
    assert response.status_code == 201, response.text
    trace = pg.client.get(f"/funds/trace/policies/{policy_id}", headers=pg.member(INSPECTOR)).json()
    stages = {s["stage"]: s for s in trace["stages"]}
    assert trace["reconciled"] is True
    assert (stages["paid"]["gateway_fen"], stages["used"]["gateway_fen"]) == (70_000_00, 20_000_00)
    reexport = pg.client.post(f"/funds/payouts/batches/{batch['batch_id']}/reexport",
                              headers=pg.member("FINANCE-admin"))
    assert reexport.status_code == 201 and reexport.json()["batch"]["total_fen"] == 30_000_00
