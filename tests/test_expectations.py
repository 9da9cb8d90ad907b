"""Tests of the Great Expectations layer (expectations/): suites, feed-specific rules, problems.

Good typed tables come from running the reader on the sample partner files; each
feed-specific rule is then broken on chosen rows of a copy, and the problem must name exactly
that rule, the partner's column and the file rows. The contract's column-by-column rules are
the SQL checks' alone (tests/test_bad_inputs.py): here they must pass unjudged.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
import pytest

from core.contracts import all_contracts, contract_for
from core.periods import Period
from core.problems import Problem
from expectations.rules import FORMULAS, PERIOD_BOUNDS, RULES
from expectations.validate import validate_delivery
from ingest.readers import read_delivery
from tests.conftest import REPO, example, test_pseudonymiser

LA_CODE = "E08000031"
EXAMPLES = {
    "police_crime": "police_crime_2014-07.csv",
    "rny_treatment": "rny_treatment_2014-07.csv",
    "idva_caseload": "idva_caseload_2014-15_Q2.xlsx",
    "moj_reoffending": "moj_reoffending_2013-12.csv",
}
KINDS = {"between", "not_after", "not_before", "present_when", "blank_when", "contains", "matches"}


# ----------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def good() -> dict[str, tuple[Period, dict[str, pa.Table]]]:
    """Each feed's example file, read and typed by the reader: (period, tables)."""
    pseudonymiser = test_pseudonymiser()
    out = {}
    for feed, name in EXAMPLES.items():
        contract = contract_for(feed)
        period = contract.period_from_file_name(name)
        out[feed] = (
            period,
            read_delivery(example(name), contract, period, pseudonymiser, la_code=None).tables,
        )
    return out


def changed(table: pa.Table, edits: dict[int, dict[str, Any]]) -> pa.Table:
    """A copy of ``table`` with cells replaced: {row position: {column: new value}}."""
    rows = table.to_pylist()
    for position, values in edits.items():
        rows[position].update(values)
    return pa.Table.from_pylist(rows, schema=table.schema)


def run(
    feed: str,
    good: dict,
    table: str | None = None,
    edits: dict | None = None,
    la_code: str = LA_CODE,
    **kwargs: Any,
) -> tuple[list[Problem], dict[str, pa.Table]]:
    period, tables = good[feed]
    tables = dict(tables)
    if table is not None:
        tables[table] = changed(tables[table], edits or {})
    return validate_delivery(contract_for(feed), tables, period, la_code=la_code, **kwargs), tables


def rows_of(table: pa.Table, positions: list[int]) -> list[int]:
    return [table["source_row"][p].as_py() for p in positions]


# ----------------------------------------------------------------------------- good files


@pytest.mark.parametrize("feed", list(EXAMPLES))
def test_example_delivery_passes(feed: str, good: dict) -> None:
    problems, _ = run(feed, good)
    assert problems == []


def test_rules_are_well_formed_data() -> None:
    """Every rule names a known kind, a contract table and loaded columns of it."""
    tables = {t.name: t for c in all_contracts().values() for t in c.tables}
    for rule in RULES:
        assert rule.check in KINDS, rule
        assert rule.table in tables, rule
        loaded = {c.name for c in tables[rule.table].loaded_columns}
        assert set(rule.columns) <= loaded, rule
        assert rule.id.replace("_", "").isalpha() and rule.id.islower(), rule
        for bound in (rule.minimum, rule.maximum):
            assert not isinstance(bound, str) or bound in PERIOD_BOUNDS, rule
        assert rule.formula is None or rule.formula in FORMULAS, rule


def test_ho_classes_come_from_the_dbt_seed() -> None:
    ho_class = contract_for("police_crime").tables[0].column("ho_class")
    codes = ho_class.reference
    seed = (REPO / "dbt_project" / "seeds" / "ho_offence_classes.csv").read_text().splitlines()
    assert len(codes) == len(seed) - 1
    assert {"8N", "105A", "4.1", "19C"} <= set(codes)


# ----------------------------------------------------------------------------- each rule

JULY_END = date(2014, 7, 31)

# (feed, table, {position: {column: value}}, rule, partner's column, bad positions)
CASES = [
    # police_crime (July 2014)
    (
        "police_crime",
        "police_crime",
        {2: {"offence_date": date(2014, 7, 5)}},
        "offence_after_recorded",
        "Offence Date",
        [2],
    ),
    # rny_treatment (July 2014)
    (
        "rny_treatment",
        "rny_treatment",
        {1: {"treatment_start_date": date(2013, 9, 22)}},
        "treatment_start_before_referral",
        "Treatment Start Date",
        [1],
    ),
    (
        "rny_treatment",
        "rny_treatment",
        {2: {"treatment_start_date": None, "discharge_date": date(2013, 9, 14)}},
        "discharge_before_referral",
        "Discharge Date",
        [2],
    ),
    (
        "rny_treatment",
        "rny_treatment",
        {0: {"discharge_reason": None}, 4: {"discharge_reason": None}},
        "discharge_reason_missing",
        "Discharge Reason",
        [0, 4],
    ),
    # idva_caseload (2014/15 Q2)
    (
        "idva_caseload",
        "idva_cases",
        {0: {"case_closed_date": date(2014, 4, 12)}},
        "closed_before_referral",
        "Case Closed Date",
        [0],
    ),
    (
        "idva_caseload",
        "idva_screening",
        {0: {"screening_month": date(2014, 3, 1)}, 5: {"screening_month": date(2014, 10, 1)}},
        "screening_month_outside_period",
        "Month",
        [0, 5],
    ),
    # moj_reoffending (2013/14 Q3)
    (
        "moj_reoffending",
        "moj_reoffending",
        {1: {"difference_pct": -1.5}, 6: {"difference_pct": 10.8}},
        "difference_inconsistent",
        "Difference (%)",
        [1, 6],
    ),
    (
        "moj_reoffending",
        "moj_reoffending",
        {9: {"actual_rate": 5.0}},
        "suppression_missing",
        "Actual Rate",
        [9],
    ),
    (
        "moj_reoffending",
        "moj_reoffending",
        {0: {"significant": None}},
        "suppressed_without_reason",
        "Significant",
        [0],
    ),
    # A range rule with a period bound at each end.
    (
        "idva_caseload",
        "idva_screening",
        {5: {"screening_month": date(2014, 10, 1)}},
        "screening_month_outside_period",
        "Month",
        [5],
    ),
]


# What the contract says column by column (required, allowed values, ranges, reference
# lists, dates after the period, the record key) is judged by the ingest's SQL checks alone
# (tests/test_bad_inputs.py): the suites must not judge it a second time.
CONTRACT_ONLY = [
    ("police_crime", "police_crime", {7: {"crime_reference": "20WM/129318K/14"}}),
    ("police_crime", "police_crime", {5: {"location_type": "Garden"}}),
    ("police_crime", "police_crime", {5: {"ho_class": None}, 1: {"ho_class": "99Z"}}),
    ("police_crime", "police_crime", {4: {"victim_age": 121}}),
    ("idva_caseload", "idva_cases", {1: {"dash_score": 28}, 7: {"children_in_household": -2}}),
    ("moj_reoffending", "moj_reoffending", {9: {"offenders": -5}}),
]


@pytest.mark.parametrize(
    "feed, table, edits",
    CONTRACT_ONLY,
    ids=[f"{c[1]}-{'-'.join(next(iter(c[2].values())))}" for c in CONTRACT_ONLY],
)
def test_contract_rules_are_left_to_the_sql_checks(
    feed: str, table: str, edits: dict, good: dict
) -> None:
    problems, _ = run(feed, good, table, edits)
    assert problems == []


def test_a_table_without_feed_specific_rules_is_not_handed_to_gx() -> None:
    code = (
        "import sys, pyarrow as pa, datetime as dt; "
        "from core.contracts import contract_for; from core.periods import calendar_month; "
        "from expectations.validate import validate_table; "
        "c = contract_for('police_uk'); t = c.tables[0]; "
        "assert not __import__('expectations.rules').rules.rules_for(t.name); "
        "p = validate_table(c, t, pa.table({'source_row': [2]}), calendar_month(2024, 1), "
        "la_code='E09000001'); "
        "sys.exit(p != [] or 'great_expectations' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()


@pytest.mark.parametrize(
    "feed, table, edits, rule, column, positions",
    CASES,
    ids=[f"{c[3]}-{c[1]}" for c in CASES],
)
def test_breaking_a_rule_gives_exactly_that_problem(
    feed: str,
    table: str,
    edits: dict,
    rule: str,
    column: str,
    positions: list[int],
    good: dict,
) -> None:
    problems, tables = run(feed, good, table, edits)
    assert [(p.rule, p.column) for p in problems] == [(rule, column)]
    problem = problems[0]
    expected_rows = rows_of(tables[table], positions)
    assert problem.row_count == len(positions)
    assert [e["row"] for e in problem.examples] == expected_rows
    assert repr(column) in problem.message or column in problem.message
    assert "sample" not in problem.message


def test_problem_examples_show_values_as_the_partner_wrote_them(good: dict) -> None:
    problems, _ = run("police_crime", good, "police_crime", {2: {"offence_date": date(2014, 7, 5)}})
    assert problems[0].examples == [
        {"row": 4, "value": "05/07/2014", "Recorded Date": "04/07/2014"}
    ]
    problems, _ = run("moj_reoffending", good, "moj_reoffending", {1: {"difference_pct": -1.5}})
    example_ = problems[0].examples[0]
    assert example_["row"] == 6 and example_["value"] == -1.5
    assert example_["expected"] == pytest.approx(-1.23, abs=0.01)
    assert example_["Actual Rate"] == 13.6 and example_["Predicted Rate"] == 13.77


def test_period_bounds_are_named_in_the_message(good: dict) -> None:
    problems, _ = run(
        "idva_caseload", good, "idva_screening", {0: {"screening_month": date(2014, 3, 1)}}
    )
    assert "01/04/2014 to 30/09/2014" in problems[0].message


def test_difference_within_a_tenth_passes(good: dict) -> None:
    # Wolverhampton: (13.60 - 13.77) / 13.77 x 100 = -1.2346; -1.3 is within 0.1, -1.4 is not.
    problems, _ = run("moj_reoffending", good, "moj_reoffending", {1: {"difference_pct": -1.3}})
    assert problems == []
    problems, _ = run("moj_reoffending", good, "moj_reoffending", {1: {"difference_pct": -1.4}})
    assert [p.rule for p in problems] == ["difference_inconsistent"]


def test_suppressed_rates_are_not_judged(good: dict) -> None:
    problems, _ = run(
        "moj_reoffending",
        good,
        "moj_reoffending",
        {
            9: {
                "actual_rate": None,
                "predicted_rate": None,
                "difference_pct": None,
                "significant": None,
            }
        },
    )
    assert problems == []


def test_suppression_example_shows_the_offenders(good: dict) -> None:
    problems, _ = run("moj_reoffending", good, "moj_reoffending", {9: {"actual_rate": 5.0}})
    assert problems[0].examples == [{"row": 14, "value": 5.0, "Offenders": 12}]


def test_partnership_row_must_be_present(good: dict) -> None:
    problems, _ = run("moj_reoffending", good, la_code="E06000099")
    assert [(p.rule, p.column, p.row_count) for p in problems] == [
        ("partnership_missing", "LA Code", 0)
    ]
    assert "E06000099" in problems[0].message


def test_offence_date_on_the_recorded_date_passes(good: dict) -> None:
    problems, _ = run(
        "police_crime",
        good,
        "police_crime",
        {4: {"offence_date": date(2014, 7, 24)}, 0: {"recorded_date": JULY_END}},
    )
    assert problems == []


# ----------------------------------------------------------------------------- personal data


def test_personal_data_never_appears_in_problems(good: dict) -> None:
    _, rny = good["rny_treatment"]
    _, idva = good["idva_caseload"]
    rny_table = rny["rny_treatment"]
    # Rule breaks on rows whose tokens and age bands must stay out of the problems.
    rny_problems, _ = run("rny_treatment", good, "rny_treatment", {1: {"discharge_reason": None}})
    idva_problems, _ = run(
        "idva_caseload", good, "idva_cases", {0: {"case_closed_date": date(2014, 4, 1)}}
    )
    problems = rny_problems + idva_problems
    assert {p.rule for p in problems} == {"discharge_reason_missing", "closed_before_referral"}
    dumped = json.dumps([p.as_dict() for p in problems])
    secrets = set(rny_table["client_token"].to_pylist()) | set(
        idva["idva_cases"]["case_token"].to_pylist()
    )
    assert not [s for s in secrets if s in dumped]


# ----------------------------------------------------------------------------- sampling


def _big_police(good: dict, rows: int, bad_every: int) -> pa.Table:
    """``rows`` police rows built from the example month, every ``bad_every``-th offence
    dated after it was recorded."""
    _, tables = good["police_crime"]
    base = tables["police_crime"].to_pylist()
    out = []
    for i in range(rows):
        row = dict(base[i % len(base)])
        row.update(source_row=i + 2, crime_reference=f"20WM/{i:06d}X/14")
        if i % bad_every == 0:
            row["offence_date"] = row["recorded_date"] + timedelta(days=1)
        out.append(row)
    return pa.Table.from_pylist(out, schema=tables["police_crime"].schema)


def test_big_tables_are_validated_on_a_deterministic_sample(good: dict) -> None:
    period, _ = good["police_crime"]
    big = _big_police(good, 500, bad_every=5)  # 100 bad rows
    contract = contract_for("police_crime")
    first = validate_delivery(
        contract, {"police_crime": big}, period, la_code=LA_CODE, sample_rows=50
    )
    again = validate_delivery(
        contract, {"police_crime": big}, period, la_code=LA_CODE, sample_rows=50
    )
    assert [p.as_dict() for p in first] == [p.as_dict() for p in again]
    assert [p.rule for p in first] == ["offence_after_recorded"]
    problem = first[0]
    assert "sample of 50 of the file's 500 rows" in problem.message
    assert 0 < problem.row_count < 100
    rows = [e["row"] for e in problem.examples]
    assert rows == sorted(rows) and all((r - 2) % 5 == 0 for r in rows)
    # The whole table, not sampled, finds all of them.
    full = validate_delivery(contract, {"police_crime": big}, period, la_code=LA_CODE)
    assert full[0].row_count == 100 and "sample" not in full[0].message


def test_sampling_keeps_the_partnership_row(good: dict) -> None:
    for sample_rows in (1, 2, 3):
        problems, _ = run("moj_reoffending", good, sample_rows=sample_rows)
        assert problems == []


# ----------------------------------------------------------------------------- quiet and lazy


def test_importing_validate_does_not_import_great_expectations() -> None:
    code = (
        "import sys, expectations.validate, expectations.suites, expectations.rules; "
        "sys.exit('great_expectations' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()


def test_validation_prints_no_progress_bars(good: dict, capfd: pytest.CaptureFixture) -> None:
    run("police_crime", good, "police_crime", {2: {"offence_date": date(2014, 7, 5)}})
    captured = capfd.readouterr()
    assert "Calculating Metrics" not in captured.err + captured.out
    assert "%|" not in captured.err


# ----------------------------------------------------------------------------- scale


@pytest.mark.slow
def test_two_hundred_thousand_rows_validate_in_seconds(good: dict) -> None:
    period, _ = good["police_crime"]
    big = _big_police(good, 200_000, bad_every=1000)
    started = time.perf_counter()
    problems = validate_delivery(
        contract_for("police_crime"), {"police_crime": big}, period, la_code=LA_CODE
    )
    elapsed = time.perf_counter() - started
    assert [p.row_count for p in problems] == [200]
    assert elapsed < 30, f"{elapsed:.1f} s"


def test_a_variant_contract_gets_its_own_suite(good: dict) -> None:
    """A contract changed in a long-lived process is validated by its own rules, not cached ones."""
    import dataclasses

    period, tables = good["police_crime"]
    contract = contract_for("police_crime")
    table = contract.tables[0]
    renamed = dataclasses.replace(
        table,
        columns=tuple(
            dataclasses.replace(c, source="Date of Offence") if c.name == "offence_date" else c
            for c in table.columns
        ),
    )
    variant = dataclasses.replace(contract, tables=(renamed,))
    bad = {"police_crime": changed(tables["police_crime"], {2: {"offence_date": date(2014, 7, 5)}})}
    problems = validate_delivery(variant, bad, period, la_code=LA_CODE)
    assert [(p.rule, p.column) for p in problems] == [("offence_after_recorded", "Date of Offence")]
    problems = validate_delivery(contract, bad, period, la_code=LA_CODE)
    assert [(p.rule, p.column) for p in problems] == [("offence_after_recorded", "Offence Date")]


def test_an_expectation_that_cannot_run_fails_loudly(good: dict) -> None:
    """A table missing a column is our bug, not the partner's: no Problem, an error."""
    from expectations.validate import ValidationError

    period, tables = good["police_crime"]
    broken = tables["police_crime"].drop_columns(["offence_date"])
    with pytest.raises(ValidationError, match="offence_date"):
        validate_delivery(
            contract_for("police_crime"), {"police_crime": broken}, period, la_code=LA_CODE
        )
