"""The public report and CSV never say anything their own figures contradict (issue 25, item 1).

Over every row of the demonstration's public CSV and every indicator of its public HTML:

- a percentage is ``[c]`` or the warehouse's unrounded percentage to one decimal place (never
  one recomputed from the rounded counts), consistent with the rounded counts shown beside it,
  and ``[c]`` exactly when a part is from 1 to 7;
- a stated change is the shown figure minus last year's shown figure;
- a direction of travel agrees with the shown figures and the polarity, a RAG rating with the
  shown year to date and the target (or is absent), and neither contradicts the internal report;
- no "None" is printed.

The rules are docs/indicators.md's "Disclosure control"; the home is test_report.py's
``report_home`` (built once per session, ``csp report --public`` run on it).
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from exports.report_data import read_report_data
from exports.report_model import Indicator
from tests.test_report import QUARTER, SLUG, report_home  # noqa: F401 (the shared home)

SUPPRESSED = "[c]"
ABSENT = ("", "N/A", "–")
DIRECTIONS = {"▲ Improving": "improving", "▼ Worsening": "worsening", "► No change": "no change"}
WITHHELD_DIRECTIONS = ("Not assessed", "No polarity")
WITHHELD_RATINGS = ("Not rated", "No target")
QUARTER_RE = r"\d{4}/\d{2} Q[1-4]"


# --- reading the outputs --------------------------------------------------------------------


@dataclass
class Row:
    """One table row: its cells' text, the first link in it, the section it sits in."""

    cells: list[str] = field(default_factory=list)
    href: str | None = None
    section: str | None = None


@dataclass
class Section:
    """One indicator block: its sentences ("headline") and its facts line."""

    anchor: str
    headlines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    facts: str = ""


class _Page(HTMLParser):
    """Table rows, indicator sections and the visible text of the report (stdlib parser)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[Row] = []
        self.sections: dict[str, Section] = {}
        self.text: list[str] = []
        self._row: Row | None = None
        self._cell: list[str] | None = None
        self._section: Section | None = None
        self._para: tuple[str, list[str]] | None = None
        self._skip = 0  # inside <script>, <style> or <svg>: not the report's words

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        classes = (found.get("class") or "").split()
        if tag in ("script", "style", "svg"):
            self._skip += 1
        elif tag == "section" and "indicator" in classes:
            self._section = Section(anchor=found.get("id") or "")
            self.sections[self._section.anchor] = self._section
        elif tag == "p" and self._section and {"headline", "note", "facts"} & set(classes):
            kind = next(c for c in ("headline", "note", "facts") if c in classes)
            self._para = (kind, [])
        elif tag == "tr":
            self._row = Row(section=self._section.anchor if self._section else None)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "a" and self._row is not None and self._row.href is None:
            self._row.href = found.get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "svg"):
            self._skip -= 1
        elif tag == "section":
            self._section = None
        elif tag == "p" and self._para and self._section:
            kind, words = self._para
            sentence = re.sub(r"\s+", " ", "".join(words)).strip()
            if kind == "facts":
                self._section.facts = sentence
            else:
                (self._section.headlines if kind == "headline" else self._section.notes).append(
                    sentence
                )
            self._para = None
        elif tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.cells.append(re.sub(r"\s+", " ", "".join(self._cell)).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._para is not None:
            self._para[1].append(data)


@dataclass
class Public:
    """The demonstration's public outputs, and the true (unrounded) figures behind them."""

    csv_rows: list[dict[str, str]]
    page: _Page
    full_page: str
    true: dict[str, Indicator]


@pytest.fixture(scope="module")
def public(report_home: Path) -> Public:  # noqa: F811 (the fixture imported above)
    exports = report_home / "exports"
    with (exports / f"indicators-{SLUG}-public.csv").open(newline="", encoding="utf-8") as f:
        csv_rows = list(csv.DictReader(f))
    page = _Page()
    page.feed((exports / f"report-{SLUG}-public.html").read_text(encoding="utf-8"))
    data = read_report_data(report_home / "warehouse.duckdb", QUARTER)
    return Public(
        csv_rows=csv_rows,
        page=page,
        full_page=(exports / f"report-{SLUG}.html").read_text(encoding="utf-8"),
        true={i.code: i for i in data.indicators},
    )


# --- the rules, written out again here so the test does not check the code with itself ------


def _number(shown: str) -> float | None:
    """A shown figure as a number ("1,355", "44.7%", "−1.5%"); None for [c] or no figure."""
    text = shown.strip()
    if text == SUPPRESSED or text in ABSENT:
        return None
    return float(text.rstrip("%").replace(",", "").replace("−", "-").lstrip("+"))


def _small(count: float | None) -> bool:
    """A count the NHS England rule suppresses (1 to 7)."""
    return count is not None and 1 <= math.floor(count + 0.5) <= 7


def _rounded_count(count: float) -> int:
    """0 → 0, 8+ → nearest 5 (1-7 is suppressed, never asked for here)."""
    whole = math.floor(count + 0.5)
    return 0 if whole == 0 else int(5 * math.floor(whole / 5 + 0.5))


def _could_come_from(percent: float, numerator: float | None, denominator: float | None) -> bool:
    """Some counts that round to the shown numerator and denominator give ``percent``.

    A count shown as n (n ≥ 10, a multiple of 5) is between n − 2 and n + 2; 0 is 0.
    """
    if numerator is None or denominator is None:
        return True  # nothing shown to be inconsistent with
    tops = [0] if numerator == 0 else range(int(numerator) - 2, int(numerator) + 3)
    bottoms = range(max(int(denominator) - 2, 1), int(denominator) + 3)
    return any(
        top <= bottom and round(100 * top / bottom, 1) == percent
        for top in tops
        for bottom in bottoms
    )


def _expected_percent(value: float | None, parts: tuple[Any, Any]) -> str | float | None:
    """What the public version must show for a percentage with these unrounded parts."""
    if value is None:
        return None
    numerator, denominator = parts
    if numerator is None or denominator is None or _small(numerator) or _small(denominator):
        return SUPPRESSED
    return round(value, 1)


def _rating(value: float | None, target: float | None, polarity: str) -> str | None:
    """fct_indicator_quarter's RAG: Green met; Amber missed by at most 5% of the target."""
    if value is None or target is None:
        return None
    met = value <= target if polarity == "lower_is_better" else value >= target
    if met:
        return "Green"
    return "Amber" if round(abs(value - target), 6) <= round(0.05 * abs(target), 6) else "Red"


def _direction(now: float | None, before: float | None, polarity: str) -> str | None:
    if polarity == "none" or now is None or before is None:
        return None
    if now == before:
        return "no change"
    return "improving" if (polarity == "higher_is_better") == (now > before) else "worsening"


def _year_before(indicator: Indicator) -> dict[str, Any] | None:
    """The same quarter last year, four back in the history."""
    history = indicator.history
    return history[-5] if len(history) >= 5 else None


def _true_parts(indicator: Indicator) -> dict[str, tuple[float | None, tuple[Any, Any]]]:
    """For each shown column, the true percentage and its unrounded parts."""
    row = indicator.row
    back = _year_before(indicator) or {}
    return {
        "value": (row.get("value"), (row.get("numerator"), row.get("denominator"))),
        "prev_year_value": (
            row.get("prev_year_value"),
            (back.get("numerator"), back.get("denominator")),
        ),
        "ytd_value": (row.get("ytd_value"), indicator.ytd_parts),
        "ytd_prev_value": (row.get("ytd_prev_value"), indicator.ytd_prev_parts),
    }


def _check_shown_percent(code: str, column: str, shown: str, expected: Any) -> None:
    where = (code, column, shown)
    if expected is None:
        assert _number(shown) is None and shown != SUPPRESSED, where
    elif expected == SUPPRESSED:
        assert shown == SUPPRESSED, where
    else:
        assert _number(shown) == expected, (*where, expected)


# --- the CSV ----------------------------------------------------------------------------------


def test_csv_rows_are_the_reports_indicators(public: Public) -> None:
    assert public.csv_rows
    assert {r["indicator_code"] for r in public.csv_rows} <= set(public.true)
    for row in public.csv_rows:
        assert "None" not in row.values(), row
        assert row["disclosure_method"], row["indicator_code"]
        if row["unit"] == "percent":
            assert "unrounded" in row["disclosure_method"]


def test_csv_percentages_come_from_unrounded_figures(public: Public) -> None:
    checked = 0
    for row in public.csv_rows:
        if row["unit"] != "percent":
            continue
        indicator = public.true[row["indicator_code"]]
        for column, (value, parts) in _true_parts(indicator).items():
            _check_shown_percent(
                row["indicator_code"], column, row[column], _expected_percent(value, parts)
            )
            checked += 1
        shown = _number(row["value"])
        if shown is not None:
            assert _could_come_from(
                shown, _number(row["numerator"]), _number(row["denominator"])
            ), row
        for part in ("numerator", "denominator"):
            true = indicator.row.get(part)
            expected = "" if true is None else SUPPRESSED if _small(true) else _rounded_count(true)
            assert row[part] == str(expected), (row["indicator_code"], part, row[part])
    assert checked >= 4 * 6  # the demonstration's six percentage indicators


def test_csv_judgements_follow_the_shown_figures(public: Public) -> None:
    for row in public.csv_rows:
        if row["unit"] == "percent_diff":
            continue  # the MoJ's rates are shown as published, unrounded
        indicator = public.true[row["indicator_code"]]
        target = _number(row["target"])
        if row["direction"]:
            assert row["direction"] == _direction(
                _number(row["value"]), _number(row["prev_year_value"]), indicator.polarity
            ), row
            assert row["direction"] == indicator.row.get("direction"), row
        if row["rag_status"]:
            assert row["rag_status"] == _rating(
                _number(row["ytd_value"]), target, indicator.polarity
            ), row
            assert row["rag_status"] == indicator.row.get("rag_status"), row
        elif indicator.row.get("rag_status"):
            # Withheld only where the shown figure rates differently.
            assert indicator.row["rag_status"] != _rating(
                _number(row["ytd_value"]), target, indicator.polarity
            ), row


def test_csv_employment_and_accommodation_as_published(public: Public) -> None:
    rows = {r["indicator_code"]: r for r in public.csv_rows}
    employment, accommodation = rows["RR_EMPLOYMENT"], rows["RR_ACCOMMODATION"]
    assert (employment["value"], employment["ytd_value"], employment["ytd_prev_value"]) == (
        "45.8",
        "44.7",
        "41.7",
    )
    assert (employment["rag_status"], employment["direction"]) == ("Amber", "improving")
    assert (accommodation["ytd_value"], accommodation["rag_status"]) == ("86.4", "Amber")


# --- the HTML ---------------------------------------------------------------------------------


def _summary_rows(page: _Page) -> dict[str, Row]:
    """The priority tables' rows: indicator, this quarter, last year, YTD, YTD last year,
    target, RAG, direction (8 cells), by indicator anchor."""
    return {
        row.href.lstrip("#"): row
        for row in page.rows
        if row.section is None and row.href and row.href.startswith("#") and len(row.cells) == 8
    }


def _anchor(code: str) -> str:
    return code.lower().replace("_", "-")


def test_no_none_printed(public: Public) -> None:
    text = re.sub(r"\s+", " ", "".join(public.page.text))
    # The summary's own sentence when no indicator can be rated is words, not a missing value.
    text = text.replace("None can be rated against a target", "")
    assert not re.search(r"\bNone\b", text), re.search(r".{60}\bNone\b.{60}", text)


def test_html_tables_show_unrounded_percentages_and_consistent_judgements(public: Public) -> None:
    rows = _summary_rows(public.page)
    checked = 0
    for code, indicator in public.true.items():
        if indicator.feed == "police_uk":
            continue
        row = rows[_anchor(code)]
        _, value, prev, ytd, ytd_prev, target, rag, trend = row.cells
        shown = {"value": value, "prev_year_value": prev, "ytd_value": ytd}
        shown["ytd_prev_value"] = ytd_prev
        if indicator.unit == "percent":
            for column, (true, parts) in _true_parts(indicator).items():
                _check_shown_percent(code, column, shown[column], _expected_percent(true, parts))
        # Direction: the quarter against the same quarter last year, as shown.
        if trend in DIRECTIONS:
            assert DIRECTIONS[trend] == _direction(
                _number(value), _number(prev), indicator.polarity
            ), (code, value, prev, trend)
            assert DIRECTIONS[trend] == indicator.row.get("direction"), (code, trend)
        else:
            assert trend in WITHHELD_DIRECTIONS, (code, trend)
        # RAG: the year to date against the target, as shown.
        if rag in ("Green", "Amber", "Red"):
            if indicator.unit != "percent_diff":
                assert rag == _rating(_number(ytd), _number(target), indicator.polarity), (
                    code,
                    ytd,
                    target,
                    rag,
                )
            assert rag == indicator.row.get("rag_status"), (code, rag)
        else:
            assert rag in WITHHELD_RATINGS, (code, rag)
        assert "None" not in row.cells, (code, row.cells)
        checked += 1
    assert checked == len([i for i in public.true.values() if i.feed != "police_uk"])


PERCENT_CHANGE = re.compile(
    r"^(?P<now>\d+\.\d)% .*?, (?P<change>\d+\.\d) percentage points (?P<word>higher|lower) "
    r"than [^(]*\((?P<before>\d+\.\d)%\)"
)
COUNT_CHANGE = re.compile(
    r"^(?P<now>[\d,]+) .*?, (?P<change>[\d,]+) (?P<word>more|fewer) than [^(.]*"
    r"(?:\((?P<percent>[+-]\d+\.\d)%\))?"
)
TARGET = re.compile(
    r"against a target of (?P<target>[\d.,]+)%? \((?P<rag>Green|Amber|Red|Not rated)"
    r"(?:: (?P<gap>[\d.,]+)(?: percentage points)? (?P<side>above|below|over|short of))?"
)


def test_html_sentences_agree_with_the_shown_figures(public: Public) -> None:
    rows = _summary_rows(public.page)
    changes = 0
    for code, indicator in public.true.items():
        if indicator.feed == "police_uk" or indicator.unit == "percent_diff":
            continue
        section = public.page.sections[_anchor(code)]
        _, value, prev, ytd, ytd_prev, target, rag, trend = rows[_anchor(code)].cells
        assert section.facts.startswith(f"RAG: {rag} · Direction of travel: {trend}"), (
            code,
            section.facts,
        )
        if not section.headlines:
            continue  # a data note
        sentence = section.headlines[0]
        assert "None" not in sentence, sentence
        # The sentence leads with the year to date where there is one, else the quarter.
        if "year to date" in sentence:
            now_cell, before_cell = ytd, ytd_prev
        else:
            now_cell, before_cell = value, prev
        assert sentence.startswith(now_cell.split("%")[0]), (code, now_cell, sentence)
        now, before = _number(now_cell), _number(before_cell)
        if indicator.unit == "percent":
            match = PERCENT_CHANGE.match(sentence)
            if match:
                sign = 1 if match["word"] == "higher" else -1
                assert float(match["before"]) == before, (code, sentence, before_cell)
                assert round(float(match["now"]) - before, 1) == sign * float(match["change"]), (
                    code,
                    sentence,
                )
                changes += 1
            elif "the same as" in sentence:
                assert now is not None and now == before, (code, sentence)
            else:
                assert now is None or before is None, (code, sentence)
        else:
            match = COUNT_CHANGE.match(sentence)
            if match:
                sign = 1 if match["word"] == "more" else -1
                change = sign * int(match["change"].replace(",", ""))
                assert before is not None and now - before == change, (code, sentence, before)
                if match["percent"]:
                    assert float(match["percent"]) == round(100 * change / before, 1), sentence
                changes += 1
            elif "the same as" in sentence:
                assert now is not None and now == before, (code, sentence)
            else:
                assert now is None or before is None, (code, sentence)
        target_match = TARGET.search(sentence)
        if target_match:
            assert target_match["rag"] == rag, (code, sentence, rag)
            if target_match["gap"]:
                gap = float(target_match["gap"].replace(",", ""))
                signed = gap if target_match["side"] in ("above", "over") else -gap
                assert round(now - _number(target), 1) == round(signed, 1), (code, sentence)
    assert changes >= 10  # the demonstration has many figures with a year-earlier comparison


def test_html_chart_data_percentages(public: Public) -> None:
    """The chart-data tables: each quarter's percentage from its own unrounded parts."""
    for code, indicator in public.true.items():
        if indicator.unit != "percent":
            continue
        anchor = _anchor(code)
        rows = [
            r
            for r in public.page.rows
            if r.section == anchor and len(r.cells) == 5 and re.fullmatch(QUARTER_RE, r.cells[0])
        ]
        by_quarter = {p["fiscal_quarter"]: p for p in indicator.history}
        assert len(rows) == len(indicator.chart_points), code
        for row in rows:
            quarter, value = row.cells[0], row.cells[1]
            point = by_quarter[quarter]
            parts = (point.get("numerator"), point.get("denominator"))
            _check_shown_percent(code, quarter, value, _expected_percent(point.get("value"), parts))


def test_employment_and_accommodation_as_published(public: Public) -> None:
    employment = public.page.sections["rr-employment"].headlines[0]
    assert employment.startswith("44.7% of offenders were in stable employment")
    assert "3.0 percentage points higher than the same period last year (41.7%)" in employment
    assert "(Amber: 0.3 percentage points below the target)" in employment
    accommodation = public.page.sections["rr-accommodation"].headlines[0]
    assert accommodation.startswith("86.4% of offenders were in stable accommodation")
    assert "(Amber: 0.6 percentage points below the target)" in accommodation
    # Before: 42.1% (40/95 rounded) "1.1 points lower than last year (43.2%)" and 87.5% (70/80).
    assert "42.1%" not in employment and "43.2%" not in employment
    rows = _summary_rows(public.page)
    assert rows["rr-employment"].cells[3:5] == ["44.7%", "41.7%"]
    assert rows["rr-accommodation"].cells[3:5] == ["86.4%", "88.8%"]
    text = "".join(public.page.text)
    assert "calculated from the unrounded figures" in text
    assert "rated on the unrounded figures" not in text


def test_full_report_still_shows_the_published_figures(public: Public) -> None:
    page = public.full_page
    assert "44.7% of offenders were in stable employment" in page
    assert "86.4% of offenders were in stable accommodation" in page
    assert "(Amber: 0.3 percentage points below the target)" in page


# --- the withholding paths, which the demonstration's figures do not reach ------------------


def _indicator(
    row: dict[str, Any],
    year_before: dict[str, Any],
    target: float | None,
    ytd_parts: tuple[float, float] = (400, 460),
) -> Indicator:
    """A percentage indicator in 2014/15 Q2 with last year's quarter four back."""
    gap = [{"fiscal_quarter": q, "value": None} for q in ("2013/14 Q3", "2013/14 Q4", "2014/15 Q1")]
    return Indicator(
        code="X_RATE",
        name="A rate",
        priority="Violence",
        feed="partner_returns",
        owner=None,
        unit="percent",
        polarity="higher_is_better",
        aggregation="ratio",
        target=target,
        definition=None,
        row=row,
        history=[year_before, *gap, dict(row)],
        ytd_parts=ytd_parts,
        ytd_prev_parts=(40, 50),
    )


ROW = {
    "fiscal_quarter": "2014/15 Q2",
    "data_status": "ok",
    "value": 86.98,
    "numerator": 200,
    "denominator": 230,
    "ytd_value": 86.98,
    "ytd_prev_value": 80.0,
    "prev_year_value": 86.96,
    "rag_status": "Amber",
    "direction": "improving",
}
YEAR_BEFORE = {"fiscal_quarter": "2013/14 Q2", "data_status": "ok", "value": 86.96}


def test_judgements_the_shown_figures_would_contradict_are_withheld() -> None:
    from exports.report_public import protect_indicator
    from exports.wording import direction_word, headline, rag_word

    # 86.98% is Amber against 87% but shows as 87.0%, which would be Green; and 86.98 against
    # 86.96 is improving but both show as 87.0%.
    safe = protect_indicator(
        _indicator(ROW, {**YEAR_BEFORE, "numerator": 20, "denominator": 23}, 87.0)
    )
    assert (safe.row["ytd_value"], safe.row["value"], safe.row["prev_year_value"]) == (87.0,) * 3
    assert (rag_word(safe), direction_word(safe)) == ("Not rated", "Not assessed")
    sentence = headline(safe, QUARTER)
    assert "Not rated in this version" in sentence and "Amber" not in sentence


def test_percentages_with_a_small_part_are_suppressed() -> None:
    from exports.report_public import protect_indicator
    from exports.wording import direction_word

    small = {**YEAR_BEFORE, "value": 21.7, "numerator": 5, "denominator": 23}
    safe = protect_indicator(_indicator({**ROW, "prev_year_value": 21.7}, small, None))
    assert safe.row["prev_year_value"] == SUPPRESSED and safe.history[0]["value"] == SUPPRESSED
    assert direction_word(safe) == "Not assessed"  # nothing shown to compare with
    # A year to date of 6 out of 40 is suppressed; its numerator is [c] too.
    safe = protect_indicator(_indicator({**ROW, "ytd_value": 15.0}, small, None, (6, 40)))
    assert safe.row["ytd_value"] == SUPPRESSED and safe.ytd_parts == (SUPPRESSED, 40)
