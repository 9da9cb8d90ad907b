"""Ingest on real files into a real DuckDB file: each quirk of docs/feeds.md, identity,
supersession, PII."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from core.contracts import all_contracts, contract_for
from core.periods import parse_quarter_label
from ingest.arrivals import LandedHashes
from ingest.landing import ingest_feed
from ingest.pseudonymise import MissingKeyError, load_pseudonymiser
from ingest.warehouse import connect, raw_table_ddl
from tests.conftest import drop, example

LA = "E08000031"


def ingest(home: Path, feed: str):
    """Run the ingest of one feed over the home's landing folder."""
    return ingest_feed(
        feed,
        home=home,
        warehouse=home / "warehouse.duckdb",
        pseudonymiser=load_pseudonymiser(home),
        la_code=LA,
    )


def query(home: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_police_extract_with_bom_and_crlf_is_read_typed(home: Path) -> None:
    source = example("police_crime_2014-07.csv")
    assert source.read_bytes().startswith(b"\xef\xbb\xbf") and b"\r\n" in source.read_bytes()
    drop(home, "police_crime", source)
    [outcome] = ingest(home, "police_crime")
    assert outcome.action == "loaded" and outcome.rows == 8 and outcome.period == "2014-07"
    row = query(
        home,
        "select crime_reference, recorded_date, offence_date, ho_class, "
        "da_flag, knife_flag, victim_age, sector from raw.police_crime "
        "where source_row = 2",
    )[0]
    # The first data line of the sample, typed (and the BOM not glued to the first column).
    assert row == (
        "20WM/129318K/14",
        date(2014, 7, 9),
        date(2014, 7, 8),
        "19C",
        False,
        False,
        86,
        "Central",
    )


def test_treatment_cp1252_is_decoded_and_personal_data_never_loaded(home: Path) -> None:
    source = example("rny_treatment_2014-07.csv")
    raw_bytes = source.read_bytes()
    assert b"\x93" in raw_bytes  # a Windows-1252 smart quote in the free text
    drop(home, "rny_treatment", source)
    [outcome] = ingest(home, "rny_treatment")
    assert outcome.action == "loaded" and outcome.rows == 6
    columns = {
        r[0]
        for r in query(
            home,
            "select column_name from information_schema.columns where table_name = 'rny_treatment'",
        )
    }
    assert "keyworker_notes" not in columns and "date_of_birth" not in columns
    # RNY700036: born 25/12/1990, referred 31/08/2013 -> 22 at referral.
    tokens = query(
        home,
        "select client_token, age_band, referral_date, discharge_reason "
        "from raw.rny_treatment where source_row = 2",
    )[0]
    assert tokens[1:] == ("18-24", date(2013, 8, 31), "Completed - alcohol free")
    assert len(tokens[0]) == 64 and tokens[0] != "RNY700036"
    warehouse_bytes = (home / "warehouse.duckdb").read_bytes()
    for secret in (
        b"RNY700036",
        b"RNY513151",
        b"25/12/1990",
        b"1990-12-25",
        b"Church Street",
        b"Connor",
    ):
        assert secret not in warehouse_bytes, secret


def test_idva_workbook_title_rows_and_real_excel_dates(home: Path) -> None:
    drop(home, "idva_caseload", example("idva_caseload_2014-15_Q2.xlsx"))
    [outcome] = ingest(home, "idva_caseload")
    assert outcome.action == "loaded", outcome.reason
    cases = query(
        home,
        "select count(*), min(source_row), min(referral_date), "
        "count(*) filter (where case_token like 'IDVA%') from raw.idva_cases",
    )[0]
    assert cases[0] > 0 and cases[1] == 4 and isinstance(cases[2], date) and cases[3] == 0
    screening = query(
        home,
        "select screening_month, incidents_screened from raw.idva_screening "
        "order by screening_month",
    )
    assert screening[0] == (date(2014, 4, 1), 219)
    assert query(home, "select period_label, period_start from raw.deliveries")[0] == (
        "2014/15 Q2",
        date(2014, 7, 1),
    )


def test_moj_table_title_notes_suppression_and_thousands(home: Path) -> None:
    drop(home, "moj_reoffending", example("moj_reoffending_2013-12.csv"))
    [outcome] = ingest(home, "moj_reoffending")
    assert outcome.action == "loaded" and outcome.rows == 12 and outcome.period == "2013/14 Q3"
    rows = dict(
        (r[0], r[1:])
        for r in query(
            home,
            "select la_code, offenders, actual_rate, difference_pct, significant "
            "from raw.moj_reoffending",
        )
    )
    assert rows[LA] == (1746, 13.60, -1.2, False)  # "1,746" in quotes
    assert rows["E06000053"] == (12, None, None, None)  # '..' suppressed


def test_same_bytes_again_under_any_name_change_nothing(home: Path) -> None:
    source = example("police_crime_2014-07.csv")
    drop(home, "police_crime", source)
    ingest(home, "police_crime")
    before = query(home, "select count(*) from raw.police_crime")
    drop(home, "police_crime", source, "copy of police_crime_2014-07.csv")
    outcomes = ingest(home, "police_crime")
    assert {o.action for o in outcomes} == {"duplicate"}
    assert query(home, "select count(*) from raw.police_crime") == before
    assert query(home, "select count(*) from raw.deliveries") == [(1,)]


def test_later_delivery_for_the_same_period_supersedes_and_history_stays(home: Path) -> None:
    source = example("police_crime_2014-07.csv")
    path = drop(home, "police_crime", source)
    ingest(home, "police_crime")
    # The force re-sends July with one crime fewer (a revised extract, same name).
    lines = source.read_bytes().split(b"\r\n")
    path.write_bytes(b"\r\n".join(lines[:-2] + [b""]))
    [outcome] = ingest(home, "police_crime")
    assert outcome.action == "loaded" and outcome.rows == 7
    assert query(home, "select delivery_id, status from raw.deliveries order by 1") == [
        (1, "superseded"),
        (2, "loaded"),
    ]
    assert query(
        home, "select delivery_id, count(*) from raw.police_crime group by 1 order by 1"
    ) == [(1, 8), (2, 7)]
    archived = sorted(p.name for p in (home / "archive" / "police_crime").iterdir())
    assert len(archived) == 2 and all(p.endswith(".csv") for p in archived)


def test_file_name_outside_the_contract_is_quarantined_with_a_reason(home: Path) -> None:
    drop(home, "police_crime", example("police_crime_2014-07.csv"), "crimes July.csv")
    [outcome] = ingest(home, "police_crime")
    assert outcome.action == "rejected"
    reason = json.loads((home / "quarantine" / "police_crime" / "reason.json").read_text())
    assert reason["rule"] == "file_name" and reason["file"] == "crimes July.csv"
    assert (home / "quarantine" / "police_crime" / "crimes July.csv").exists()
    assert not (home / "landing" / "police_crime" / "crimes July.csv").exists()
    assert query(home, "select count(*) from raw.police_crime") == [(0,)]
    assert query(home, "select status from raw.deliveries") == [("rejected",)]


def test_moj_period_line_must_agree_with_the_file_name(home: Path) -> None:
    drop(
        home,
        "moj_reoffending",
        example("moj_reoffending_2013-12.csv"),
        "moj_reoffending_2014-03.csv",
    )
    [outcome] = ingest(home, "moj_reoffending")
    assert outcome.action == "rejected" and outcome.problems[0].rule == "period_mismatch"
    assert "line 2" in outcome.reason


def test_a_failed_load_leaves_the_delivery_absent(home: Path) -> None:
    drop(home, "police_crime", example("police_crime_2014-07.csv"))
    warehouse = home / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        from ingest.warehouse import ensure_raw_schema

        ensure_raw_schema(con)
        # A column the load does not fill and that may not be null: the insert fails midway.
        con.execute("alter table raw.police_crime add column audit varchar default 'x'")
        con.execute("alter table raw.police_crime alter column audit set not null")
        con.execute("alter table raw.police_crime alter column audit drop default")
    with pytest.raises(duckdb.Error):
        ingest(home, "police_crime")
    assert query(home, "select count(*) from raw.deliveries") == [(0,)]
    assert query(home, "select count(*) from raw.police_crime") == [(0,)]


def test_one_batch_holding_a_period_twice_keeps_only_the_last_loaded(tmp_path: Path) -> None:
    """``load_deliveries`` writes a batch's manifest rows in one statement: the later
    delivery of a partner's period must still supersede the earlier, in the batch or not."""
    from datetime import datetime

    import pyarrow as pa

    from core.periods import calendar_month
    from ingest.warehouse import DeliveryRecord, ensure_raw_schema, load_deliveries

    contract = contract_for("police_crime")
    july, august = calendar_month(2014, 7), calendar_month(2014, 8)
    table = contract.tables[0]
    with connect(tmp_path / "warehouse.duckdb") as con:
        ensure_raw_schema(con)
        # No crime rows: the manifest is the point.
        rows = (
            con.sql(f"select * exclude (delivery_id) from raw.{table.name} limit 0")
            .to_arrow_table()
            .add_column(0, "_file", pa.array([], pa.int32()))
        )

        def record(name: str, period: object, partner: str) -> DeliveryRecord:
            return DeliveryRecord(
                "police_crime",
                partner,
                name,
                hashlib.sha256(name.encode()).hexdigest(),
                period,
                datetime(2014, 9, 1),
                "E08000031",
            )

        earlier = load_deliveries(
            con, [record("a", july, "west-midlands")], contract, {table.name: rows}
        )
        batch = [
            record("b", july, "west-midlands"),
            record("c", august, "west-midlands"),
            record("d", july, "west-midlands"),
            record("e", july, "staffordshire"),
        ]
        ids = load_deliveries(con, batch, contract, {table.name: rows})
        manifest = con.execute(
            "select delivery_id, file_name, status from raw.deliveries order by delivery_id"
        ).fetchall()
    assert ids == [earlier[0] + 1 + n for n in range(4)]
    assert manifest == [
        (1, "a", "superseded"),
        (2, "b", "superseded"),
        (3, "c", "loaded"),
        (4, "d", "loaded"),
        (5, "e", "loaded"),
    ]


def test_no_key_no_ingest(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CSP_PSEUDO_KEY_DOMESTIC_ABUSE")
    with pytest.raises(MissingKeyError, match="CSP_PSEUDO_KEY_DOMESTIC_ABUSE") as raised:
        load_pseudonymiser(home)
    assert "CSP_PSEUDO_KEY_TREATMENT" not in str(raised.value)


def test_contract_periods_follow_the_financial_year() -> None:
    moj = contract_for("moj_reoffending")
    assert moj.period_from_file_name("moj_reoffending_2014-03.csv").label == "2013/14 Q4"
    assert moj.period_from_file_name("moj_reoffending_2014-04.csv") is None
    idva = contract_for("idva_caseload")
    assert idva.period_from_file_name("idva_caseload_2014-16_Q2.xlsx") is None
    assert parse_quarter_label("2014/15 Q3").start == date(2014, 10, 1)
    with pytest.raises(ValueError):
        parse_quarter_label("2014/16 Q3")


def test_raw_tables_carry_no_free_text_or_raw_identifiers() -> None:
    for contract in all_contracts().values():
        for table in contract.tables:
            ddl = raw_table_ddl(table)
            for column in table.columns:
                if column.pii == "drop":
                    assert column.name not in ddl
            assert "delivery_id" in ddl and "source_row" in ddl


def test_a_file_still_being_copied_in_is_waited_for(home: Path) -> None:
    data = example("police_crime_2014-07.csv").read_bytes()
    target = home / "landing" / "police_crime" / "police_crime_2014-07.csv"
    target.parent.mkdir(parents=True)
    target.write_bytes(data[: len(data) // 2])  # half a file, cut mid-row

    def finish_copy() -> None:
        time.sleep(0.6)
        with target.open("ab") as handle:
            handle.write(data[len(data) // 2 :])

    copier = threading.Thread(target=finish_copy)
    copier.start()
    [outcome] = ingest_feed(
        "police_crime",
        home=home,
        warehouse=home / "warehouse.duckdb",
        pseudonymiser=load_pseudonymiser(home),
        la_code=LA,
        min_age_seconds=1.0,
    )
    copier.join()
    assert outcome.action == "loaded" and outcome.rows == 8


# --- hashes of files left in landing -----------------------------------------------------


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_an_unchanged_landed_file_is_not_read_again(tmp_path: Path) -> None:
    landed = tmp_path / "police_crime_2014-07.csv"
    landed.write_bytes(b"first")
    store = tmp_path / "state" / "landed-hashes.json"
    first = LandedHashes(store, settle_ns=0)
    assert first.sha256(landed) == _sha(b"first") and first.hits == 0
    first.save()
    again = LandedHashes(store, settle_ns=0)
    assert again.sha256(landed) == _sha(b"first") and again.hits == 1
    # The same files again: the store is not written at all (the sensor saves every tick).
    written = store.stat()
    again.save()
    assert store.stat().st_mtime_ns == written.st_mtime_ns
    assert store.stat().st_ino == written.st_ino


def test_a_rewritten_file_is_hashed_again_even_with_its_old_size_and_mtime(tmp_path: Path) -> None:
    landed = tmp_path / "police_crime_2014-07.csv"
    landed.write_bytes(b"first")
    stamp = landed.stat()
    store = tmp_path / "landed-hashes.json"
    first = LandedHashes(store, settle_ns=0)
    first.sha256(landed)
    first.save()
    time.sleep(0.01)
    landed.write_bytes(b"other")  # same size; the modification time is put back
    os.utime(landed, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert landed.stat().st_mtime_ns == stamp.st_mtime_ns
    again = LandedHashes(store, settle_ns=0)
    assert again.sha256(landed) == _sha(b"other") and again.hits == 0


def test_a_hash_taken_just_after_a_write_is_not_remembered(tmp_path: Path) -> None:
    landed = tmp_path / "police_crime_2014-07.csv"
    landed.write_bytes(b"first")
    store = tmp_path / "landed-hashes.json"
    first = LandedHashes(store)  # the default: two seconds
    first.sha256(landed)
    first.save()
    assert json.loads(store.read_text()) == {}
    store.write_text("{not json")
    assert LandedHashes(store).sha256(landed) == _sha(b"first")  # a damaged store is empty


def test_the_warehouse_connection_keeps_duckdb_within_the_configured_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CSP_DUCKDB_MEMORY_LIMIT", "256MB")
    with connect(tmp_path / "warehouse.duckdb") as con:
        limit = con.execute("select current_setting('memory_limit')").fetchone()[0]
    assert limit.startswith("244") or limit.startswith("256"), limit  # DuckDB prints MiB
    monkeypatch.setenv("CSP_DUCKDB_MEMORY_LIMIT", "all of it'; drop table x; --")
    with pytest.raises(ValueError, match="CSP_DUCKDB_MEMORY_LIMIT"):
        with connect(tmp_path / "warehouse.duckdb"):
            pass
