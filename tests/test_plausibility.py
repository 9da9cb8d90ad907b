"""Plausible figures only: a count below 0, a percentage over 100 or from a numerator above its
denominator, a value outside its indicator's range, a number the warehouse cannot hold exactly.

Each is a rejection under its own rule, naming the column, the limit and the rows, so no wrong
figure is published as ``ok`` (and none breaks the exports). Also: a partner's file name that
starts with ``=`` reaches feed_deliveries.csv escaped, as the marts' CSVs are.
"""

from __future__ import annotations

import csv
import dataclasses
import os
from pathlib import Path

import duckdb
import pytest

from core.contracts import FeedContract, Table, contract_for
from core.periods import Period, financial_quarter, quarter_ending
from core.problems import Problem, RejectedFile
from ingest.column_rules import EXACT_WHOLE_MAX
from ingest.readers import read_delivery
from ingest.table_checks import check_table, files_breaking_rules
from ingest.typed_rows import staging_connection
from orchestration.cli import main
from tests.conftest import TEST_KEYS, example, test_pseudonymiser
from tests.test_bad_inputs import moj_bytes, moj_lines, moj_row, set_field
from tests.test_partner_returns import _return

LA = "E08000026"
Q2 = financial_quarter(2014, 2)


def rejected(
    path: Path,
    feed: str,
    period: Period,
    partner: str | None = None,
    contract: FeedContract | None = None,
) -> list[Problem]:
    """The problems of a file the contract rejects (the test fails if it is accepted)."""
    with pytest.raises(RejectedFile) as caught:
        read_delivery(
            path,
            contract or contract_for(feed),
            period,
            test_pseudonymiser(),
            la_code=None,
            partner=partner,
        )
    return caught.value.problems


def only(problems: list[Problem], rule: str) -> Problem:
    """The one problem under ``rule``."""
    [problem] = [p for p in problems if p.rule == rule]
    return problem


def rows_of(problem: Problem) -> list[int]:
    return [e["row"] for e in problem.examples]


def partner_return(tmp_path: Path, partner: str, rows: list[list]) -> Path:
    return _return(tmp_path / f"partner_return_{partner}_2014-15_Q2.xlsx", rows)


# ---------------------------------------------------------------------------------------------
# Partner returns: what each unit allows
# ---------------------------------------------------------------------------------------------


def test_a_negative_count_is_rejected(tmp_path: Path) -> None:
    path = partner_return(
        tmp_path,
        "iom",
        [
            ["RR_IOM_HCCU", "2014/15 Q2", None, None, 12, None],
            ["RR_IOM_PROLIFIC", "2014/15 Q2", None, None, -68, None],
        ],
    )
    problem = only(rejected(path, "partner_returns", Q2, "iom"), "negative_count")
    assert problem.column == "Value" and problem.row_count == 1 and rows_of(problem) == [3]
    assert problem.examples[0]["value"] == "-68"
    assert problem.examples[0]["Indicator Code"] == "RR_IOM_PROLIFIC"
    assert "'Value'" in problem.message and "below 0" in problem.message
    assert "row 3 (RR_IOM_PROLIFIC)" in problem.message


def test_a_numerator_above_its_denominator_is_rejected(tmp_path: Path) -> None:
    # 50 / 41 = 121.95%: Value agrees with its parts, so only this rule can catch it.
    path = partner_return(
        tmp_path,
        "probation",
        [
            ["RR_EMPLOYMENT", "2014/15 Q2", 50, 41, 122.0, None],
            ["RR_ACCOMMODATION", "2014/15 Q2", 171, 198, 86.4, None],
        ],
    )
    problems = rejected(path, "partner_returns", Q2, "probation")
    assert [p.rule for p in problems] == ["numerator_above_denominator"]
    problem = problems[0]
    assert problem.column == "Numerator" and rows_of(problem) == [2]
    assert problem.examples[0] == {
        "row": 2,
        "value": "50",
        "Indicator Code": "RR_EMPLOYMENT",
        "Denominator": "41",
    }
    assert "'Numerator' is larger than 'Denominator'" in problem.message
    assert "at most 100" in problem.message and "row 2 (RR_EMPLOYMENT)" in problem.message


@pytest.mark.parametrize("numerator, denominator, value", [(0, 41, -0.5), (41, 41, 100.5)])
def test_a_percentage_outside_0_to_100_is_rejected(
    tmp_path: Path, numerator: int, denominator: int, value: float
) -> None:
    path = partner_return(
        tmp_path,
        "courts",
        [
            ["VA_COURT_PERPETRATORS", "2014/15 Q2", None, None, 212, None],
            ["VA_PROSECUTION_SUCCESS", "2014/15 Q2", numerator, denominator, value, None],
        ],
    )
    problem = only(rejected(path, "partner_returns", Q2, "courts"), "percent_out_of_range")
    assert problem.column == "Value" and rows_of(problem) == [3]
    assert "below 0 or above 100" in problem.message
    assert "row 3 (VA_PROSECUTION_SUCCESS)" in problem.message


def test_percentages_of_0_and_100_are_accepted(tmp_path: Path) -> None:
    path = partner_return(
        tmp_path,
        "probation",
        [
            ["RR_EMPLOYMENT", "2014/15 Q2", 0, 41, 0, None],
            ["RR_ACCOMMODATION", "2014/15 Q2", 41, 41, 100, None],
        ],
    )
    result = read_delivery(
        path,
        contract_for("partner_returns"),
        Q2,
        test_pseudonymiser(),
        la_code=None,
        partner="probation",
    )
    assert result.row_count == 2


def test_a_value_outside_its_indicators_range_is_rejected(tmp_path: Path) -> None:
    # The seed leaves every range blank today; a partnership sets one in min_value / max_value.
    contract = contract_for("partner_returns")
    table = contract.tables[0]
    catalogue = tuple(
        i._replace(minimum=0.0, maximum=500.0) if i.code == "RR_IOM_PROLIFIC" else i
        for i in table.catalogue
    )
    contract = dataclasses.replace(
        contract, tables=(dataclasses.replace(table, catalogue=catalogue),)
    )
    path = partner_return(
        tmp_path,
        "iom",
        [
            ["RR_IOM_PROLIFIC", "2014/15 Q2", None, None, 501, None],
            ["RR_IOM_DA", "2014/15 Q2", None, None, 900, None],  # no range of its own
        ],
    )
    problems = rejected(path, "partner_returns", Q2, "iom", contract=contract)
    assert [p.rule for p in problems] == ["indicator_range"]
    problem = problems[0]
    assert problem.column == "Value" and rows_of(problem) == [2]
    assert "RR_IOM_PROLIFIC from 0 to 500" in problem.message
    assert "row 2 (RR_IOM_PROLIFIC)" in problem.message


def test_the_seed_ranges_reach_the_contract() -> None:
    with (Path(__file__).resolve().parents[1] / "dbt_project" / "seeds" / "indicators.csv").open(
        newline="", encoding="utf-8"
    ) as handle:
        seed = {r["code"]: r for r in csv.DictReader(handle)}
    for indicator in contract_for("partner_returns").tables[0].catalogue:
        row = seed[indicator.code]
        assert indicator.minimum == (float(row["min_value"]) if row["min_value"] else None)
        assert indicator.maximum == (float(row["max_value"]) if row["max_value"] else None)


# ---------------------------------------------------------------------------------------------
# Numbers the warehouse holds
# ---------------------------------------------------------------------------------------------


def test_a_workbook_cell_of_1e300_is_rejected_not_a_crash_of_the_exports(tmp_path: Path) -> None:
    path = partner_return(
        tmp_path,
        "iom",
        [
            ["RR_IOM_PROLIFIC", "2014/15 Q2", None, None, 1e300, None],
        ],
    )
    problem = only(rejected(path, "partner_returns", Q2, "iom"), "number_too_large")
    assert problem.column == "Value" and rows_of(problem) == [2]
    assert f"{EXACT_WHOLE_MAX:,}" in problem.message and "2 to the power 53" in problem.message


@pytest.mark.parametrize(
    "written, rules",
    [
        (str(EXACT_WHOLE_MAX), []),
        (str(EXACT_WHOLE_MAX + 1), ["number_too_large"]),  # a double would read 2**53: the digits
        ("-" + str(EXACT_WHOLE_MAX + 1), ["number_too_large", "negative_count"]),
        ("9" * 400, ["number_too_large"]),  # beyond a double: infinite
    ],
)
def test_numbers_up_to_2_to_the_53_are_held(tmp_path: Path, written: str, rules: list[str]) -> None:
    # Typed as text, so the digits arrive as written (a number cell is a double already).
    path = partner_return(
        tmp_path,
        "gangs",
        [
            ["GY_GANG_REFERRALS", "2014/15 Q2", None, None, 12, None],
            ["GY_CRISIS_CALLOUTS", "2014/15 Q2", None, None, written, None],
        ],
    )
    if not rules:
        result = read_delivery(
            path,
            contract_for("partner_returns"),
            Q2,
            test_pseudonymiser(),
            la_code=None,
            partner="gangs",
        )
        assert result.tables["partner_returns"]["value"][1].as_py() == EXACT_WHOLE_MAX
        return
    problems = rejected(path, "partner_returns", Q2, "gangs")
    assert [p.rule for p in problems] == rules
    assert all(rows_of(p) == [3] for p in problems)


def moj_file(tmp_path: Path, column: str, value: str) -> Path:
    lines = moj_lines()
    header = next(csv.reader([lines[3]]))
    at = moj_row(lines, "E08000031")  # Wolverhampton, on row 6 of the file
    lines[at] = set_field(lines[at], header.index(column), value)
    path = tmp_path / "moj_reoffending_2013-12.csv"
    path.write_bytes(moj_bytes(lines))
    return path


MOJ_PERIOD = quarter_ending(2013, 12)


@pytest.mark.parametrize(
    "column, value, rule, says",
    [
        ("Actual Rate", "-1.5", "range", "below 0"),
        ("Predicted Rate", "113.77", "range", "above 100"),
        ("Actual Rate", "1" + "0" * 300, "number_too_large", f"{EXACT_WHOLE_MAX:,}"),
    ],
)
def test_moj_rates_are_percentages_the_warehouse_holds(
    tmp_path: Path, column: str, value: str, rule: str, says: str
) -> None:
    problems = rejected(moj_file(tmp_path, column, value), "moj_reoffending", MOJ_PERIOD)
    problem = only(problems, rule)
    assert problem.column == column and rows_of(problem) == [6]
    assert repr(column) in problem.message and says in problem.message


def test_a_difference_below_zero_is_accepted() -> None:
    # Sandwell's -24.3 and the rest of the example: fewer reoffend than predicted.
    result = read_delivery(
        example("moj_reoffending_2013-12.csv"),
        contract_for("moj_reoffending"),
        MOJ_PERIOD,
        test_pseudonymiser(),
        la_code=None,
    )
    assert result.row_count > 0


def test_the_bulk_screen_and_the_file_check_agree_on_number_rules() -> None:
    """The same rule named one file at a time is screened out in bulk."""
    table: Table = contract_for("moj_reoffending").tables[0]
    names = [c.name for c in table.columns]
    good = ["E08000031", "Wolverhampton", "Staffs", "1746", "13.60", "13.77", "-1.2", "No"]
    rows = {
        1: good,
        2: good[:4] + [str(EXACT_WHOLE_MAX + 1)] + good[5:],
        3: good[:4] + ["-0.1"] + good[5:],
        4: good[:4] + ["..", "..", "..", ".."],
    }
    with staging_connection(test_pseudonymiser()) as con:
        columns = ", ".join(f"{n} varchar" for n in names)
        con.execute(
            f"create table src (_file integer, _row integer, _period_start date, "
            f"_period_end date, _period_label varchar, {columns})"
        )
        for file, values in rows.items():
            con.execute(
                f"insert into src values (?, 6, date '2013-10-01', date '2013-12-31', "
                f"'2013/14 Q3', {', '.join('?' for _ in names)})",
                [file, *values],
            )
        assert files_breaking_rules(con, "src", table) == {2, 3}
        for file, rule in ((2, "number_too_large"), (3, "range")):
            con.execute(f"create or replace table one as select * from src where _file = {file}")
            assert [p.rule for p in check_table(con, "one", table, MOJ_PERIOD)] == [rule]


# ---------------------------------------------------------------------------------------------
# A built home: the wrong figure is never published, and file names are escaped
# ---------------------------------------------------------------------------------------------

FORMULA_NAME = '=HYPERLINK("evil.example.org","open").xlsx'  # no "/": a file name


@pytest.fixture(scope="module")
def built_home(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Probation's 2014/15 Q1 return at 44.0% (Amber against 45), then the same return
    restated at 50 / 41 = 122% (which would read Green), beside a file named like a formula."""
    os.environ.update(TEST_KEYS)
    home = tmp_path_factory.mktemp("plausible")
    landing = home / "landing" / "partner_returns"
    name = "partner_return_probation_2014-15_Q1.xlsx"
    _return(
        landing / name,
        [
            ["RR_EMPLOYMENT", "2014/15 Q1", 88, 200, 44.0, None],
            ["RR_ACCOMMODATION", "2014/15 Q1", 171, 198, 86.4, None],
        ],
    )
    build = ["build", "--home", str(home), "--la-code", LA, "--as-of", "2014-08-15"]
    assert main(build) == 0
    before = indicator_rows(home)
    _return(
        landing / name,
        [
            ["RR_EMPLOYMENT", "2014/15 Q1", 50, 41, 122.0, None],
            ["RR_ACCOMMODATION", "2014/15 Q1", 171, 198, 86.4, None],
        ],
    )
    _return(landing / FORMULA_NAME, [["RR_EMPLOYMENT", "2014/15 Q1", 88, 200, 44.0, None]])
    assert main(build) == 0
    return {"home": home, "before": before, "after": indicator_rows(home)}


def indicator_rows(home: Path) -> dict[str, dict[str, str]]:
    with (home / "exports" / "indicators.csv").open(newline="", encoding="utf-8") as handle:
        return {
            r["indicator_code"]: r
            for r in csv.DictReader(handle)
            if r["fiscal_quarter"] == "2014/15 Q1"
        }


def test_the_122_percent_return_is_quarantined_and_amber_stays(built_home: dict) -> None:
    before, after = built_home["before"]["RR_EMPLOYMENT"], built_home["after"]["RR_EMPLOYMENT"]
    assert (before["data_status"], before["value"], before["rag_status"]) == ("ok", "44.0", "Amber")
    assert (after["data_status"], after["value"], after["rag_status"]) == ("ok", "44.0", "Amber")
    quarantine = built_home["home"] / "quarantine" / "partner_returns"
    reasons = [
        p
        for p in quarantine.iterdir()
        if p.name.startswith("partner_return_probation") and p.name.endswith(".reason.json")
    ]
    assert reasons, sorted(p.name for p in quarantine.iterdir())
    assert "numerator_above_denominator" in reasons[0].read_text(encoding="utf-8")
    with duckdb.connect(str(built_home["home"] / "warehouse.duckdb"), read_only=True) as con:
        [(status,)] = con.execute(
            "select status from raw.deliveries where file_name = ? "
            "order by delivery_id desc limit 1",
            ["partner_return_probation_2014-15_Q1.xlsx"],
        ).fetchall()
    assert status == "rejected"


def test_a_file_name_starting_with_equals_is_escaped_in_feed_deliveries(built_home: dict) -> None:
    path = built_home["home"] / "exports" / "feed_deliveries.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        names = [r["file_name"] for r in csv.DictReader(handle)]
    assert "'" + FORMULA_NAME in names
    assert FORMULA_NAME not in names
    assert not any(n.startswith(("=", "+", "-", "@")) for n in names)
