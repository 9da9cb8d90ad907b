"""End to end: generated partner files for another partnership, two delivery rounds (with a
revised file and a re-delivered duplicate), built by `csp build`, checked against the
generator's own ground truth. Real files, a real DuckDB file, Dagster and dbt in-process."""

from __future__ import annotations

import csv
import json
import os
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.cli import main
from orchestration.demonstration import GroundTruth, generate_landing
from tests.conftest import REPO, TEST_KEYS

LA, LA_NAME = "E08000026", "Coventry"
FIRST, LAST = date(2013, 4, 1), date(2014, 9, 1)
ROUND_ONE_LAST = "2014-06"  # round one: files for periods up to June 2014 ...
LATE = "idva_caseload_2014-15_Q1.xlsx"  # ... except this one, which arrives late
REVISED = "police_crime_2014-09.csv"


def _period_of(path: Path) -> str:
    """YYYY-MM of a file's period, for splitting the delivery rounds."""
    stem = path.stem
    if path.name.startswith("idva_caseload"):
        fy, quarter = stem.split("_")[-2:]
        month = 3 * int(quarter[1]) + 3
        year = int(fy[:4]) + (month > 12)
        return f"{year}-{(month - 1) % 12 + 1:02d}"
    return stem.split("_")[-1]


def _build(home: Path, as_of: str, *extra: str, expect: int = 0) -> None:
    code = main(["build", "--home", str(home), "--as-of", as_of, "--la-code", LA, *extra])
    assert code == expect


def _indicators(home: Path) -> dict[tuple[str, str], dict[str, str]]:
    with (home / "exports" / "indicators.csv").open(newline="", encoding="utf-8") as handle:
        return {(r["indicator_code"], r["fiscal_quarter"]): r for r in csv.DictReader(handle)}


def _revise(path: Path, reference: dict[str, bool]) -> dict[str, int]:
    """Re-send September without its last 5 thefts and with one DA crime cancelled.

    Returns the change each police indicator of 2014/15 Q2 should show."""
    raw = path.read_bytes()
    lines = raw.decode("utf-8-sig").split("\r\n")
    header, rows = lines[0], [r for r in lines[1:] if r]
    parsed = list(csv.reader(rows))
    thefts = [
        i
        for i, r in enumerate(parsed)
        if r[3] == "49" and r[6] == r[7] == r[8] == "N" and r[9] == "Recorded"
    ][-5:]
    target = next(
        i
        for i, r in enumerate(parsed)
        if r[6] == "Y" and r[9] == "Recorded" and r[1].endswith("/09/2014")
    )
    crime = parsed[target]
    change = {
        "VA_DA_CRIMES": -1,
        "PV_PPV": -1 if reference.get(crime[3]) and crime[5] != "Dwelling" else 0,
        "GY_KNIFE_FIREARM": -1 if "Y" in (crime[7], crime[8]) else 0,
    }
    parsed[target][9] = "Cancelled"
    kept = [r for i, r in enumerate(parsed) if i not in thefts]
    buffer = []
    for row in kept:
        out = []
        for value in row:
            out.append(f'"{value}"' if "," in value or '"' in value else value)
        buffer.append(",".join(out))
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join([header, *buffer, ""]).encode("utf-8"))
    return change


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict:
    os.environ.update(TEST_KEYS)
    for variable in ("CSP_HOME", "CSP_AS_OF", "CSP_LA_CODE", "CSP_LA_NAME"):
        os.environ.pop(variable, None)
    staging = tmp_path_factory.mktemp("generated")
    home = tmp_path_factory.mktemp("home")
    truth = generate_landing(
        staging, la_code=LA, la_name=LA_NAME, first_month=FIRST, last_month=LAST, seed=11, scale=0.3
    )
    files = sorted(staging.glob("*/*"))
    for path in files:
        if _period_of(path) <= ROUND_ONE_LAST and path.name != LATE:
            target = home / "landing" / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    _build(home, "2014-08-10")
    round_one = _indicators(home)

    for path in files:
        if _period_of(path) > ROUND_ONE_LAST or path.name == LATE:
            shutil.copy2(path, home / "landing" / path.parent.name / path.name)
    # A re-delivered duplicate under another name.
    shutil.copy2(
        staging / "police_crime" / "police_crime_2013-05.csv",
        home / "landing" / "police_crime" / "police_crime_2013-05 (copy).csv",
    )
    _build(home, "2014-11-20")
    reference = {
        r["ho_class"]: r["violence_with_injury"] == "true"
        for r in csv.DictReader((REPO / "dbt_project/seeds/ho_offence_classes.csv").open())
    }
    change = _revise(home / "landing" / "police_crime" / REVISED, reference)
    # And a malformed revision of a good file: quarantined, while the good delivery stays
    # current and everything else is built (--strict says so in the exit code).
    good = (staging / "rny_treatment" / "rny_treatment_2014-09.csv").read_bytes()
    assert b",Probation," in good
    (home / "landing" / "rny_treatment" / "rny_treatment_2014-09.csv").write_bytes(
        good.replace(b",Probation,", b",Probaton,", 1)
    )
    _build(home, "2015-03-01", "--strict", expect=1)
    return {
        "home": home,
        "truth": truth,
        "round_one": round_one,
        "final": _indicators(home),
        "change": change,
    }


def _expected(truth: GroundTruth, code: str, quarter: str, change: dict[str, int]):
    value = truth.indicators[code][quarter]
    delta = change.get(code, 0) if quarter == "2014/15 Q2" else 0
    return value, delta


def test_every_delivered_quarter_matches_the_ground_truth(scenario: dict) -> None:
    truth: GroundTruth = scenario["truth"]
    final = scenario["final"]
    checked = 0
    for code, quarters in truth.indicators.items():
        for quarter, expected in quarters.items():
            row = final.get((code, quarter))
            if row is None:
                continue  # before the first delivered period (e.g. old referrals)
            assert row["data_status"] == "ok", (code, quarter, row["data_status"])
            _, delta = _expected(truth, code, quarter, scenario["change"])
            if expected.denominator is None or code == "RR_REOFFEND_DIFF":
                if code == "RR_REOFFEND_DIFF":
                    assert float(row["value"]) == pytest.approx(expected.value)
                    assert float(row["numerator"]) == pytest.approx(expected.numerator)
                    assert float(row["denominator"]) == pytest.approx(expected.denominator)
                else:
                    assert int(row["value"]) == expected.value + delta, (code, quarter)
                    assert row["numerator"] == "" and row["denominator"] == ""
            else:
                assert int(float(row["numerator"])) == expected.numerator, (code, quarter)
                assert int(float(row["denominator"])) == expected.denominator, (code, quarter)
                if expected.value is None:
                    assert row["value"] == ""
                else:
                    assert float(row["value"]) == pytest.approx(expected.value, abs=0.05)
            checked += 1
    assert checked > 60


def test_year_to_date_rag_and_direction_follow_the_rules(scenario: dict) -> None:
    truth: GroundTruth = scenario["truth"]
    final = scenario["final"]
    change = scenario["change"]
    q1, q2 = "2014/15 Q1", "2014/15 Q2"
    for code in ("PV_PPV", "VA_DA_CRIMES", "VA_IDVA_HIGH_RISK", "VA_SCREENED"):
        expected = truth.ytd(code, [q1, q2]).value + change.get(code, 0)
        assert int(final[(code, q2)]["ytd_value"]) == expected, code
        assert (
            int(final[(code, q2)]["ytd_prev_value"])
            == truth.ytd(code, ["2013/14 Q1", "2013/14 Q2"]).value
        ), code
    repeat = truth.ytd("VA_REPEAT_RATE", [q1, q2])
    assert float(final[("VA_REPEAT_RATE", q2)]["ytd_value"]) == pytest.approx(
        100 * repeat.numerator / repeat.denominator, abs=0.05
    )
    reoffend = final[("RR_REOFFEND_DIFF", "2014/15 Q1")]
    diff = float(reoffend["ytd_value"])  # latest: the quarter's own value
    assert diff == pytest.approx(truth.indicators["RR_REOFFEND_DIFF"]["2014/15 Q1"].value)
    assert reoffend["rag_status"] == (
        "Green" if diff <= -12 else "Amber" if diff <= -12 + 0.6 else "Red"
    )
    ppv = final[("PV_PPV", q2)]
    this, last = int(ppv["value"]), int(final[("PV_PPV", "2013/14 Q2")]["value"])
    assert ppv["direction"] == (
        "improving" if this < last else "worsening" if this > last else "no change"
    )
    assert final[("VA_SCREENED", q2)]["direction"] == ""  # polarity none


def test_round_one_statuses_on_its_as_of_date(scenario: dict) -> None:
    first = scenario["round_one"]
    # As of 10 August 2014: June's police file arrived (due 15 July), July's is not due yet.
    assert first[("PV_PPV", "2014/15 Q1")]["data_status"] == "ok"
    assert first[("PV_PPV", "2014/15 Q2")]["data_status"] == "pending"
    assert first[("PV_PPV", "2014/15 Q2")]["value"] == ""
    # IDVA 2014/15 Q1 was due 30 July and is not there: missing, with a note.
    idva = first[("VA_IDVA_HIGH_RISK", "2014/15 Q1")]
    assert idva["data_status"] == "missing" and "2014/15 Q1" in idva["status_note"]
    # Rows run through the quarter holding the as-of date, and no further.
    assert max(q for _, q in first) == "2014/15 Q2"


def test_duplicate_and_revision_are_in_the_manifest(scenario: dict) -> None:
    home = scenario["home"]
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        statuses = dict(
            con.execute(
                "select file_name, list(status order by delivery_id) from raw.deliveries "
                "where feed = 'police_crime' and period_label in ('2013-05', '2014-09') "
                "group by file_name"
            ).fetchall()
        )
        assert statuses[REVISED] == ["superseded", "loaded"]
        assert statuses["police_crime_2013-05.csv"] == ["loaded"]
        assert "police_crime_2013-05 (copy).csv" not in statuses
        lost = con.execute(
            "select count(*) from fct_crime c join raw.deliveries d using (delivery_id) "
            "where d.status <> 'loaded'"
        ).fetchone()[0]
        assert lost == 0  # every counted crime comes from a current delivery
        archive = list((home / "archive" / "police_crime").iterdir())
        assert len(archive) == 19  # 18 months + the revision


def test_a_malformed_file_is_quarantined_and_the_rest_still_built(scenario: dict) -> None:
    home = scenario["home"]
    folder = home / "quarantine" / "rny_treatment"
    assert (folder / "rny_treatment_2014-09.csv").exists()
    reason = json.loads((folder / "rny_treatment_2014-09.csv.reason.json").read_text())
    assert reason["rule"] == "allowed_values" and "Probaton" in reason["summary"]
    assert not (home / "landing" / "rny_treatment" / "rny_treatment_2014-09.csv").exists()
    # Its feed's figures come from the good files (checked against the ground truth above).
    assert scenario["final"][("SM_CJ_REFERRALS", "2014/15 Q2")]["data_status"] == "ok"


def test_no_personal_data_anywhere_in_the_warehouse(scenario: dict) -> None:
    truth: GroundTruth = scenario["truth"]
    data = (scenario["home"] / "warehouse.duckdb").read_bytes()
    secrets = truth.personal.all_values()
    assert len(secrets) > 100
    leaked = [s for s in secrets if s.encode("utf-8") in data]
    assert leaked == []


def test_the_run_log_has_a_line_per_new_file_and_one_for_those_already_loaded(
    scenario: dict,
) -> None:
    # Each log line is a row in Dagster's event log; one per landed file cost about 16 s a
    # build at national size (BENCHMARKS.md).
    import dagster as dg

    with dg.DagsterInstance.from_config(str(scenario["home"] / "dagster")) as instance:
        last_run = instance.get_runs(limit=1)[0]
        police = [
            entry.user_message
            for entry in instance.all_logs(last_run.run_id)
            if entry.user_message.startswith("police_crime: ")
        ]
    landed = list((scenario["home"] / "landing" / "police_crime").iterdir())
    assert len(landed) == 19  # 18 months and the copy
    assert len(police) == 3, police
    copy, revision = sorted(police[:2])
    assert copy.startswith(
        "police_crime: police_crime_2013-05 (copy).csv duplicate (same "
        "bytes as police_crime_2013-05.csv"
    )
    assert revision.startswith(f"police_crime: {REVISED} loaded")
    assert police[-1] == "police_crime: 17 file(s) in landing already loaded"
