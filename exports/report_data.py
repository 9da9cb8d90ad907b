"""Everything the quarterly report and the board pack show, read from the warehouse.

One short read-only connection; the result is plain Python (the dataclasses of
``exports/report_model.py``), so rendering (``exports/report.py``, ``exports/board_pack.py``)
never touches the warehouse and the public version is a pure transformation of the same data
(``exports/report_public.py``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from core.periods import (
    financial_quarter,
    financial_year_label,
    financial_year_start,
    last_of_month,
)
from exports.report_model import (
    FORCE_EXTRACT_FEED,
    HISTORY_QUARTERS,
    PUBLIC_CRIME_FEED,
    STATUSES,
    Benchmark,
    FeedLine,
    Indicator,
    PublicCrime,
    ReportData,
    ReportError,
    parse_quarter,
)

# Police indicators that fct_crime can state "as at" the last month delivered after the
# quarter (the 2014 report gave PPV "year to date as at 17 November").
CRIME_FLAGS = {
    "PV_PPV": "is_ppv",
    "VA_DA_CRIMES": "is_domestic_abuse",
    "GY_KNIFE_FIREARM": "is_knife_or_firearm",
}


def _records(con: duckdb.DuckDBPyConnection, query: str, params: list | None = None) -> list[dict]:
    cursor = con.execute(query, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _clean(value: Any) -> Any:
    """datetime → date for date-only columns; everything else as DuckDB gives it."""
    if isinstance(value, datetime) and value.time() == datetime.min.time():
        return value.date()
    return value


def _latest_position(
    con: duckdb.DuckDBPyConnection, la_code: str, code: str, quarter_end: date, fy_start: date
) -> dict[str, Any] | None:
    """Year to date from fct_crime through the last month delivered after the quarter.

    Only months delivered without a gap after the quarter, within the same financial year.
    """
    months = {
        r["period_start"]
        for r in _records(
            con,
            """
        select distinct cast(period_start as date) as period_start from main.fct_feed_delivery
        where feed = 'police_crime' and status <> 'rejected' and period_start > ?
          and la_code = ?""",
            [quarter_end, la_code],
        )
    }
    through = quarter_end
    while True:
        following = through + timedelta(days=1)
        if following not in months or financial_year_start(following) != fy_start:
            break
        through = last_of_month(following)
    if through == quarter_end:
        return None
    flag = CRIME_FLAGS[code]
    previous_start = date(fy_start.year - 1, fy_start.month, fy_start.day)
    previous_through = last_of_month(date(through.year - 1, through.month, 1))
    row = con.execute(
        f"""
        select count(*) filter (where recorded_date between ? and ?),
               count(*) filter (where recorded_date between ? and ?)
        from main.fct_crime where {flag} and la_code = ?""",
        [fy_start, through, previous_start, previous_through, la_code],
    ).fetchone()
    return {"through": through, "value": row[0], "previous": row[1]}


def latest_quarter_with_data(
    con: duckdb.DuckDBPyConnection, la_code: str | None, as_of: date
) -> str:
    """The quarter a report defaults to: the latest that has ended by ``as_of`` with at least
    one figure (``data_status`` ok), as a panel reports on a finished quarter."""
    found = con.execute(
        """
        select indicators.fiscal_quarter
        from main.fct_indicator_quarter as indicators
        inner join main.dim_quarter as quarters
            on indicators.quarter_start = quarters.quarter_start
        where indicators.data_status = 'ok' and quarters.quarter_end <= ?
          and (? is null or indicators.la_code = ?)
        order by indicators.quarter_start desc
        limit 1""",
        [as_of, la_code, la_code],
    ).fetchone()
    if found is None:
        raise ReportError(
            f"no quarter ended by {as_of} has any figure in the warehouse: build it first, "
            'or name one with --quarter "2014/15 Q2"'
        )
    return found[0]


def read_report_data(
    warehouse: Path | duckdb.DuckDBPyConnection,
    quarter: str,
    la_code: str | None = None,
    la_name: str | None = None,
    history: int = HISTORY_QUARTERS,
) -> ReportData:
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


def _read_report_data(
    con: duckdb.DuckDBPyConnection,
    quarter: str,
    la_code: str | None,
    la_name: str | None,
    history: int,
) -> ReportData:
    fy_start_year, quarter_number = parse_quarter(quarter)
    quarter_row = _records(
        con, "select * from main.dim_quarter where fiscal_quarter = ?", [quarter]
    )
    if not quarter_row:
        raise ReportError(f"{quarter} is not in dim_quarter")
    codes = [
        r["la_code"]
        for r in _records(con, "select distinct la_code from main.fct_indicator_quarter")
    ]
    if la_code is None:
        if len(codes) != 1:
            raise ReportError(f"the warehouse holds {len(codes)} partnerships; name one")
        la_code = codes[0]
    available = [
        r["fiscal_quarter"]
        for r in _records(
            con,
            """
        select distinct fiscal_quarter, quarter_start from main.fct_indicator_quarter
        where la_code = ? order by quarter_start""",
            [la_code],
        )
    ]
    if quarter not in available:
        span = f"{available[0]} to {available[-1]}" if available else "nothing"
        raise ReportError(f"the warehouse has no indicators for {quarter} (it holds {span})")
    if la_name is None:
        names = _records(con, "select la_name from main.dim_area where la_code = ?", [la_code])
        la_name = names[0]["la_name"] if names else la_code
    quarters = _records(
        con,
        """
        select fiscal_quarter, quarter_start, quarter_end, financial_year, quarter_number
        from main.dim_quarter where quarter_start <= ?
        order by quarter_start desc limit ?""",
        [quarter_row[0]["quarter_start"], history + 4],
    )
    quarters.reverse()
    rows = _records(
        con,
        """
        select * from main.fct_indicator_quarter
        where la_code = ? and quarter_start between ? and ?""",
        [la_code, quarters[0]["quarter_start"], quarter_row[0]["quarter_start"]],
    )
    by_key = {(r["indicator_code"], r["fiscal_quarter"]): r for r in rows}
    # Every quarter of this year to date and last year's, for ratio parts.
    year_rows = _records(
        con,
        """
        select indicator_code, fiscal_quarter, financial_year, quarter_number, data_status,
               numerator, denominator, value
        from main.fct_indicator_quarter
        where la_code = ? and quarter_number <= ?
          and financial_year in (?, ?) order by quarter_start""",
        [
            la_code,
            quarter_number,
            quarter_row[0]["financial_year"],
            financial_year_label(fy_start_year - 1),
        ],
    )
    published = _records(
        con,
        """
        select indicator_code, fiscal_quarter, value, ytd_value, rag_status
        from main.fct_indicator_quarter
        where la_code = ? and data_status = 'ok' and value is not null
          and quarter_start <= ?
        qualify row_number() over (partition by indicator_code
                                   order by quarter_start desc) = 1""",
        [la_code, quarter_row[0]["quarter_start"]],
    )
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
            points.append(
                {
                    "fiscal_quarter": q["fiscal_quarter"],
                    **(
                        {k: _clean(v) for k, v in found.items()}
                        if found
                        else {
                            "data_status": None,
                            "value": None,
                            "status_note": "before the first period in the warehouse",
                        }
                    ),
                }
            )
        indicator = Indicator(
            code=code,
            name=entry["indicator_name"],
            priority=entry["priority"],
            feed=entry["feed"],
            owner=entry.get("owner"),
            unit=entry["unit"],
            polarity=entry["polarity"],
            aggregation=entry["aggregation"],
            target=entry.get("target"),
            definition=entry.get("definition"),
            row=current,
            history=points,
            shown=min(history, len(points)),
        )
        if entry["aggregation"] == "ratio":
            indicator.ytd_parts = _parts(year_rows, code, quarter_row[0]["financial_year"])
            indicator.ytd_prev_parts = _parts(
                year_rows, code, financial_year_label(fy_start_year - 1)
            )
        found = last_published.get(code)
        if found and found["fiscal_quarter"] != quarter:
            indicator.last_published = found
        if code in CRIME_FLAGS and current.get("data_status") == "ok":
            indicator.latest_position = _latest_position(
                con, la_code, code, q_end, financial_quarter(fy_start_year, 1).start
            )
        indicators.append(indicator)
    _add_comparators(con, la_code, indicators)
    public_crime = _public_crime(con, la_code, quarter, catalogue)
    if not public_crime.loaded:
        indicators = [i for i in indicators if i.feed != PUBLIC_CRIME_FEED]
    feeds = _feed_lines(con, la_code, indicators)
    if not public_crime.loaded:
        feeds = [f for f in feeds if f.feed.split(":")[0] != PUBLIC_CRIME_FEED]
    as_of_rows = _records(con, "select max(as_of_date) as as_of from main.fct_feed_status")
    as_of = _clean(as_of_rows[0]["as_of"]) if as_of_rows else None
    return ReportData(
        la_code=la_code,
        la_name=la_name,
        quarter=quarter,
        quarter_start=q_start,
        quarter_end=q_end,
        as_of=as_of,
        generated_at=datetime.now().replace(microsecond=0),
        indicators=indicators,
        feeds=feeds,
        quarters=[q["fiscal_quarter"] for q in quarters][-history:],
        public_crime=public_crime,
        benchmarks=_benchmarks(con, la_code, quarter, public_crime),
    )


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether ``main.<name>`` exists (a warehouse built before the mart was added lacks it)."""
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = 'main' "
            "and table_name = ?",
            [name],
        ).fetchone()[0]
    )


def _public_crime(
    con: duckdb.DuckDBPyConnection, la_code: str, quarter: str, catalogue: list[dict[str, Any]]
) -> PublicCrime:
    """The data.police.uk section: whether any file is loaded, and the force comparison."""
    not_fed = [e["indicator_name"] for e in catalogue if e["feed"] == FORCE_EXTRACT_FEED]
    if not (
        _has_table(con, "fct_police_uk_force_month") and _has_table(con, "fct_police_uk_comparison")
    ):
        return PublicCrime(loaded=False, comparison=[], not_fed=not_fed)
    loaded = con.execute("select count(*) from main.fct_police_uk_force_month").fetchone()[0] > 0
    comparison = _records(
        con,
        """
        select *, partnership_code = ? as is_this
        from main.fct_police_uk_comparison
        where fiscal_quarter = ? and force in (
            select force from main.fct_police_uk_comparison
            where partnership_code = ? and fiscal_quarter = ?)
        order by force, rate_per_1000 is null, rate_per_1000, partnership_name""",
        [la_code, quarter, la_code, quarter],
    )
    return PublicCrime(loaded=loaded, comparison=comparison, not_fed=not_fed)


# The trend charts' comparator lines: indicator, its words in the legend, and the query giving
# the group's figure by quarter in the indicator's own unit, given the partnership's code.
COMPARATORS = {
    # The average difference of every ranked authority of each MoJ table, as the spine chart's
    # average; only where the partnership is one authority with a difference of its own.
    "RR_REOFFEND_DIFF": (
        "Average of all MoJ authorities",
        "fct_reoffending_comparison",
        """
        select fiscal_quarter, average_all as comparator_value
        from main.fct_reoffending_comparison
        where la_code = ? and rank_all is not null""",
    ),
    # PC_TOTAL is the count fct_police_uk_comparison rates: at the force's rate, the
    # partnership's population would have had this many records. A force of one partnership
    # (the City of London's) has only the partnership's own rate to compare with.
    "PC_TOTAL": (
        "At its police force's rate",
        "fct_police_uk_comparison",
        """
        select fiscal_quarter, force_rate_per_1000 * population / 1000.0 as comparator_value
        from main.fct_police_uk_comparison
        where partnership_code = ? and is_complete and partnerships_in_force > 1
          and force_rate_per_1000 is not null and population is not null""",
    ),
}


def _add_comparators(
    con: duckdb.DuckDBPyConnection, la_code: str, indicators: list[Indicator]
) -> None:
    """Set each comparator line the warehouse can draw (COMPARATORS) on its indicator."""
    for indicator in indicators:
        if indicator.code not in COMPARATORS:
            continue
        label, mart, query = COMPARATORS[indicator.code]
        if not _has_table(con, mart):
            continue
        found = {
            r["fiscal_quarter"]: r["comparator_value"] for r in _records(con, query, [la_code])
        }
        if not any(found.get(p["fiscal_quarter"]) is not None for p in indicator.chart_points):
            continue
        indicator.comparator_label = label
        for point in indicator.history:
            point["comparator_value"] = found.get(point["fiscal_quarter"])


def _benchmarks(
    con: duckdb.DuckDBPyConnection, la_code: str, quarter: str, public_crime: PublicCrime
) -> list[Benchmark]:
    """Each comparator group the warehouse holds for the quarter: none where it holds no
    other area, so the report never ranks a partnership first of one."""
    return _reoffending_benchmarks(con, quarter) + _public_crime_benchmarks(public_crime)


def _reoffending_benchmarks(con: duckdb.DuckDBPyConnection, quarter: str) -> list[Benchmark]:
    """The partnership's reoffending difference among every authority of the MoJ table, and
    among its similar areas when configured, for the latest table up to the quarter."""
    if not _has_table(con, "fct_reoffending_comparison"):
        return []
    rows = _records(
        con,
        """
        select * from main.fct_reoffending_comparison
        where fiscal_quarter = (
            select max(fiscal_quarter) from main.fct_reoffending_comparison
            where fiscal_quarter <= ? and is_partnership and rank_all is not null)
        """,
        [quarter],
    )
    own = [r for r in rows if r["is_partnership"] and r["difference_pct"] is not None]
    # A partnership of several districts has no one difference to place among authorities.
    if len(own) != 1:
        return []
    this, table = own[0], own[0]["fiscal_quarter"]
    groups = [
        ("every local authority of the MoJ table", "all"),
        ("its similar areas", "similar"),
    ]
    benchmarks = []
    for group, suffix in groups:
        members = [r for r in rows if r[f"rank_{suffix}"]]
        if len(members) < 2:
            continue
        benchmarks.append(
            Benchmark(
                indicator=f"Reoffending, actual against predicted (MoJ table {table})",
                group=f"{group} ({len(members)} with a published figure)",
                unit="% difference from the predicted rate",
                value=float(this["difference_pct"]),
                others=tuple(float(r["difference_pct"]) for r in members),
                lower_is_better=True,
                rank=this[f"rank_{suffix}"],
                source="fct_reoffending_comparison",
                significance=_significance_words(
                    this.get(f"compared_with_{suffix}"),
                    "the group's average",
                    this.get(f"average_{suffix}"),
                ),
                significance_method="Wilson score 95% limits of the actual rate",
            )
        )
    return benchmarks


def _significance_words(verdict: str | None, benchmark: str, value: float | None) -> str:
    """``"significantly lower (better) than the force's rate (20.0)"``; "" when the mart gives
    none. Both comparisons are of figures where lower is better."""
    if not verdict or value is None:
        return ""
    judged = {"significantly lower": " (better)", "significantly higher": " (worse)"}
    return f"{verdict}{judged.get(verdict, '')} than {benchmark} ({value:.1f})"


def _public_crime_benchmarks(public_crime: PublicCrime) -> list[Benchmark]:
    """Recorded crime per 1,000 residents among the partnerships of the partnership's force."""
    this = public_crime.this
    if not public_crime.loaded or not this or this.get("rate_per_1000") is None:
        return []
    members = [
        r
        for r in public_crime.comparison
        if r["force"] == this["force"] and r.get("rate_per_1000") is not None
    ]
    if len(members) < 2:
        return []
    return [
        Benchmark(
            indicator="Recorded crime, all types but anti-social behaviour (data.police.uk)",
            group=f"the {len(members)} partnerships of its police force area",
            unit="per 1,000 residents",
            value=float(this["rate_per_1000"]),
            others=tuple(float(r["rate_per_1000"]) for r in members),
            lower_is_better=True,
            rank=this.get("rank_in_force"),
            source="fct_police_uk_comparison",
            significance=_significance_words(
                this.get("compared_with_force"), "the force's rate", this.get("force_rate_per_1000")
            ),
            significance_method="Byar's 95% limits of the rate",
        )
    ]


def _parts(rows: list[dict], code: str, year: str) -> tuple[float | None, float | None]:
    """Summed numerator and denominator of a year to date, when every quarter is ok."""
    span = [r for r in rows if r["indicator_code"] == code and r["financial_year"] == year]
    if not span or any(
        r["data_status"] != "ok" or r["numerator"] is None or r["denominator"] is None for r in span
    ):
        return (None, None)
    return (sum(r["numerator"] for r in span), sum(r["denominator"] for r in span))


def _feed_lines(
    con: duckdb.DuckDBPyConnection, la_code: str, indicators: list[Indicator]
) -> list[FeedLine]:
    """One line per feed calendar row (``feed`` or ``feed:partner``), in the warehouse's order.

    A feed some indicator needs but with no calendar row yet (never configured nor
    delivered) gets a line too, 'not started'.
    """
    status = {
        r["feed_key"]: r
        for r in _records(
            con, "select * from main.fct_feed_status where la_code = ? order by feed_key", [la_code]
        )
    }
    dims = {
        r["feed_key"]: r for r in _records(con, "select * from main.dim_feed order by feed_key")
    }
    keys = list(dict.fromkeys([*status, *dims]))
    keys += [
        f
        for f in dict.fromkeys(i.feed for i in indicators)
        if not any(k.split(":")[0] == f for k in keys)
    ]
    lines = []
    for key in keys:
        st, dim = status.get(key, {}), dims.get(key, {})
        feed, _, partner_key = key.partition(":")
        mine = [
            i for i in indicators if i.feed == feed and (not partner_key or i.owner == partner_key)
        ]
        statuses = sorted(
            {i.status for i in mine}, key=lambda s: STATUSES.index(s) if s in STATUSES else 99
        )
        # The feed's worst status in the quarter speaks for it.
        worst = statuses[-1] if statuses else "not_expected"
        note = next(
            (
                i.row.get("status_note")
                for i in mine
                if i.status == worst and i.row.get("status_note")
            ),
            None,
        )
        lines.append(
            FeedLine(
                feed=key,
                partner=st.get("partner") or dim.get("partner") or partner_key or None,
                cadence=st.get("cadence") or dim.get("cadence"),
                state=st.get("state") or "not started",
                last_period=st.get("last_period"),
                next_period=st.get("next_period"),
                next_due=_clean(st.get("next_due_date")),
                overdue_periods=st.get("overdue_periods"),
                suspension_reason=st.get("suspension_reason") or dim.get("suspension_reason"),
                quarter_status=worst if len(statuses) <= 1 else " / ".join(statuses),
                quarter_note=note,
                indicator_count=len(mine),
            )
        )
    return lines
