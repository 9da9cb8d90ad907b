"""Everything the quarterly report and the board pack show, read from the warehouse.

One short read-only connection; the result is plain Python (dataclasses of numbers and
words), so rendering (``exports/report.py``, ``exports/board_pack.py``) never touches the
warehouse and the public version is a pure transformation of the same data
(:func:`public_version`).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from exports.disclosure import sdc_count, sdc_percent

# The strategic priorities in the order of the 2014 progress report; any other priority in
# the catalogue follows, alphabetically.
PRIORITY_ORDER = [
    "Reducing Reoffending",
    "Substance Misuse",
    "Gangs and Youth Crime",
    "Violence Against Women and Girls",
    "Violence",
]
QUARTER_PATTERN = re.compile(r"^(\d{4})/(\d{2}) Q([1-4])$")
HISTORY_QUARTERS = 8
STATUSES = ["ok", "pending", "missing", "suspended", "not_expected"]
# Police indicators that fct_crime can state "as at" the last month delivered after the
# quarter (the 2014 report gave PPV "year to date as at 17 November").
CRIME_FLAGS = {
    "PV_PPV": "is_ppv",
    "VA_DA_CRIMES": "is_domestic_abuse",
    "GY_KNIFE_FIREARM": "is_knife_or_firearm",
}
# The public data feed (README, "Starting from public data"): its indicators have a section
# of their own, and none at all while no file of it has been loaded, since many partnerships
# never use it. data.police.uk publishes its counts unrounded, so the public version shows
# them as published: rounding them again would only contradict the published figures.
PUBLIC_CRIME_FEED = "police_uk"
# The feed whose indicators public data cannot give (no location type, injury or
# domestic-abuse flag in data.police.uk's files).
FORCE_EXTRACT_FEED = "police_crime"


class ReportError(ValueError):
    """The report cannot be made (unknown quarter, no warehouse); the message says why."""


def parse_quarter(quarter: str) -> tuple[int, int]:
    """``"2014/15 Q2"`` → (2014, 2); ReportError for anything else."""
    match = QUARTER_PATTERN.match(quarter.strip())
    if not match:
        raise ReportError(f"a quarter is written like '2014/15 Q2', not {quarter!r}")
    start, end, number = int(match[1]), int(match[2]), int(match[3])
    if (start + 1) % 100 != end:
        raise ReportError(f"{quarter!r}: {start}/{end:02d} is not a financial year")
    return start, number


def quarter_slug(quarter: str) -> str:
    """A file-name-safe form of a quarter: ``"2014/15 Q2"`` → ``"2014-15-Q2"``."""
    start, number = parse_quarter(quarter)
    return f"{start}-{(start + 1) % 100:02d}-Q{number}"


def quarter_label(quarter: str) -> str:
    """``"2014/15 Q2"`` → ``"July to September 2014"``."""
    start, number = parse_quarter(quarter)
    first = date(start + (number == 4), ((number - 1) * 3 + 3) % 12 + 1, 1)
    last = date(first.year, first.month + 2, 1)
    return f"{first:%B} to {last:%B %Y}"


def year_to_date_label(quarter: str) -> str:
    """How the 2014 report names a year to date: 'the first half of 2014/15' for Q2."""
    start, number = parse_quarter(quarter)
    year = f"{start}/{(start + 1) % 100:02d}"
    return {1: f"the first quarter of {year}", 2: f"the first half of {year}",
            3: f"the first three quarters of {year}", 4: f"the whole of {year}"}[number]


@dataclass
class Indicator:
    """One indicator in the chosen quarter, with its history for the chart."""

    code: str
    name: str
    priority: str
    feed: str
    owner: str | None
    unit: str
    polarity: str
    aggregation: str
    target: float | None
    definition: str | None
    # The chosen quarter's row of fct_indicator_quarter (every column), or {} if absent.
    row: dict[str, Any]
    # One dict per quarter, oldest first, ending at the chosen quarter: the quarters charted
    # and the four before them (last year's values for the public version).
    history: list[dict[str, Any]]
    shown: int = HISTORY_QUARTERS
    # Year-to-date numerator and denominator (ratio indicators), this year and last.
    ytd_parts: tuple[float | None, float | None] = (None, None)
    ytd_prev_parts: tuple[float | None, float | None] = (None, None)
    # The last published quarter before a gap: {"fiscal_quarter", "value", "rag_status"}.
    last_published: dict[str, Any] | None = None
    # From fct_crime, through the last month delivered after the quarter (police only).
    latest_position: dict[str, Any] | None = None
    public: bool = False

    @property
    def status(self) -> str:
        return self.row.get("data_status") or "not_expected"

    @property
    def is_count(self) -> bool:
        return self.unit == "count"

    @property
    def chart_points(self) -> list[dict[str, Any]]:
        """The quarters charted, oldest first, ending at the chosen quarter."""
        return self.history[-self.shown:]


@dataclass
class FeedLine:
    """One partner feed: its delivery state on the as-of date and its data in the quarter."""

    feed: str
    partner: str | None
    cadence: str | None
    state: str
    last_period: str | None
    next_period: str | None
    next_due: date | None
    overdue_periods: str | None
    suspension_reason: str | None
    quarter_status: str
    quarter_note: str | None
    indicator_count: int


@dataclass
class PublicCrime:
    """Recorded crime from data.police.uk in the quarter: the partnership among its force's."""

    # Whether any data.police.uk file is in the warehouse (else the section says how to start).
    loaded: bool
    # fct_police_uk_comparison's rows for the quarter and the partnership's force(s), lowest
    # rate first; the partnership's own row has ``is_this`` true.
    comparison: list[dict[str, Any]]
    # Names of the indicators only the force's own extract can give.
    not_fed: list[str]

    @property
    def this(self) -> dict[str, Any] | None:
        """The partnership's own comparison row, if its force's files cover the quarter."""
        return next((r for r in self.comparison if r["is_this"]), None)


@dataclass
class ReportData:
    """The whole report: partnership, quarter, feeds and indicators by priority."""

    la_code: str
    la_name: str
    quarter: str
    quarter_start: date
    quarter_end: date
    as_of: date | None
    generated_at: datetime
    indicators: list[Indicator]
    feeds: list[FeedLine]
    quarters: list[str] = field(default_factory=list)
    public: bool = False
    public_crime: PublicCrime | None = None

    @property
    def slug(self) -> str:
        return quarter_slug(self.quarter)

    @property
    def priorities(self) -> list[tuple[str, list[Indicator]]]:
        """(priority, indicators) in the report's order."""
        names = {i.priority for i in self.indicators}
        ordered = [p for p in PRIORITY_ORDER if p in names] + sorted(names - set(PRIORITY_ORDER))
        return [(p, [i for i in self.indicators if i.priority == p]) for p in ordered]

    def rag_counts(self) -> dict[str, int]:
        """Indicators by RAG in the quarter, plus those without a rating."""
        counts = {"Green": 0, "Amber": 0, "Red": 0, "Not rated": 0}
        for indicator in self.indicators:
            counts[indicator.row.get("rag_status") or "Not rated"] += 1
        return counts

    def status_counts(self) -> dict[str, int]:
        """Indicators by data status in the quarter."""
        counts = dict.fromkeys(STATUSES, 0)
        for indicator in self.indicators:
            counts[indicator.status] = counts.get(indicator.status, 0) + 1
        return counts


def _records(con: duckdb.DuckDBPyConnection, query: str, params: list | None = None) -> list[dict]:
    cursor = con.execute(query, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _clean(value: Any) -> Any:
    """datetime → date for date-only columns; everything else as DuckDB gives it."""
    if isinstance(value, datetime) and value.time() == datetime.min.time():
        return value.date()
    return value


def _month_end(day: date) -> date:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - timedelta(days=1)


def _latest_position(con: duckdb.DuckDBPyConnection, la_code: str, code: str,
                     quarter_end: date, fy_start: date) -> dict[str, Any] | None:
    """Year to date from fct_crime through the last month delivered after the quarter.

    Only months delivered without a gap after the quarter, within the same financial year.
    """
    months = {r["period_start"] for r in _records(con, """
        select distinct cast(period_start as date) as period_start from main.fct_feed_delivery
        where feed = 'police_crime' and status <> 'rejected' and period_start > ?
          and la_code = ?""", [quarter_end, la_code])}
    through = quarter_end
    while True:
        following = through + timedelta(days=1)
        if following not in months or following.year * 12 + following.month >= \
                (fy_start.year + 1) * 12 + fy_start.month:
            break
        through = _month_end(following)
    if through == quarter_end:
        return None
    flag = CRIME_FLAGS[code]
    previous_start = date(fy_start.year - 1, fy_start.month, fy_start.day)
    previous_through = date(through.year - 1, through.month, _month_end(
        date(through.year - 1, through.month, 1)).day)
    row = con.execute(f"""
        select count(*) filter (where recorded_date between ? and ?),
               count(*) filter (where recorded_date between ? and ?)
        from main.fct_crime where {flag} and la_code = ?""",
                      [fy_start, through, previous_start, previous_through, la_code]).fetchone()
    return {"through": through, "value": row[0], "previous": row[1]}


def read_report_data(warehouse: Path | duckdb.DuckDBPyConnection, quarter: str,
                     la_code: str | None = None, la_name: str | None = None,
                     history: int = HISTORY_QUARTERS) -> ReportData:
    """Read the chosen quarter's indicators, their history and the feeds' status.

    ``warehouse`` is a DuckDB file, or an open connection with the marts in ``main`` (see
    ``exports.marts.open_marts``: the published copy, or the marts read from Postgres).
    """
    parse_quarter(quarter)  # a clear error for a malformed quarter before anything is opened
    if isinstance(warehouse, duckdb.DuckDBPyConnection):
        return _read_report_data(warehouse, quarter, la_code, la_name, history)
    if not Path(warehouse).is_file():
        raise ReportError(f"no warehouse at {warehouse}: run `csp build` first")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return _read_report_data(con, quarter, la_code, la_name, history)


def _read_report_data(con: duckdb.DuckDBPyConnection, quarter: str, la_code: str | None,
                      la_name: str | None, history: int) -> ReportData:
    fy_start_year, quarter_number = parse_quarter(quarter)
    quarter_row = _records(con, "select * from main.dim_quarter where fiscal_quarter = ?",
                           [quarter])
    if not quarter_row:
        raise ReportError(f"{quarter} is not in dim_quarter")
    codes = [r["la_code"] for r in _records(
        con, "select distinct la_code from main.fct_indicator_quarter")]
    if la_code is None:
        if len(codes) != 1:
            raise ReportError(f"the warehouse holds {len(codes)} partnerships; name one")
        la_code = codes[0]
    available = [r["fiscal_quarter"] for r in _records(con, """
        select distinct fiscal_quarter, quarter_start from main.fct_indicator_quarter
        where la_code = ? order by quarter_start""", [la_code])]
    if quarter not in available:
        span = f"{available[0]} to {available[-1]}" if available else "nothing"
        raise ReportError(f"the warehouse has no indicators for {quarter} "
                          f"(it holds {span})")
    if la_name is None:
        names = _records(con, "select la_name from main.dim_area where la_code = ?",
                         [la_code])
        la_name = names[0]["la_name"] if names else la_code
    quarters = _records(con, """
        select fiscal_quarter, quarter_start, quarter_end, financial_year, quarter_number
        from main.dim_quarter where quarter_start <= ?
        order by quarter_start desc limit ?""", [quarter_row[0]["quarter_start"], history + 4])
    quarters.reverse()
    rows = _records(con, """
        select * from main.fct_indicator_quarter
        where la_code = ? and quarter_start between ? and ?""",
                    [la_code, quarters[0]["quarter_start"], quarter_row[0]["quarter_start"]])
    by_key = {(r["indicator_code"], r["fiscal_quarter"]): r for r in rows}
    # Every quarter of this year to date and last year's, for ratio parts.
    year_rows = _records(con, """
        select indicator_code, fiscal_quarter, financial_year, quarter_number, data_status,
               numerator, denominator, value
        from main.fct_indicator_quarter
        where la_code = ? and quarter_number <= ?
          and financial_year in (?, ?) order by quarter_start""",
                         [la_code, quarter_number, quarter_row[0]["financial_year"],
                          f"{fy_start_year - 1}/{fy_start_year % 100:02d}"])
    published = _records(con, """
        select indicator_code, fiscal_quarter, value, ytd_value, rag_status
        from main.fct_indicator_quarter
        where la_code = ? and data_status = 'ok' and value is not null
          and quarter_start <= ?
        qualify row_number() over (partition by indicator_code
                                   order by quarter_start desc) = 1""",
                         [la_code, quarter_row[0]["quarter_start"]])
    last_published = {r["indicator_code"]: r for r in published}
    catalogue = _records(con, "select * from main.dim_indicator")
    q_end = _clean(quarter_row[0]["quarter_end"])
    q_start = _clean(quarter_row[0]["quarter_start"])
    indicators = []
    for entry in catalogue:
        code = entry["indicator_code"]
        current = {k: _clean(v) for k, v in by_key.get((code, quarter), {}).items()}
        points = []
        for q in quarters:
            found = by_key.get((code, q["fiscal_quarter"]))
            points.append({"fiscal_quarter": q["fiscal_quarter"],
                           **({k: _clean(v) for k, v in found.items()} if found else
                              {"data_status": None, "value": None,
                               "status_note": "before the first period in the warehouse"})})
        indicator = Indicator(
            code=code, name=entry["indicator_name"], priority=entry["priority"],
            feed=entry["feed"], owner=entry.get("owner"), unit=entry["unit"],
            polarity=entry["polarity"], aggregation=entry["aggregation"],
            target=entry.get("target"), definition=entry.get("definition"),
            row=current, history=points, shown=min(history, len(points)),
        )
        if entry["aggregation"] == "ratio":
            indicator.ytd_parts = _parts(year_rows, code, quarter_row[0]["financial_year"])
            indicator.ytd_prev_parts = _parts(
                year_rows, code, f"{fy_start_year - 1}/{fy_start_year % 100:02d}")
        found = last_published.get(code)
        if found and found["fiscal_quarter"] != quarter:
            indicator.last_published = found
        if code in CRIME_FLAGS and current.get("data_status") == "ok":
            indicator.latest_position = _latest_position(
                con, la_code, code, q_end, date(fy_start_year, 4, 1))
        indicators.append(indicator)
    public_crime = _public_crime(con, la_code, quarter, catalogue)
    if not public_crime.loaded:
        indicators = [i for i in indicators if i.feed != PUBLIC_CRIME_FEED]
    feeds = _feed_lines(con, la_code, indicators)
    if not public_crime.loaded:
        feeds = [f for f in feeds if f.feed.split(":")[0] != PUBLIC_CRIME_FEED]
    as_of_rows = _records(con, "select max(as_of_date) as as_of from main.fct_feed_status")
    as_of = _clean(as_of_rows[0]["as_of"]) if as_of_rows else None
    return ReportData(
        la_code=la_code, la_name=la_name, quarter=quarter, quarter_start=q_start,
        quarter_end=q_end, as_of=as_of, generated_at=datetime.now().replace(microsecond=0),
        indicators=indicators, feeds=feeds,
        quarters=[q["fiscal_quarter"] for q in quarters][-history:],
        public_crime=public_crime,
    )


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether ``main.<name>`` exists (a warehouse built before the mart was added lacks it)."""
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = 'main' "
        "and table_name = ?", [name]).fetchone()[0])


def _public_crime(con: duckdb.DuckDBPyConnection, la_code: str, quarter: str,
                  catalogue: list[dict[str, Any]]) -> PublicCrime:
    """The data.police.uk section: whether any file is loaded, and the force comparison."""
    not_fed = [e["indicator_name"] for e in catalogue if e["feed"] == FORCE_EXTRACT_FEED]
    if not (_has_table(con, "fct_police_uk_force_month")
            and _has_table(con, "fct_police_uk_comparison")):
        return PublicCrime(loaded=False, comparison=[], not_fed=not_fed)
    loaded = con.execute("select count(*) from main.fct_police_uk_force_month").fetchone()[0] > 0
    comparison = _records(con, """
        select *, partnership_code = ? as is_this
        from main.fct_police_uk_comparison
        where fiscal_quarter = ? and force in (
            select force from main.fct_police_uk_comparison
            where partnership_code = ? and fiscal_quarter = ?)
        order by force, rate_per_1000 is null, rate_per_1000, partnership_name""",
                          [la_code, quarter, la_code, quarter])
    return PublicCrime(loaded=loaded, comparison=comparison, not_fed=not_fed)


def _parts(rows: list[dict], code: str, year: str) -> tuple[float | None, float | None]:
    """Summed numerator and denominator of a year to date, when every quarter is ok."""
    span = [r for r in rows if r["indicator_code"] == code and r["financial_year"] == year]
    if not span or any(r["data_status"] != "ok" or r["numerator"] is None
                       or r["denominator"] is None for r in span):
        return (None, None)
    return (sum(r["numerator"] for r in span), sum(r["denominator"] for r in span))


def _feed_lines(con: duckdb.DuckDBPyConnection, la_code: str,
                indicators: list[Indicator]) -> list[FeedLine]:
    """One line per feed calendar row (``feed`` or ``feed:partner``), in the warehouse's order.

    A feed some indicator needs but with no calendar row yet (never configured nor
    delivered) gets a line too, 'not started'.
    """
    status = {r["feed_key"]: r for r in _records(
        con, "select * from main.fct_feed_status where la_code = ? order by feed_key", [la_code])}
    dims = {r["feed_key"]: r for r in _records(
        con, "select * from main.dim_feed order by feed_key")}
    keys = list(dict.fromkeys([*status, *dims]))
    keys += [f for f in dict.fromkeys(i.feed for i in indicators)
             if not any(k.split(":")[0] == f for k in keys)]
    lines = []
    for key in keys:
        st, dim = status.get(key, {}), dims.get(key, {})
        feed, _, partner_key = key.partition(":")
        mine = [i for i in indicators if i.feed == feed
                and (not partner_key or i.owner == partner_key)]
        statuses = sorted({i.status for i in mine}, key=lambda s: STATUSES.index(s)
                          if s in STATUSES else 99)
        # The feed's worst status in the quarter speaks for it.
        worst = statuses[-1] if statuses else "not_expected"
        note = next((i.row.get("status_note") for i in mine
                     if i.status == worst and i.row.get("status_note")), None)
        lines.append(FeedLine(
            feed=key, partner=st.get("partner") or dim.get("partner") or partner_key or None,
            cadence=st.get("cadence") or dim.get("cadence"),
            state=st.get("state") or "not started",
            last_period=st.get("last_period"), next_period=st.get("next_period"),
            next_due=_clean(st.get("next_due_date")),
            overdue_periods=st.get("overdue_periods"),
            suspension_reason=st.get("suspension_reason") or dim.get("suspension_reason"),
            quarter_status=worst if len(statuses) <= 1 else " / ".join(statuses),
            quarter_note=note, indicator_count=len(mine),
        ))
    return lines


# --- the public version ---------------------------------------------------------------------

COUNT_FIELDS = ("value", "ytd_value", "ytd_prev_value", "prev_year_value", "provisional_value")


def _protect_row(row: dict[str, Any], unit: str) -> dict[str, Any]:
    """One quarter's figures under disclosure control (counts and parts of percentages)."""
    safe = dict(row)
    if unit == "count":
        for name in COUNT_FIELDS:
            if name in safe:
                safe[name] = sdc_count(safe[name])
    elif unit == "percent":
        safe["numerator"] = sdc_count(row.get("numerator"))
        safe["denominator"] = sdc_count(row.get("denominator"))
        if row.get("value") is not None:
            safe["value"] = sdc_percent(row.get("numerator"), row.get("denominator"))
        # Percentages whose parts are not at hand here are made safe by the caller (year to
        # date) or withheld (provisional and last year's quarter).
        safe["provisional_value"] = None
    return safe


def protect_indicator(indicator: Indicator) -> Indicator:
    """A copy of an indicator with every count under disclosure control."""
    safe = copy.deepcopy(indicator)
    safe.public = True
    if indicator.unit == "percent_diff":  # MoJ rates: not counts of people
        return safe
    if indicator.feed == PUBLIC_CRIME_FEED:  # published unrounded (PUBLIC_CRIME_FEED)
        return safe
    safe.row = _protect_row(indicator.row, indicator.unit) if indicator.row else {}
    safe.history = [_protect_row(p, indicator.unit) for p in indicator.history]
    if indicator.unit == "percent":
        # Last year's quarter from its own rounded parts (four quarters back in the history);
        # year to date from the rounded year-to-date parts.
        for back, point in zip([None] * 4 + safe.history, safe.history):
            point["prev_year_value"] = back.get("value") if back else None
            point["ytd_value"] = None
        if indicator.row:
            safe.row["prev_year_value"] = safe.history[-1]["prev_year_value"]
            safe.row["ytd_value"] = (sdc_percent(*indicator.ytd_parts)
                                     if indicator.row.get("ytd_value") is not None else None)
            safe.row["ytd_prev_value"] = (sdc_percent(*indicator.ytd_prev_parts)
                                          if indicator.row.get("ytd_prev_value") is not None
                                          else None)
            safe.history[-1]["ytd_value"] = safe.row["ytd_value"]
        safe.ytd_parts = tuple(sdc_count(v) for v in indicator.ytd_parts)
        safe.ytd_prev_parts = tuple(sdc_count(v) for v in indicator.ytd_prev_parts)
    if indicator.last_published:
        last = dict(indicator.last_published)
        if indicator.unit == "count":
            last["value"] = sdc_count(last["value"])
            last["ytd_value"] = sdc_count(last.get("ytd_value"))
        else:
            last["value"] = None  # its parts are not at hand; say only when it was
            last["ytd_value"] = None
        safe.last_published = last
    if indicator.latest_position:
        position = dict(indicator.latest_position)
        position["value"] = sdc_count(position["value"])
        position["previous"] = sdc_count(position["previous"])
        safe.latest_position = position
    return safe


def public_version(data: ReportData) -> ReportData:
    """The same report with disclosure control on every count (NHS England method)."""
    safe = copy.copy(data)
    safe.indicators = [protect_indicator(i) for i in data.indicators]
    safe.public = True
    return safe
