"""One hand-made scenario of raw rows for the dbt tests, with its answers worked out by hand.

Partnership E08000031 (Wolverhampton); Birmingham (E08000025) appears only in the MoJ table.
Reported quarters: 2012/13 Q3 (the first MoJ table) through 2014/15 Q3 (as_of in December 2014).
"""

from __future__ import annotations

import datetime as dt

from dbt_raw_tables import create_raw_tables, insert_rows

LA = "E08000031"
OTHER_LA = "E08000025"
D = dt.date.fromisoformat

FEED_CALENDAR = [
    # feed, partner, cadence, due_days, calendar_start, suspended_since, suspension_reason
    ("police_crime", "Police", "monthly", 15, None, None, None),
    # Configured earlier than the first delivery (2014-04): 2013/14 Q4 is expected too.
    ("rny_treatment", "Treatment provider", "monthly", 20, D("2014-01-01"), None, None),
    ("idva_caseload", "IDVA service", "quarterly", 30, None, None, None),
    (
        "moj_reoffending",
        "Ministry of Justice",
        "quarterly",
        150,
        None,
        D("2014-01-01"),
        "MoJ publication paused",
    ),
    ("partner_returns", None, "quarterly", 30, None, None, None),
]

_deliveries: list[tuple] = []
_rows: dict[str, list[tuple]] = {
    t: []
    for t in ("police_crime", "rny_treatment", "idva_cases", "idva_screening", "moj_reoffending")
}


def _month_end(start: dt.date) -> dt.date:
    nxt = dt.date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def _deliver(feed, partner, label, start, end, status="loaded", la_code=LA) -> int:
    delivery_id = len(_deliveries) + 1
    _deliveries.append(
        (
            delivery_id,
            feed,
            partner,
            f"{feed}_{label}",
            f"sha{delivery_id}",
            label,
            start,
            end,
            0,
            dt.datetime(2014, 1, 1) + dt.timedelta(days=delivery_id),
            status,
            "bad header" if status == "rejected" else None,
            la_code,
        )
    )
    return delivery_id


def police(month: str, crimes: list[tuple], status="loaded") -> int:
    start = D(month + "-01")
    delivery_id = _deliver("police_crime", "Police", month, start, _month_end(start), status)
    for row, (ref, recorded, ho_class, location, da, knife, firearm, crime_status) in enumerate(
        crimes, 2
    ):
        _rows["police_crime"].append(
            (
                delivery_id,
                row,
                ref,
                D(recorded),
                None,
                ho_class,
                None,
                location,
                da,
                knife,
                firearm,
                crime_status,
                30,
                "E01010412",
                "Park",
                "Central",
            )
        )
    return delivery_id


def treatment(month: str, episodes: list[tuple]) -> int:
    start = D(month + "-01")
    delivery_id = _deliver("rny_treatment", "Treatment provider", month, start, _month_end(start))
    for row, (client, referral, source, class_a, started, discharged, reason, ra, mh) in enumerate(
        episodes, 2
    ):
        _rows["rny_treatment"].append(
            (
                delivery_id,
                row,
                client,
                "25-34",
                "M",
                D(referral),
                source,
                "Opiates",
                class_a,
                started and D(started),
                discharged and D(discharged),
                reason,
                False,
                ra,
                mh,
                "treatment/v1",
            )
        )
    return delivery_id


def idva(
    label: str, start: str, end: str, cases: list[tuple], screenings: list[tuple], status="loaded"
) -> int:
    delivery_id = _deliver("idva_caseload", "IDVA service", label, D(start), D(end), status)
    for row, (case, referral, risk, marac, repeat) in enumerate(cases, 4):
        _rows["idva_cases"].append(
            (
                delivery_id,
                row,
                case,
                D(referral),
                "Police",
                risk,
                12,
                marac,
                repeat,
                1,
                "No",
                "Female",
                "25-34",
                None,
                None,
                "domestic_abuse/v1",
            )
        )
    for row, (month, screened) in enumerate(screenings, 2):
        _rows["idva_screening"].append((delivery_id, row, D(month), screened))
    return delivery_id


def moj(label: str, start: str, end: str, rates: list[tuple], status="loaded") -> int:
    delivery_id = _deliver(
        "moj_reoffending", "Ministry of Justice", label, D(start), D(end), status, None
    )
    for row, (la, offenders, actual, predicted, diff) in enumerate(rates, 5):
        name = "Wolverhampton" if la == LA else "Birmingham"
        _rows["moj_reoffending"].append(
            (
                delivery_id,
                row,
                la,
                name,
                "Staffordshire and West Midlands",
                offenders,
                actual,
                predicted,
                diff,
                None if diff is None else diff < -10,
            )
        )
    return delivery_id


Y, N = True, False
S, DW = "Street/Road", "Dwelling"

# --- MoJ: quarterly; RR_REOFFEND_DIFF target -12 (lower is better), 5% band = 0.6 ---------------
moj("2012/13 Q3", "2012-10-01", "2012-12-31", [(LA, 25, None, None, None)])  # suppressed
moj("2012/13 Q4", "2013-01-01", "2013-03-31", [(LA, 400, 21.7, 24.5, -11.4)])  # Amber (exactly 0.6)
moj("2013/14 Q1", "2013-04-01", "2013-06-30", [(LA, 400, 21.7, 24.5, -11.3)])  # Red
MOJ_Q2_FIRST = moj(
    "2013/14 Q2",
    "2013-07-01",
    "2013-09-30",
    [(LA, 410, 22.0, 24.4, -10.0), (OTHER_LA, 2148, 25.0, 26.0, -3.8)],
    status="superseded",
)
MOJ_Q2_REVISED = moj("2013/14 Q2", "2013-07-01", "2013-09-30", [(LA, 410, 30.0, 35.0, -14.3)])
moj(
    "2013/14 Q3",
    "2013-10-01",
    "2013-12-31",
    [(LA, 420, 20.0, 24.5, -18.3), (OTHER_LA, 2100, 25.0, 26.0, -3.8)],
)

# --- Police: monthly, due the 15th of the next month -------------------------------------------
# ref, recorded, ho_class, location, da, knife, firearm, status
police("2011-01", [], status="rejected")  # a rejected file neither starts a calendar nor a quarter
police("2013-04", [("C01", "2013-04-10", "8N", S, N, N, N, "Recorded")])
police("2013-05", [("C02", "2013-05-05", "8N", DW, Y, N, N, "Recorded")])
police(
    "2013-06",
    [
        ("C03", "2013-06-01", "10A", S, N, Y, N, "Recorded"),
        ("C04", "2013-06-20", "5D", "Licensed Premises", N, N, Y, "Recorded"),
    ],
)
police(
    "2014-04",
    [
        ("C11", "2014-04-02", "8N", S, N, N, N, "Recorded"),
        ("C17", "2014-04-20", "81", "Vehicle", N, N, Y, "Recorded"),
        ("C18", "2014-04-25", "5E", "Public Transport", N, N, N, "Recorded"),
        ("C20", "2014-04-28", "10A", S, N, Y, N, "Recorded"),
    ],
)
police(
    "2014-05",
    [
        ("C12", "2014-05-03", "105A", S, Y, N, N, "Recorded"),
        ("C16", "2014-05-20", "34B", S, N, Y, N, "Recorded"),
        ("C19", "2014-05-30", "2", "School/Education", N, N, N, "Recorded"),
    ],
)
police(
    "2014-06",
    [
        ("C13", "2014-06-04", "8N", DW, Y, N, N, "Recorded"),
        ("C14", "2014-06-10", "8N", "Open Space", N, N, N, "Recorded"),
        ("C15", "2014-06-15", "8N", S, N, N, N, "Recorded"),
        # The knife flag was corrected in the June file...
        ("C16", "2014-05-20", "34B", S, N, N, N, "Recorded"),
    ],
)
# ...and a late re-send of May (later arrival, earlier period) does not undo it.
police(
    "2014-05",
    [
        ("C12", "2014-05-03", "105A", S, Y, N, N, "Recorded"),
        ("C16", "2014-05-20", "34B", S, N, Y, N, "Recorded"),
        ("C19", "2014-05-30", "2", "School/Education", N, N, N, "Recorded"),
    ],
)
police(
    "2014-07",
    [
        ("C21", "2014-07-05", "8N", S, N, N, N, "Recorded"),
        ("C14", "2014-06-10", "8N", "Open Space", N, N, N, "Cancelled"),  # cancelled later
        ("C15", "2014-06-15", "105A", S, N, N, N, "Recorded"),
    ],
)  # reclassified
POLICE_AUG = police(
    "2014-08", [("C22", "2014-08-05", "8P", "Shop/Commercial", Y, Y, N, "Recorded")]
)
police("2014-08", [], status="rejected")  # a rejected re-send supersedes nothing
POLICE_SEP_FIRST = police(
    "2014-09",
    [
        ("C23", "2014-09-03", "8N", S, N, N, N, "Recorded"),
        ("C24", "2014-09-04", "8N", S, N, N, N, "Recorded"),
    ],
)
POLICE_SEP_REVISED = police("2014-09", [("C23", "2014-09-03", "8N", S, N, N, N, "Recorded")])
police("2014-10", [("C31", "2014-10-10", "8N", S, N, N, N, "Recorded")])

# --- Treatment: monthly, due the 20th; calendar configured from 2014-01 --------------------------
# client, referral, source, class_a, started, discharged, reason, required_assessment, mh
treatment(
    "2014-04",
    [
        ("T1", "2014-04-05", "Arrest Referral", Y, "2014-04-20", None, None, "Attended", N),
        ("T2", "2014-04-10", "Arrest Referral", Y, None, None, None, "Breach", Y),
        ("T5", "2014-03-01", "GP", None, "2014-03-05", "2014-04-15", "Dropped out", "N/A", Y),
    ],
)
treatment(
    "2014-05",
    [
        ("T3", "2014-05-01", "Court", None, None, None, None, "Breach", N),
        ("T4", "2014-05-02", "Self", None, None, None, None, "N/A", N),
    ],
)
treatment(
    "2014-06",
    [
        (
            "T3",
            "2014-05-01",
            "Court",
            None,
            "2014-05-05",
            "2014-06-10",
            "Completed - drug free",
            "Breach",
            N,
        ),
        ("T4", "2014-05-02", "Self", None, "2014-05-06", "2014-06-11", "Transferred", "N/A", N),
        ("T6", "2014-06-01", "Probation", N, None, None, None, "Attended", N),
        ("T7", "2014-06-05", "Arrest Referral", Y, None, None, None, "Attended", N),
    ],
)
treatment(
    "2014-07",
    [
        ("T2", "2014-04-10", "Arrest Referral", Y, "2014-07-03", None, None, "Breach", Y),
        (
            "T6",
            "2014-06-01",
            "Probation",
            N,
            "2014-06-03",
            "2014-07-02",
            "Completed - alcohol free",
            "Attended",
            N,
        ),
        ("T8", "2014-07-10", "Self", None, None, None, None, "N/A", N),
    ],
)
treatment(
    "2014-08",
    [
        ("T8", "2014-07-10", "Self", None, "2014-07-12", "2014-08-20", "Died", "N/A", N),
        ("T9", "2014-08-01", "Arrest Referral", N, None, None, None, "Attended", N),
    ],
)
treatment(
    "2014-09",
    [
        (
            "T9",
            "2014-08-01",
            "Arrest Referral",
            N,
            "2014-08-02",
            "2014-09-01",
            "Dropped out",
            "Attended",
            N,
        ),
    ],
)
treatment("2014-10", [])

# --- IDVA: quarterly, due 30 days after the quarter; each file repeats the year to date ----------
# case, referral, risk, marac, repeat
idva(
    "2014/15 Q1",
    "2014-04-01",
    "2014-06-30",
    [
        ("I1", "2014-04-10", "High", Y, N),
        ("I2", "2014-05-10", "Medium", N, Y),
        ("I3", "2014-06-10", "Standard", N, N),
    ],
    [("2014-04-01", 10), ("2014-05-01", 12), ("2014-06-01", 8)],
)
idva(
    "2014/15 Q2",
    "2014-07-01",
    "2014-09-30",
    [
        ("I1", "2014-04-10", "High", Y, N),
        ("I2", "2014-05-10", "High", N, Y),
        ("I3", "2014-06-10", "Standard", N, N),
        ("I4", "2014-07-15", "High", Y, Y),
        ("I5", "2014-08-15", "Standard", N, N),
    ],
    [("2014-06-01", 9), ("2014-07-01", 20), ("2014-08-01", 15), ("2014-09-01", 5)],
)
idva("2014/15 Q3", "2014-10-01", "2014-12-31", [], [], status="rejected")


def load(con) -> None:
    """Create the raw schema on an open DuckDB connection and insert the scenario."""
    create_raw_tables(con)
    insert_rows(con, "partnership", [(LA, "Wolverhampton")])
    insert_rows(con, "feed_calendar", FEED_CALENDAR)
    insert_rows(con, "deliveries", _deliveries)
    for table, rows in _rows.items():
        insert_rows(con, table, rows)
