"""Property tests: any well-formed police, treatment or MoJ file written as docs/feeds.md
describes reads back typed.

Records are drawn at random within the contract (text with commas, quotes, line breaks and
non-ASCII letters, blanks where a column may be blank, thousands separators and ``..``
suppression in the MoJ table), written exactly as the partner writes them, read through
``read_delivery`` and compared with the typed values they stand for. Identifiers compare as
HMAC tokens and the date of birth as an age band: personal data never comes back out.
"""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import date, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.contracts import contract_for
from core.periods import calendar_month, quarter_ending
from core.problems import RejectedFile
from ingest.readers import read_delivery
from tests.conftest import test_pseudonymiser

PSEUDO = test_pseudonymiser()
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

POLICE = contract_for("police_crime")
TREATMENT = contract_for("rny_treatment")
MOJ = contract_for("moj_reoffending")

# Letters a partner's text really holds. 'Ã', 'Â' and 'â' are left out: in front of another
# accented letter they are what mojibake looks like, which the reader rejects on purpose.
ACCENTED = "éèüöñçßÖÉ’‘“”£€–—"
TEXT = st.text(
    alphabet=st.sampled_from(
        list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789 ,\"'-/&()") + list(ACCENTED)
    ),
    max_size=24,
)
MULTILINE = st.text(
    alphabet=st.sampled_from(list("abcdefghij XYZ0123,\"'\n") + list(ACCENTED)), max_size=40
)
NON_BLANK = TEXT.filter(lambda s: s.strip() != "")


def dmy(d: date | None) -> str:
    return d.strftime("%d/%m/%Y") if d else ""


def blank_to_none(text: str) -> str | None:
    return text if text != "" else None


def dates(first: date, last: date) -> st.SearchStrategy[date]:
    return st.integers(0, (last - first).days).map(lambda n: first + timedelta(days=n))


def csv_text(rows: list[list[str]], terminator: str = "\r\n") -> str:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator=terminator).writerows(rows)
    return buffer.getvalue()


def read(name: str, data: bytes, contract, period):
    with tempfile.TemporaryDirectory(prefix="csp-prop-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        result = read_delivery(path, contract, period, PSEUDO, la_code=None)
    [table] = result.tables.values()
    return table.to_pylist()


# ---------------------------------------------------------------------------------------------
# Police
# ---------------------------------------------------------------------------------------------

MONTHS = st.sampled_from([(2013, 4), (2013, 12), (2014, 2), (2014, 7), (2014, 10)])
HO_CLASSES = POLICE.tables[0].column("ho_class").reference
LOCATIONS = POLICE.tables[0].column("location_type").allowed


@st.composite
def police_file(draw):
    year, month = draw(MONTHS)
    period = calendar_month(year, month)
    numbers = draw(st.lists(st.integers(100000, 999999), min_size=1, max_size=8, unique=True))
    records = []
    for number in numbers:
        recorded = draw(dates(period.start, period.end))
        offence = draw(st.none() | dates(recorded - timedelta(days=400), recorded))
        records.append(
            {
                "crime_reference": f"20WM/{number}{draw(st.sampled_from('FGHJKT'))}/{year % 100}",
                "recorded_date": recorded,
                "offence_date": offence,
                "ho_class": draw(st.sampled_from(HO_CLASSES)),
                "offence_description": draw(MULTILINE),
                "location_type": draw(st.sampled_from(LOCATIONS)),
                "da_flag": draw(st.booleans()),
                "knife_flag": draw(st.booleans()),
                "firearm_flag": draw(st.booleans()),
                "status": draw(st.sampled_from(["Recorded", "Cancelled"])),
                "victim_age": draw(st.none() | st.integers(0, 120)),
                "lsoa_code": draw(st.sampled_from(["", "E01010412", "E01025048"])),
                "ward": draw(TEXT),
                "sector": draw(TEXT),
            }
        )
    return period, records


def yn(flag: bool) -> str:
    return "Y" if flag else "N"


@SETTINGS
@given(police_file())
def test_any_well_formed_police_extract_reads_back_typed(case) -> None:
    period, records = case
    rows = [POLICE.tables[0].source_names] + [
        [
            r["crime_reference"],
            dmy(r["recorded_date"]),
            dmy(r["offence_date"]),
            r["ho_class"],
            r["offence_description"],
            r["location_type"],
            yn(r["da_flag"]),
            yn(r["knife_flag"]),
            yn(r["firearm_flag"]),
            r["status"],
            "" if r["victim_age"] is None else str(r["victim_age"]),
            r["lsoa_code"],
            r["ward"],
            r["sector"],
        ]
        for r in records
    ]
    # Saved from Excel: UTF-8 with a byte-order mark, CRLF line endings.
    data = b"\xef\xbb\xbf" + csv_text(rows).encode("utf-8")
    got = read(f"police_crime_{period.label}.csv", data, POLICE, period)
    expected = [
        {
            "source_row": i + 2,
            **r,
            **{
                k: blank_to_none(r[k])
                for k in ("offence_description", "lsoa_code", "ward", "sector")
            },
        }
        for i, r in enumerate(records)
    ]
    assert got == expected


# ---------------------------------------------------------------------------------------------
# Treatment
# ---------------------------------------------------------------------------------------------

T = TREATMENT.tables[0]


def age_band(dob: date | None, at: date) -> str | None:
    if dob is None:
        return None
    years = at.year - dob.year - ((at.month, at.day) < (dob.month, dob.day))
    for limit, band in (
        (18, "under 18"),
        (25, "18-24"),
        (35, "25-34"),
        (45, "35-44"),
        (55, "45-54"),
    ):
        if years < limit:
            return band
    return "55+"


NOTES_1252 = st.text(
    alphabet=st.sampled_from(list("abcdefghij XYZ0123,\"'\n;") + list("éüñçÉ’‘“”£€–—")), max_size=60
)


@st.composite
def treatment_file(draw):
    year, month = draw(MONTHS)
    period = calendar_month(year, month)
    clients = draw(st.lists(st.integers(1, 999999), min_size=1, max_size=8, unique=True))
    records = []
    for client in clients:
        referral = draw(dates(period.end - timedelta(days=700), period.end))
        start = draw(st.none() | dates(referral, period.end))
        discharge = draw(st.none() | dates(start or referral, period.end))
        records.append(
            {
                "client_id": f"RNY{client:06d}",
                "dob": draw(st.none() | dates(date(1930, 1, 1), date(2005, 12, 31))),
                "sex": draw(st.sampled_from(T.column("sex").allowed)),
                "referral_date": referral,
                "referral_source": draw(st.sampled_from(T.column("referral_source").allowed)),
                "substance": draw(st.sampled_from(T.column("substance").allowed)),
                "class_a_positive": draw(st.sampled_from([None, True, False])),
                "treatment_start_date": start,
                "discharge_date": discharge,
                "discharge_reason": (
                    draw(st.sampled_from(T.column("discharge_reason").allowed))
                    if discharge
                    else None
                ),
                "iom_cohort": draw(st.booleans()),
                "required_assessment": draw(
                    st.sampled_from(T.column("required_assessment").allowed)
                ),
                "mental_health_referral": draw(st.booleans()),
                "notes": draw(NOTES_1252),
            }
        )
    return period, records


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@SETTINGS
@given(treatment_file())
def test_any_well_formed_treatment_file_reads_back_typed(case) -> None:
    period, records = case
    rows = [T.source_names] + [
        [
            r["client_id"],
            dmy(r["dob"]),
            r["sex"],
            dmy(r["referral_date"]),
            r["referral_source"],
            r["substance"],
            {None: "", True: "Y", False: "N"}[r["class_a_positive"]],
            dmy(r["treatment_start_date"]),
            dmy(r["discharge_date"]),
            r["discharge_reason"] or "",
            yn(r["iom_cohort"]),
            r["required_assessment"],
            yn(r["mental_health_referral"]),
            r["notes"],
        ]
        for r in records
    ]
    data = csv_text(rows).encode("cp1252")
    name = f"rny_treatment_{period.label}.csv"
    if not data.isascii() and _is_utf8(data):
        # Windows-1252 bytes that are also valid UTF-8 (e.g. 'é’’') cannot be told apart from
        # a file saved as UTF-8: the reader refuses them rather than guess.
        try:
            read(name, data, TREATMENT, period)
        except RejectedFile as rejected:
            assert rejected.rule == "encoding"
            return
        raise AssertionError("an ambiguous cp1252/UTF-8 file was accepted")
    got = read(name, data, TREATMENT, period)
    expected = [
        {
            "source_row": i + 2,
            "client_token": PSEUDO.token("treatment", r["client_id"]),
            "client_token_key_version": "treatment/v1",
            "age_band": age_band(r["dob"], r["referral_date"]),
            **{
                k: r[k]
                for k in (
                    "sex",
                    "referral_date",
                    "referral_source",
                    "substance",
                    "class_a_positive",
                    "treatment_start_date",
                    "discharge_date",
                    "discharge_reason",
                    "iom_cohort",
                    "required_assessment",
                    "mental_health_referral",
                )
            },
        }
        for i, r in enumerate(records)
    ]
    assert got == expected
    assert all("RNY" not in str(v) for row in got for v in row.values())


# ---------------------------------------------------------------------------------------------
# MoJ reoffending table
# ---------------------------------------------------------------------------------------------

QUARTER_ENDS = st.sampled_from([(2013, 3), (2013, 12), (2014, 6), (2014, 9)])
# One line per record in this table: names hold no line breaks.
NAME = st.text(
    alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ -,'\"&()") + list("ôéüñ’")),
    min_size=1,
    max_size=30,
).filter(lambda s: s.strip() != "")


def thousands(n: int) -> str:
    return f"{n:,}"


@st.composite
def moj_file(draw):
    year, month = draw(QUARTER_ENDS)
    period = quarter_ending(year, month)
    codes = draw(st.lists(st.integers(0, 9999999), min_size=1, max_size=10, unique=True))
    records = []
    for code in codes:
        offenders = draw(st.integers(0, 60000))
        if offenders < 30:
            rates = (None, None, None, None)
        else:
            rates = (
                draw(st.integers(0, 10000)) / 100,
                draw(st.integers(1, 10000)) / 100,
                draw(st.integers(-9999, 9999)) / 10,
                draw(st.booleans()),
            )
        records.append(
            {
                "la_code": f"E0{code:07d}",
                "local_authority": draw(NAME),
                "probation_trust": draw(st.just("") | NAME),
                "offenders": offenders,
                "actual_rate": rates[0],
                "predicted_rate": rates[1],
                "difference_pct": rates[2],
                "significant": rates[3],
            }
        )
    return period, records


@SETTINGS
@given(moj_file())
def test_any_well_formed_moj_table_reads_back_typed(case) -> None:
    period, records = case

    def shown(value: float | None, places: int) -> str:
        return ".." if value is None else f"{value:.{places}f}"

    data_rows = [
        [
            r["la_code"],
            r["local_authority"],
            r["probation_trust"],
            thousands(r["offenders"]),  # "2,148" (quoted by the writer) from 1,000 up
            shown(r["actual_rate"], 2),
            shown(r["predicted_rate"], 2),
            shown(r["difference_pct"], 1),
            ".." if r["significant"] is None else ("Yes" if r["significant"] else "No"),
        ]
        for r in records
    ]
    text = (
        "Local Adult Reoffending: actual and predicted rates by local authority\n"
        f"Period: {period.start:%B %Y} to {period.end:%B %Y}\n"
        "\n"
        + csv_text([MOJ.tables[0].source_names] + data_rows, "\n")
        + "\nNotes:\n1. Rates are suppressed (..) where fewer than 30 offenders are in the "
        "cohort.\n"
    )
    got = read(f"moj_reoffending_{period.end:%Y-%m}.csv", text.encode("utf-8"), MOJ, period)
    expected = [
        {"source_row": i + 5, **r, "probation_trust": blank_to_none(r["probation_trust"])}
        for i, r in enumerate(records)
    ]
    assert got == expected
