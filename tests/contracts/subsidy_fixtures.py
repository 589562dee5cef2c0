"""Fixtures of the subsidy contract tests: the subsidy alliance and its contracts, deployed once per
test module (import them into a test module to use them)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contracts.conftest import SubsidyFlow, bootstrap_subsidy_registry, deploy_subsidy, subsidy_people


@pytest.fixture(scope="module")
def people(accounts: list[str]) -> dict[str, str]:
    return subsidy_people(accounts)


@pytest.fixture(scope="module")
def registry(w3, people):
    """Overrides the conftest registry: the subsidy alliance."""
    return bootstrap_subsidy_registry(w3, people)


@pytest.fixture(scope="module")
def module_contracts(w3, registry, people) -> dict[str, Any]:
    return deploy_subsidy(w3, registry, people)


@pytest.fixture
def ledger(module_contracts):
    return module_contracts["ledger"]


@pytest.fixture
def holds(module_contracts):
    return module_contracts["holds"]


@pytest.fixture
def flow(w3, module_contracts, people) -> SubsidyFlow:
    return SubsidyFlow(w3, module_contracts["ledger"], module_contracts["holds"], people)
