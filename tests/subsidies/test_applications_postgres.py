"""The subsidy flow on PostgreSQL: publish, apply (秒批), review a manual application to approval,
the materials-saved figure — the same services over the production database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import migrated_database
from tests.subsidies.conftest import SubsidyGateway, build_subsidy_gateway


@pytest.fixture(scope="module", params=["postgres"])
def pg(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SubsidyGateway]:
    directory = tmp_path_factory.mktemp("subsidies-pg")
    for url in migrated_database(request, directory):
        yield from build_subsidy_gateway(url, directory)


def test_publish_apply_review_on_postgres(pg) -> None:
    policy = pg.publish()
    _, auto = pg.applicant()
    assert pg.applied(policy["id"], auto)["path"] == "auto"
    _, manual = pg.applicant()
    app = pg.applied(policy["id"], manual, declared={"legal_representative": "钱七"})
    assert app["path"] == "manual"
    for level in (1, 2, 3):
        response = pg.client.post(f"/subsidies/applications/{app['id']}/reviews",
                                  json={"level": level, "passed": True, "amount_fen": 100_000_00, "opinion": "同意"},
                                  headers=pg.member(f"SCITECH-rev{level}"))
        assert response.status_code == 201, response.text
    assert response.json()["status"] == "approved"
    saved = pg.client.get(f"/subsidies/materials/saved?policy_id={policy['id']}",
                          headers=pg.member("APPROVAL-admin")).json()
    assert (saved["materials_required"], saved["materials_by_licence"], saved["saved_ratio"]) == (6, 4, 0.6667)
