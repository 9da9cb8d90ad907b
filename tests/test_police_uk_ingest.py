"""The police_uk feed takes data.police.uk's files exactly as downloaded (tests/data/public).

Ingest only (no dbt): what is loaded, what is refused and why, archives, and names. The whole
path to the marts is tests/test_police_uk.py.
"""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from pathlib import Path

import duckdb
import pytest

from ingest.arrivals import unowned_entries, unowned_message
from ingest.landing import ingest_feed
from ingest.pseudonymise import load_pseudonymiser

PUBLIC = Path(__file__).resolve().parent / "data" / "public" / "police_uk"
JANUARY = PUBLIC / "2018-01-city-of-london-street.csv"


def _ingest(home: Path) -> list:
    # A home of public data alone needs no pseudonymisation key.
    return ingest_feed(
        "police_uk",
        home=home,
        warehouse=home / "warehouse.duckdb",
        pseudonymiser=load_pseudonymiser(home, domains=[]),
        la_code="E22000180",
    )


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _landing(home: Path) -> Path:
    folder = home / "landing" / "police_uk"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _query(home: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def _bytes_with(path: Path, *, bom: bool = False, newline: str = "\r\n") -> bytes:
    text = path.read_bytes().decode("utf-8").replace("\r\n", "\n")
    return (b"\xef\xbb\xbf" if bom else b"") + text.replace("\n", newline).encode("utf-8")


def test_a_real_file_loads_every_row_as_published(tmp_path: Path) -> None:
    shutil.copy(JANUARY, _landing(tmp_path))
    [outcome] = _ingest(tmp_path)
    rows = _rows(JANUARY)
    assert outcome.action == "loaded", outcome.reason
    assert (outcome.period, outcome.rows) == ("2018-01", len(rows))
    # Anti-social behaviour without a Crime ID, repeated Crime IDs, rows with no LSOA: all kept.
    no_id = sum(1 for r in rows if not r["Crime ID"])
    no_lsoa = sum(1 for r in rows if not r["LSOA code"])
    assert no_id and no_lsoa
    assert _query(
        tmp_path,
        "select count(*), count(*) - count(crime_id), "
        "count(*) - count(lsoa_code) from raw.police_uk_street",
    ) == [(len(rows), no_id, no_lsoa)]
    assert _query(tmp_path, "select feed, partner, period_label, status from raw.deliveries") == [
        ("police_uk", "city-of-london", "2018-01", "loaded")
    ]


@pytest.mark.parametrize(("bom", "newline"), [(True, "\r\n"), (False, "\n"), (True, "\n")])
def test_line_endings_and_byte_order_mark_as_downloads_vary(
    tmp_path: Path, bom: bool, newline: str
) -> None:
    (_landing(tmp_path) / JANUARY.name).write_bytes(_bytes_with(JANUARY, bom=bom, newline=newline))
    [outcome] = _ingest(tmp_path)
    assert outcome.action == "loaded", outcome.reason
    assert outcome.rows == len(_rows(JANUARY))


def _rewritten(path: Path, change) -> bytes:
    rows = _rows(path)
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(change(rows))
    return out.getvalue().encode("utf-8")


def test_an_unknown_crime_type_is_a_named_rejection(tmp_path: Path) -> None:
    def rename(rows):
        rows[3]["Crime type"] = "Cyber crime"
        return rows

    (_landing(tmp_path) / JANUARY.name).write_bytes(_rewritten(JANUARY, rename))
    [outcome] = _ingest(tmp_path)
    assert outcome.action == "rejected"
    assert "'Crime type'" in outcome.reason and "police_uk_crime_types" in outcome.reason
    assert [p.rule for p in outcome.problems] == ["unknown_code"]
    assert outcome.problems[0].examples[0]["row"] == 5  # the header is line 1


def test_a_month_in_the_rows_other_than_the_name_is_refused(tmp_path: Path) -> None:
    def move(rows):
        for row in rows[:2]:
            row["Month"] = "2017-12"
        return rows

    (_landing(tmp_path) / JANUARY.name).write_bytes(_rewritten(JANUARY, move))
    [outcome] = _ingest(tmp_path)
    assert outcome.action == "rejected"
    assert [p.rule for p in outcome.problems] == ["month_mismatch"]
    assert "2018-01" in outcome.reason and outcome.problems[0].row_count == 2


def test_a_misnamed_file_is_told_the_name_in_plain_words(tmp_path: Path) -> None:
    shutil.copy(JANUARY, _landing(tmp_path) / "city-of-london-jan-2018.csv")
    [outcome] = _ingest(tmp_path)
    assert outcome.action == "rejected"
    assert "2018-01-city-of-london-street.csv" in outcome.reason
    assert "(?P<" not in outcome.reason and "\\d" not in outcome.reason


def test_an_unknown_force_is_refused_by_its_name(tmp_path: Path) -> None:
    shutil.copy(JANUARY, _landing(tmp_path) / "2018-01-gotham-street.csv")
    [outcome] = _ingest(tmp_path)
    assert outcome.action == "rejected" and "force as data.police.uk writes it" in outcome.reason


def test_the_archive_download_is_unpacked_and_other_kinds_listed(tmp_path: Path) -> None:
    archive = _landing(tmp_path) / "a1b2c3d4.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for month in ("01", "02"):
            name = f"2018-{month}-city-of-london-street.csv"
            zipped.write(PUBLIC / name, f"2018-{month}/{name}")
        zipped.writestr(
            "2018-01/2018-01-city-of-london-outcomes.csv",
            "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,"
            "LSOA code,LSOA name,Outcome type\r\n",
        )
        zipped.writestr("2018-01/2018-01-city-of-london-stop-and-search.csv", "Type\r\n")
        zipped.writestr(
            "../../escape/2018-03-city-of-london-street.csv",
            (PUBLIC / "2018-03-city-of-london-street.csv").read_bytes(),
        )
    outcomes = _ingest(tmp_path)
    unpacked = [o for o in outcomes if o.action == "unpacked"]
    loaded = sorted(o.period for o in outcomes if o.action == "loaded")
    assert len(unpacked) == 1 and "3 file(s) taken" in unpacked[0].reason
    assert "outcomes.csv" in unpacked[0].reason and "stop-and-search.csv" in unpacked[0].reason
    # An entry's folders are never used: the "escaping" entry lands beside the others.
    assert loaded == ["2018-01", "2018-02", "2018-03"]
    assert not archive.exists() and not (tmp_path / "escape").exists()


def test_a_damaged_archive_is_quarantined_and_nothing_of_it_loaded(tmp_path: Path) -> None:
    good = io.BytesIO()
    with zipfile.ZipFile(good, "w") as zipped:
        zipped.write(JANUARY, f"2018-01/{JANUARY.name}")
    (_landing(tmp_path) / "download.zip").write_bytes(good.getvalue()[:-40])
    [outcome] = _ingest(tmp_path)
    assert outcome.action == "rejected" and outcome.problems[0].rule == "archive_unreadable"
    assert not list(_landing(tmp_path).iterdir())
    assert (tmp_path / "quarantine" / "police_uk").is_dir()
    assert _query(tmp_path, "select count(*) from raw.police_uk_street") == [(0,)]


def test_files_where_no_feed_looks_are_named(tmp_path: Path) -> None:
    (tmp_path / "landing").mkdir()
    shutil.copy(JANUARY, tmp_path / "landing" / JANUARY.name)
    (tmp_path / "landing" / "police").mkdir()
    shutil.copy(JANUARY, tmp_path / "landing" / "police" / JANUARY.name)
    (tmp_path / "landing" / "police_uk").mkdir()
    names = unowned_entries(tmp_path / "landing")
    assert names == [JANUARY.name, f"police/{JANUARY.name}"]
    message = unowned_message(tmp_path / "landing", names)
    assert message and "police_uk/ (YYYY-MM-<force>-street.csv" in message


def test_a_month_is_due_by_the_end_of_the_second_month_after_it() -> None:
    from datetime import date, datetime

    from core.feed_status import Delivered, feed_status
    from orchestration.config import feed_calendar

    [entry] = [e for e in feed_calendar({}) if e.feed == "police_uk"]
    assert entry.due_date(date(2018, 1, 31)) == date(2018, 3, 31)
    assert entry.due_date(date(2018, 12, 31)) == date(2019, 2, 28)
    january = Delivered(
        "police_uk",
        "2018-01",
        date(2018, 1, 1),
        datetime(2018, 3, 2),
        "loaded",
        JANUARY.name,
        "city-of-london",
    )
    assert feed_status(entry, [january], date(2018, 4, 30)).state == "on time"
    # February was due by 30 April, March by 31 May: two months overdue is a stopped feed.
    late = feed_status(entry, [january], date(2018, 5, 1))
    assert (late.state, [p.label for p in late.overdue]) == ("late", ["2018-02"])
    assert feed_status(entry, [january], date(2018, 6, 1)).state == "stopped"
    # Configurable per home, as any feed's due rule.
    [slower] = [
        e
        for e in feed_calendar({"feeds": {"police_uk": {"due_months_after_period_end": 3}}})
        if e.feed == "police_uk"
    ]
    assert slower.due_date(date(2018, 1, 31)) == date(2018, 4, 30)
