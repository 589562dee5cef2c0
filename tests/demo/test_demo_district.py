"""The demo's firms are registered in the oracle sample's district: loading the demo sets ``[audit] district``
when the operator left it unset, so that PAY4 can tell a firm registered elsewhere; a set one is kept."""

from __future__ import annotations

from dataclasses import replace

from chain.config import Settings, load_settings, render_config
from gateway.cli import _demo_district
from oracle.sample import DEFAULT_DISTRICT


def test_an_unset_district_becomes_the_demo_s_and_is_written_to_the_config(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path)
    settings.config_file.write_text(render_config(settings), encoding="utf-8")
    assert load_settings(tmp_path).audit.district == ""
    changed = _demo_district(settings)
    assert changed.audit.district == DEFAULT_DISTRICT[0]
    assert load_settings(tmp_path).audit.district == DEFAULT_DISTRICT[0]  # what the next start reads


def test_a_configured_district_is_left_alone(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path)
    settings = replace(settings, audit=replace(settings.audit, district="330106"))
    settings.config_file.write_text(render_config(settings), encoding="utf-8")
    assert _demo_district(settings).audit.district == "330106"
    assert load_settings(tmp_path).audit.district == "330106"
