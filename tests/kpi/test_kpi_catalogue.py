"""The indicator catalogue: it loads, carries every numeric target of the plan (PLAN-MAP's list) with the plan's own
words, names only registered computed sources, and a wrong file is refused with every problem listed."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smartcity.cli import app as cli
from smartcity.kpi import catalogue, computed

ROOT = Path(__file__).resolve().parents[2]
PLAN_TEXT = ROOT.parent / "shared" / "seed" / "000_2900ec7795e573c3.txt"

# Every numeric target at the end of PLAN-MAP.md: (indicator, comparison, target in the catalogue's unit).
PLAN_MAP_TARGETS = [
    ("ftth_households", "at_least", 650),  # FTTH ≥ 6.5 M households (万户)
    ("ngb_upgraded_users", "at_least", 490),  # NGB upgrade 4.9 M cable users
    ("suburban_digital_tv", "at_least", 180),  # 1.8 M suburban digital TV users
    ("household_bandwidth", "at_least", 20),  # average household access 20 Mbps
    ("access_100mbps_coverage", "at_least", 100),  # 100 Mbps access capability everywhere
    ("internet_egress_international", "at_least", 1),  # 1 Tbps
    ("internet_egress_domestic", "at_least", 5),  # 5 Tbps
    ("submarine_cable_capacity", "at_least", 10),  # 10 Tbps
    ("wlan_sites", "more_than", 22_000),  # > 22,000 sites
    ("wlan_access_points", "about", 130_000),  # ~130,000 APs
    ("wlan_key_place_coverage", "more_than", 80),  # ≥ 80 % of key places at 20 Mbps (the plan: 超过80%)
    ("wireless_rate_citywide", "at_least", 1),  # 3G ≥ 1 Mbps city-wide
    ("wireless_rate_downtown", "at_least", 3),  # ≥ 3 Mbps downtown and new towns
    ("idc_racks", "more_than", 20_000),  # IDC racks > 20,000
    ("ii_integration_index", "at_least", 80),  # informatisation–industrialisation index 80
    ("ecommerce_turnover", "at_least", 8_500),  # 850 bn RMB (亿元)
    ("info_industry_scale", "at_least", 12_800),  # 1.28 tn RMB
    ("info_services_gdp_share", "at_least", 6.2),  # 6.2 % of GDP
    ("software_revenue", "more_than", 2_100),  # > 210 bn RMB
    ("ic_industry_scale", "at_least", 850),  # 85 bn RMB
    ("gov_sites_accessible", "at_least", 50),  # 50 % of government websites at level 1
    ("parallel_approvals_online", "at_least", 100),  # 100 % of parallel approvals online
    ("gov_sites_real_name", "more_than", 500),  # 500+ websites with real-name certification
    ("security_officers_retrained", "at_least", 1_000),  # 1,000 security officers retrained
    ("ecommerce_model_enterprises", "about", 50),  # ~50 e-commerce model enterprises
    ("ecommerce_clusters", "about", 10),  # ~10 clusters
    ("basic_software_pilot_firms", "at_least", 150),  # 150 basic-software pilot firms
    ("basic_software_model_projects", "at_least", 15),  # 15 model projects
    ("industry_software_solutions", "about", 20),  # 20 industry software solutions
    ("disaster_backup_units", "at_least", 50),  # 50 municipal units with disaster backup
    ("district_internet_exits", "at_most", 3),  # district Internet exits ≤ 3
    ("municipal_internet_exits", "at_most", 5),  # municipal ≤ 5
]
COMPUTED = {"case_on_time_closure_rate", "hotline_satisfaction_rate", "stops_realtime_share",
            "sensor_district_coverage", "traffic_index_city", "warnings_published"}  # fmt: skip


def _document() -> dict:
    return json.loads(catalogue.CATALOGUE_FILE.read_text(encoding="utf-8"))


def test_every_plan_map_target_is_in_the_catalogue() -> None:
    found = catalogue.load()
    for code, op, target in PLAN_MAP_TARGETS:
        item = found.get(code)
        assert (item.target_op, item.target, item.target_year) == (op, target, 2013), code
        assert item.is_entered and item.direction in ("higher", "lower")
        assert item.name.zh and item.name.en and item.definition.zh and item.definition.en
    assert len(PLAN_MAP_TARGETS) == 32


def test_plan_map_lists_what_the_test_checks() -> None:
    plan_map = ROOT.parent / "shared" / "seed" / "PLAN-MAP.md"
    if not plan_map.exists():
        pytest.skip("the shared seed (../shared/seed) is not beside this checkout")
    targets = plan_map.read_text(encoding="utf-8").split("## The plan's own numeric targets")[1]
    for figure in ("6.5 M", "4.9 M", "1.8 M", "20 Mbps", "100 Mbps", "1 Tbps / 5 Tbps", "10 Tbps", "22,000",
                   "130,000", "80 %", "1 Mbps", "3 Mbps", "20,000", "index 80", "850 billion", "1.28 trillion",
                   "6.2 %", "210 billion", "85 billion", "50 %", "100 %", "500+", "1,000", "~50", "~10 clusters",
                   "150 basic", "15 model", "20 industry", "50 municipal", "≤ 3", "≤ 5"):  # fmt: skip
        assert figure in targets, figure


def test_the_plans_words_are_quoted_exactly_from_the_plan() -> None:
    if not PLAN_TEXT.exists():
        pytest.skip("the plan's text (../shared/seed) is not beside this checkout")
    text = PLAN_TEXT.read_text(encoding="utf-8")
    missing = [i.code for i in catalogue.load().indicators.values() if i.quote not in text]
    assert missing == []


def test_computed_indicators_name_registered_sources_and_have_no_invented_target() -> None:
    found = catalogue.load()
    computed_ones = {i.code for i in found.indicators.values() if not i.is_entered}
    assert computed_ones == COMPUTED
    for code in COMPUTED:
        item = found.get(code)
        assert item.computed in computed.SOURCES and item.target is None and item.headline
    assert found.get("stops_realtime_share").refs[0].code == "EC:ICT:T:1C"  # domain-standards §7.5
    assert found.get("traffic_index_city").refs[0].code == "L1P2-A1"


def test_sections_and_filters() -> None:
    found = catalogue.load()
    assert {i.section for i in found.indicators.values()} <= set(found.sections)
    egress = {i.code for i in found.filtered(section="§1.3")}
    assert {"internet_egress_international", "household_bandwidth", "ecommerce_turnover"} <= egress  # also_in
    assert {i.code for i in found.filtered(source="computed")} == COMPUTED
    assert not {i.code for i in found.filtered(source="entered")} & COMPUTED


def test_a_bad_file_is_refused_with_every_problem_listed() -> None:
    document = copy.deepcopy(_document())
    first, second, third = document["indicators"][:3]
    first["direction"] = "up"
    second["unit"] = "furlongs"
    second["target_op"] = "at_most"  # disagrees with higher is better
    third["code"] = first["code"]
    document["indicators"][3]["target_year"] = None  # target without a year
    document["indicators"][4]["source"] = "guessed"
    document["indicators"][5]["refs"] = [{"framework": "ISO 9999", "code": "x", "name": "n", "relation": "same",
                                          "confidence": "P"}]  # fmt: skip
    with pytest.raises(catalogue.CatalogueError) as refused:
        catalogue.parse(document)
    problems = "\n".join(refused.value.problems)
    expected_problems = (
        "direction: must be one of",
        "unit: 'furlongs'",
        "does not agree with direction",
        "is used twice",
        "go together",
        "source: must be 'entered'",
        "framework: must be one of",
    )
    for expected in expected_problems:
        assert expected in problems, expected
    assert len(refused.value.problems) >= 7


def test_format_number() -> None:
    assert catalogue.format_number(12800) == "12,800"
    assert catalogue.format_number(6.2) == "6.2"
    assert catalogue.format_number(6.25) == "6.25"
    assert catalogue.format_number(None) == "—"


def test_the_check_command_lists_the_catalogue() -> None:
    result = CliRunner().invoke(cli, ["kpi", "check"])
    assert result.exit_code == 0, result.output
    assert "ftth_households" in result.output and "41 indicators" in result.output
