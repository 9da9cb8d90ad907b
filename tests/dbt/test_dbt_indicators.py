"""dbt build over the hand-made scenario of dbt_scenario.py, checked against answers worked
out by hand from docs/indicators.md. One build per as-of date (see conftest.py)."""

from __future__ import annotations

import csv
import datetime as dt

import pytest

from core.dbt_project import DBT_PROJECT_DIR

PARTNER_RETURN_CODES = [
    "RR_EMPLOYMENT",
    "RR_ACCOMMODATION",
    "RR_IOM_PROLIFIC",
    "RR_IOM_HCCU",
    "RR_IOM_DA",
    "RR_IOM_GANG",
    "GY_GANG_REFERRALS",
    "GY_CRISIS_CALLOUTS",
    "GY_YOUTH_FTE",
    "VA_COURT_PERPETRATORS",
    "VA_PROSECUTION_SUCCESS",
]


def catalogue_codes() -> list[str]:
    """The indicator codes of the seed catalogue, read as a user would read the file."""
    with (DBT_PROJECT_DIR / "seeds" / "indicators.csv").open(newline="") as handle:
        return [row["code"] for row in csv.DictReader(handle)]


# --- shape of fct_indicator_quarter ------------------------------------------------------------


def test_one_row_per_indicator_and_reported_quarter(warehouse):
    # every catalogue indicator x 9 quarters: 2012/13 Q3 (first MoJ table) .. 2014/15 Q3
    # (holds as_of);
    # the rejected police file for 2011-01 does not extend the span.
    quarters = [
        q
        for (q,) in warehouse.rows(
            "select distinct fiscal_quarter from fct_indicator_quarter order by 1"
        )
    ]
    assert quarters[0] == "2012/13 Q3" and quarters[-1] == "2014/15 Q3" and len(quarters) == 9
    assert (
        warehouse.one("select count(*) from fct_indicator_quarter")[0] == len(catalogue_codes()) * 9
    )
    assert warehouse.one(
        "select count(distinct la_code), min(la_code) from fct_indicator_quarter"
    ) == (1, "E08000031")


def test_catalogue_includes_partner_returns(warehouse):
    codes = [
        code for (code,) in warehouse.rows("select indicator_code from dim_indicator order by 1")
    ]
    assert codes == sorted(catalogue_codes())
    assert set(PARTNER_RETURN_CODES) <= set(codes)
    row = warehouse.one(
        "select owner, unit, aggregation, target from dim_indicator "
        "where indicator_code = 'RR_EMPLOYMENT'"
    )
    assert row == ("probation", "percent", "ratio", 45.0)


@pytest.mark.parametrize("code", PARTNER_RETURN_CODES)
def test_partner_return_indicators_not_expected_until_first_delivery(warehouse, code):
    row = warehouse.indicator(code, "2014/15 Q2")
    assert row["data_status"] == "not_expected"
    assert row["value"] is None and row["rag_status"] is None
    assert row["status_note"] == "partner_returns has never delivered"


# --- police_crime ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, quarter, value",
    [
        ("PV_PPV", "2013/14 Q1", 2),  # C01 street, C04 licensed premises; C02 is a dwelling
        ("PV_PPV", "2014/15 Q1", 3),  # C11, C18, C19; C13 dwelling, C14 cancelled, C15 reclassified
        ("PV_PPV", "2014/15 Q2", 3),  # C21, C22, C23; C24 only in the superseded September file
        ("VA_DA_CRIMES", "2013/14 Q1", 1),
        (
            "VA_DA_CRIMES",
            "2014/15 Q1",
            2,
        ),  # C12 (violence without injury counts), C13 (dwelling counts)
        ("VA_DA_CRIMES", "2014/15 Q2", 1),
        ("GY_KNIFE_FIREARM", "2013/14 Q1", 2),  # knife C03, firearm C04
        (
            "GY_KNIFE_FIREARM",
            "2014/15 Q1",
            2,
        ),  # C17, C20; C16's knife flag corrected in the June file
        ("GY_KNIFE_FIREARM", "2014/15 Q2", 1),
    ],
)
def test_police_indicators(warehouse, code, quarter, value):
    row = warehouse.indicator(code, quarter)
    assert row["data_status"] == "ok"
    assert row["value"] == value
    assert row["numerator"] is None and row["denominator"] is None


def test_fct_crime_holds_latest_counted_rows(warehouse):
    refs = {r for (r,) in warehouse.rows("select crime_reference from fct_crime")}
    assert "C14" not in refs  # cancelled in a later file
    assert "C24" not in refs  # only in the superseded delivery
    c15 = warehouse.one(
        "select ho_class, is_ppv, fiscal_quarter from fct_crime where crime_reference = 'C15'"
    )
    assert c15 == ("105A", False, "2014/15 Q1")
    # Latest period wins over later arrival: the May re-send does not undo June's correction.
    assert warehouse.one(
        "select is_knife_or_firearm from fct_crime where crime_reference = 'C16'"
    ) == (False,)
    # Every figure traces to its delivery: C23 comes from the revised September file.
    from dbt_scenario import POLICE_SEP_REVISED

    assert warehouse.one("select delivery_id from fct_crime where crime_reference = 'C23'") == (
        POLICE_SEP_REVISED,
    )


def test_supersession_marks_deliveries(warehouse):
    from dbt_scenario import (
        MOJ_Q2_FIRST,
        MOJ_Q2_REVISED,
        POLICE_AUG,
        POLICE_SEP_FIRST,
        POLICE_SEP_REVISED,
    )

    current = dict(warehouse.rows("select delivery_id, is_current from fct_feed_delivery"))
    assert current[POLICE_SEP_FIRST] is False and current[POLICE_SEP_REVISED] is True
    assert current[MOJ_Q2_FIRST] is False and current[MOJ_Q2_REVISED] is True
    assert current[POLICE_AUG] is True  # the rejected re-send does not supersede it
    assert warehouse.one(
        "select fiscal_quarter from fct_feed_delivery where delivery_id = ?", POLICE_SEP_REVISED
    ) == ("2014/15 Q2",)


# --- rny_treatment -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, quarter, value, numerator, denominator",
    [
        (
            "SM_CJ_REFERRALS",
            "2014/15 Q1",
            5,
            None,
            None,
        ),  # T1, T2, T7 arrest; T3 court; T6 probation
        ("SM_CJ_REFERRALS", "2014/15 Q2", 1, None, None),  # T9; T8 is a self-referral
        (
            "SM_CLASSA_ENGAGED",
            "2014/15 Q1",
            66.7,
            2,
            3,
        ),  # T1, T2 (started in a later file) of T1, T2, T7
        (
            "SM_CLASSA_ENGAGED",
            "2014/15 Q2",
            None,
            None,
            None,
        ),  # no Class A positive arrestees: no value
        (
            "SM_COMPLETIONS",
            "2014/15 Q1",
            50.0,
            1,
            2,
        ),  # T3 completed, T5 dropped out; T4 transferred
        ("SM_COMPLETIONS", "2014/15 Q2", 33.3, 1, 3),  # T6 completed; T8 died, T9 dropped out
        ("SM_RA_BREACHES", "2014/15 Q1", 2, None, None),  # T2, T3
        ("SM_RA_BREACHES", "2014/15 Q2", 0, None, None),  # ok quarter with no events counts zero
        ("SM_MH_REFERRALS", "2014/15 Q1", 1, None, None),  # T2; T5's referral is in 2013/14 Q4
    ],
)
def test_treatment_indicators(warehouse, code, quarter, value, numerator, denominator):
    row = warehouse.indicator(code, quarter)
    assert row["data_status"] == "ok"
    assert (row["value"], row["numerator"], row["denominator"]) == (value, numerator, denominator)


def test_configured_calendar_start_earlier_than_first_delivery(warehouse):
    # rny_treatment first delivered 2014-04 but is configured from 2014-01.
    assert warehouse.indicator("SM_MH_REFERRALS", "2013/14 Q3")["data_status"] == "not_expected"
    q4 = warehouse.indicator("SM_MH_REFERRALS", "2013/14 Q4")
    assert q4["data_status"] == "missing"
    assert q4["value"] is None and q4["provisional_value"] == 1  # T5, referred 2014-03-01
    assert q4["status_note"].startswith("rny_treatment 2014-01 not received (due 2014-02-20)")
    assert warehouse.one(
        "select effective_calendar_start, first_delivered_period_start from dim_feed "
        "where feed = 'rny_treatment'"
    ) == (dt.date(2014, 1, 1), dt.date(2014, 4, 1))


# --- idva_caseload -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, quarter, value, numerator, denominator",
    [
        (
            "VA_IDVA_HIGH_RISK",
            "2014/15 Q1",
            2,
            None,
            None,
        ),  # I1, and I2 raised to High in the Q2 file
        ("VA_IDVA_HIGH_RISK", "2014/15 Q2", 1, None, None),  # I4
        ("VA_REPEAT_RATE", "2014/15 Q1", 33.3, 1, 3),
        ("VA_REPEAT_RATE", "2014/15 Q2", 50.0, 1, 2),
        ("VA_MARAC_REFERRALS", "2014/15 Q1", 1, None, None),
        ("VA_MARAC_REFERRALS", "2014/15 Q2", 1, None, None),
        ("VA_SCREENED", "2014/15 Q1", 31, None, None),  # 10 + 12 + 9 (June revised in the Q2 file)
        ("VA_SCREENED", "2014/15 Q2", 40, None, None),  # 20 + 15 + 5
    ],
)
def test_idva_indicators(warehouse, code, quarter, value, numerator, denominator):
    row = warehouse.indicator(code, quarter)
    assert row["data_status"] == "ok"
    assert (row["value"], row["numerator"], row["denominator"]) == (value, numerator, denominator)


# --- moj_reoffending ---------------------------------------------------------------------------


def test_reoffending_value_is_difference_with_rates(warehouse):
    row = warehouse.indicator("RR_REOFFEND_DIFF", "2013/14 Q3")
    assert (row["data_status"], row["value"], row["numerator"], row["denominator"]) == (
        "ok",
        -18.3,
        20.0,
        24.5,
    )
    assert row["ytd_value"] == -18.3 and row["target"] == -12.0 and row["rag_status"] == "Green"


def test_reoffending_revision_and_suppression(warehouse):
    # The revised 2013/14 Q2 table wins; Birmingham, only in the superseded table, has no Q2 row.
    assert warehouse.indicator("RR_REOFFEND_DIFF", "2013/14 Q2")["value"] == -14.3
    assert (
        warehouse.rows(
            "select * from staging.stg_moj__reoffending_rates "
            "where la_code = 'E08000025' and period_start = date '2013-07-01'"
        )
        == []
    )
    suppressed = warehouse.indicator("RR_REOFFEND_DIFF", "2012/13 Q3")
    assert (
        suppressed["data_status"] == "ok"
        and suppressed["value"] is None
        and suppressed["rag_status"] is None
    )


def test_dim_area_holds_partnership_and_moj_areas(warehouse):
    assert warehouse.rows(
        "select la_code, la_name, is_partnership from dim_area order by la_code"
    ) == [("E08000025", "Birmingham", False), ("E08000031", "Wolverhampton", True)]


# --- data status -------------------------------------------------------------------------------


def test_data_status_values(warehouse):
    assert warehouse.indicator("PV_PPV", "2012/13 Q4")["data_status"] == "not_expected"
    assert warehouse.indicator("PV_PPV", "2014/15 Q1")["data_status"] == "ok"
    missing = warehouse.indicator("PV_PPV", "2013/14 Q2")
    assert missing["data_status"] == "missing" and missing["value"] is None
    assert missing["status_note"].startswith("police_crime 2013-07 not received (due 2013-08-15)")


def test_suspended_feed_shows_reason(warehouse):
    row = warehouse.indicator("RR_REOFFEND_DIFF", "2013/14 Q4")
    assert row["data_status"] == "suspended"
    assert row["status_note"] == "MoJ publication paused"
    assert row["value"] is None and row["rag_status"] is None
    # The quarter ending on 2013-12-31 is before the suspension date (2014-01-01).
    assert warehouse.indicator("RR_REOFFEND_DIFF", "2013/14 Q3")["data_status"] == "ok"


def test_due_date_itself_is_pending(warehouse):
    row = warehouse.indicator("PV_PPV", "2014/15 Q3")
    assert row["data_status"] == "pending"
    assert row["value"] is None and row["provisional_value"] == 1  # C31 from the October file
    assert row["status_note"].startswith("police_crime 2014-11 not yet received (due 2014-12-15)")
    # A rejected IDVA file for Q3 does not count as delivered.
    assert warehouse.indicator("VA_SCREENED", "2014/15 Q3")["data_status"] == "pending"


def test_day_after_due_date_is_missing(warehouse_day_after):
    row = warehouse_day_after.indicator("PV_PPV", "2014/15 Q3")
    assert row["data_status"] == "missing"
    assert row["status_note"] == "police_crime 2014-11 not received (due 2014-12-15)"
    assert row["provisional_value"] == 1
    # Treatment's November file is due on the 20th: still pending.
    assert (
        warehouse_day_after.indicator("SM_CJ_REFERRALS", "2014/15 Q3")["data_status"] == "pending"
    )


# --- year to date, RAG, direction --------------------------------------------------------------


def test_ytd_sum(warehouse):
    assert warehouse.indicator("PV_PPV", "2014/15 Q2")["ytd_value"] == 6
    assert warehouse.indicator("VA_SCREENED", "2014/15 Q2")["ytd_value"] == 71
    assert warehouse.indicator("SM_RA_BREACHES", "2014/15 Q2")["ytd_value"] == 2
    # A year to date needs every quarter of its span ok: 2013/14 Q2 is missing.
    assert warehouse.indicator("PV_PPV", "2013/14 Q2")["ytd_value"] is None
    assert warehouse.indicator("PV_PPV", "2013/14 Q3")["ytd_value"] is None
    q1 = warehouse.indicator("PV_PPV", "2014/15 Q1")
    assert (q1["ytd_value"], q1["ytd_prev_value"], q1["prev_year_value"]) == (3, 2, 2)
    assert warehouse.indicator("PV_PPV", "2014/15 Q2")["ytd_prev_value"] is None


def test_ytd_ratio_adds_numerators_and_denominators(warehouse):
    assert (
        warehouse.indicator("SM_COMPLETIONS", "2014/15 Q2")["ytd_value"] == 40.0
    )  # 2 / 5, not mean(50, 33.3)
    assert warehouse.indicator("VA_REPEAT_RATE", "2014/15 Q2")["ytd_value"] == 40.0  # 2 / 5
    assert warehouse.indicator("SM_CLASSA_ENGAGED", "2014/15 Q2")["ytd_value"] == 66.7


def test_ytd_latest_and_rag_boundaries(warehouse):
    # RR_REOFFEND_DIFF: latest, target -12 lower is better, Amber band 0.6.
    amber = warehouse.indicator("RR_REOFFEND_DIFF", "2012/13 Q4")
    assert (amber["ytd_value"], amber["rag_status"]) == (-11.4, "Amber")  # missed by exactly 5%
    red = warehouse.indicator("RR_REOFFEND_DIFF", "2013/14 Q1")
    assert (red["ytd_value"], red["rag_status"]) == (-11.3, "Red")
    green = warehouse.indicator("RR_REOFFEND_DIFF", "2013/14 Q2")
    assert (green["ytd_value"], green["rag_status"]) == (-14.3, "Green")
    assert warehouse.indicator("PV_PPV", "2014/15 Q2")["rag_status"] is None  # no target


def test_direction_by_polarity(warehouse):
    assert (
        warehouse.indicator("PV_PPV", "2014/15 Q1")["direction"] == "worsening"
    )  # 3 vs 2, lower better
    assert (
        warehouse.indicator("VA_DA_CRIMES", "2014/15 Q1")["direction"] == "improving"
    )  # 2 vs 1, higher better
    assert warehouse.indicator("GY_KNIFE_FIREARM", "2014/15 Q1")["direction"] == "no change"
    assert warehouse.indicator("PV_PPV", "2014/15 Q2")["direction"] is None  # last year missing
    assert (
        warehouse.indicator("SM_MH_REFERRALS", "2014/15 Q1")["direction"] is None
    )  # polarity none


COMPARISON = (
    "select la_code, is_in_similar_group, rank_all, authorities_all, quartile_all, "
    "rank_similar, authorities_similar, quartile_similar "
    "from fct_reoffending_comparison where fiscal_quarter = ? order by la_code"
)


def test_reoffending_is_ranked_among_all_authorities(warehouse):
    # 2013/14 Q3: Wolverhampton -18.3, Birmingham -3.8 (lower is better).
    assert warehouse.rows(COMPARISON, "2013/14 Q3") == [
        ("E08000025", False, 2, 2, 2, None, None, None),
        # No similar areas configured: no rank among them (not "1 of 1").
        ("E08000031", True, 1, 2, 1, None, None, None),
    ]


def test_reoffending_is_ranked_among_similar_areas(warehouse_day_after):
    assert warehouse_day_after.rows(COMPARISON, "2013/14 Q3") == [
        ("E08000025", True, 2, 2, 2, 2, 2, 2),
        ("E08000031", True, 1, 2, 1, 1, 2, 1),
    ]


def test_suppressed_reoffending_rows_are_listed_not_ranked(warehouse):
    assert warehouse.rows(COMPARISON, "2012/13 Q3") == [
        ("E08000031", True, None, None, None, None, None, None)
    ]
