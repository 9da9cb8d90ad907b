"""Benchmarks: the partnership against the other areas the warehouse holds, as spine charts.

Nothing is compared where there is nothing to compare with: no similar areas configured means
no similar-area rank (not "1 of 1"), and no data.police.uk file means no force comparison.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import duckdb
import pytest

from exports.report_data import read_report_data
from exports.report_model import Benchmark
from exports.spine import spine_band, spine_svg

QUARTER = "2014/15 Q2"


def benchmark(value: float, others: tuple[float, ...], lower_is_better: bool = True) -> Benchmark:
    return Benchmark(
        "Reoffending", "every authority", "percentage points", value, others, lower_is_better
    )


def test_group_statistics() -> None:
    group = benchmark(-1.0, (-8.0, -4.0, -1.0, 2.0, 6.0))
    assert group.count == 5
    assert group.mean == pytest.approx(-1.0)
    assert group.quartiles == (-4.0, 2.0)


@pytest.mark.parametrize(
    "value, lower_is_better, band",
    [
        (-8.0, True, "best"),
        (6.0, True, "worst"),
        (-1.0, True, "middle"),
        (6.0, False, "best"),
        (-8.0, False, "worst"),
    ],
)
def test_the_partnership_is_placed_in_its_quarter_of_the_group(
    value: float, lower_is_better: bool, band: str
) -> None:
    others = (-8.0, -4.0, -1.0, 2.0, 6.0)
    assert spine_band(benchmark(value, others, lower_is_better)) == band


def test_the_best_figure_is_on_the_right_whatever_the_polarity() -> None:
    """Fingertips draws worst on the left: for a lower-is-better figure the lowest is right."""
    for lower_is_better, best in ((True, -8.0), (False, 6.0)):
        svg = ET.fromstring(spine_svg(benchmark(best, (-8.0, 0.0, 6.0), lower_is_better)))
        circle = svg.find("{http://www.w3.org/2000/svg}circle")
        assert float(circle.get("cx")) == pytest.approx(412.0)


def test_a_spine_chart_is_a_titled_svg_that_names_the_group() -> None:
    svg = ET.fromstring(spine_svg(benchmark(-1.0, (-8.0, -4.0, -1.0, 2.0, 6.0))))
    namespace = "{http://www.w3.org/2000/svg}"
    assert svg.tag == f"{namespace}svg"
    assert "every authority" in svg.find(f"{namespace}title").text
    assert "group of 5" in svg.find(f"{namespace}desc").text
    assert len(svg.findall(f"{namespace}rect")) == 2


def test_a_group_of_one_has_no_spread() -> None:
    """A degenerate group still draws (the reader never builds one; see below)."""
    svg = ET.fromstring(spine_svg(benchmark(3.0, (3.0, 3.0))))
    assert svg.find("{http://www.w3.org/2000/svg}circle") is not None


@pytest.fixture(scope="module")
def demo_warehouse(built_demo_home: Path) -> Path:
    return built_demo_home / "published" / "warehouse.duckdb"


def test_the_demonstration_is_compared_with_every_authority_of_the_moj_table(
    demo_warehouse: Path,
) -> None:
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        data = read_report_data(con, QUARTER, la_code="E08000031")
        authorities = con.execute(
            "select count(*) from main.fct_reoffending_comparison where fiscal_quarter = "
            "(select max(fiscal_quarter) from main.fct_reoffending_comparison "
            " where fiscal_quarter <= ? and is_partnership and rank_all is not null) "
            "and rank_all is not null",
            [QUARTER],
        ).fetchone()[0]
        similar_ranks = con.execute(
            "select count(*) from main.fct_reoffending_comparison where rank_similar is not null"
        ).fetchone()[0]
    reoffending = [b for b in data.benchmarks if b.source == "fct_reoffending_comparison"]
    assert [b.group.split(" (")[0] for b in reoffending] == [
        "every local authority of the MoJ table"
    ]
    assert reoffending[0].count == authorities > 1
    assert 1 <= reoffending[0].rank <= authorities
    # No similar areas are configured in the demonstration: nothing ranks among them.
    assert similar_ranks == 0
    # No data.police.uk file in the demonstration: no force comparison.
    assert not [b for b in data.benchmarks if b.source == "fct_police_uk_comparison"]


def test_the_report_shows_the_comparison_and_each_interval(demo_warehouse: Path) -> None:
    from exports.report import render_report
    from exports.report_public import public_version

    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        data = read_report_data(con, QUARTER, la_code="E08000031")
    page = render_report(data)
    assert '<h2 id="benchmarks">' in page and page.count('class="spine"') == len(data.benchmarks)
    with_interval = [i for i in data.indicators if i.row.get("lower_95") is not None]
    assert with_interval
    assert page.count("95% confidence interval") == len(with_interval)
    # The public version gives no partner figure's limits (they would undo its rounding).
    public = render_report(public_version(data))
    assert "95% confidence interval" not in public
    assert '<h2 id="benchmarks">' in public


def test_police_uk_crime_is_compared_among_the_forces_partnerships() -> None:
    from exports.report_data import _public_crime_benchmarks
    from exports.report_model import PublicCrime

    def row(code: str, rate: float, rank: int, this: bool = False) -> dict:
        return {
            "partnership_code": code,
            "force": "avon-and-somerset",
            "rate_per_1000": rate,
            "rank_in_force": rank,
            "is_this": this,
            "force_rate_per_1000": 20.0,
            "compared_with_force": "significantly lower" if this else None,
        }

    crime = PublicCrime(
        True, [row("E1", 12.0, 1, True), row("E2", 25.0, 2), row("E3", 30.0, 3)], []
    )
    [found] = _public_crime_benchmarks(crime)
    assert (found.value, found.count, found.rank) == (12.0, 3, 1)
    assert found.significance == "significantly lower (better) than the force's rate (20.0)"
    assert spine_band(found) == "best"
    # A force of one partnership (the City of London's) has nothing to compare with.
    alone = PublicCrime(True, [row("E1", 12.0, 1, True)], [])
    assert _public_crime_benchmarks(alone) == []


def test_the_reoffending_comparison_says_whether_it_is_significant(demo_warehouse: Path) -> None:
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        data = read_report_data(con, QUARTER, la_code="E08000031")
        [reoffending] = [b for b in data.benchmarks if b.source == "fct_reoffending_comparison"]
        verdict, average, lower, upper = con.execute(
            "select compared_with_all, average_all, difference_lower_95, difference_upper_95 "
            "from main.fct_reoffending_comparison where la_code = 'E08000031' "
            "and difference_pct = ? and rank_all = ?",
            [reoffending.value, reoffending.rank],
        ).fetchone()
    # The spine chart's average is the one the mart judged against.
    assert average == pytest.approx(reoffending.mean)
    expected = (
        "significantly higher"
        if lower > average
        else "significantly lower"
        if upper < average
        else "not significantly different"
    )
    assert verdict == expected
    judged = {"significantly lower": " (better)", "significantly higher": " (worse)"}
    assert reoffending.significance == (
        f"{verdict}{judged.get(verdict, '')} than the group's average ({average:.1f})"
    )
    assert reoffending.unit == "% difference from the predicted rate"


def test_the_reoffending_trend_chart_draws_the_authorities_average(demo_warehouse: Path) -> None:
    from exports.chart_style import COMPARATOR
    from exports.svg_charts import trend_svg

    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        data = read_report_data(con, QUARTER, la_code="E08000031")
        averages = dict(
            con.execute(
                "select fiscal_quarter, average_all from main.fct_reoffending_comparison "
                "where la_code = 'E08000031' and rank_all is not null"
            ).fetchall()
        )
    by_code = {i.code: i for i in data.indicators}
    reoffending = by_code["RR_REOFFEND_DIFF"]
    assert reoffending.comparator_label == "Average of all MoJ authorities"
    drawn = {
        p["fiscal_quarter"]: p["comparator_value"]
        for p in reoffending.chart_points
        if p["comparator_value"] is not None
    }
    assert drawn and drawn == {q: averages[q] for q in drawn}
    assert set(drawn) == {p["fiscal_quarter"] for p in reoffending.chart_points} & set(averages)
    chart = trend_svg(reoffending, "rr")
    ET.fromstring(chart)  # well formed
    assert "<title>Average of all MoJ authorities</title>" in chart
    assert f'stroke="{COMPARATOR}"' in chart
    assert "average of all moj authorities:" in chart  # in the description a reader hears
    # No comparator where the warehouse holds no other area for the indicator.
    others = [i for i in data.indicators if i.code != "RR_REOFFEND_DIFF"]
    assert all(i.comparator_label is None for i in others)
    assert all(COMPARATOR not in trend_svg(i, i.code) for i in others)


def test_police_uk_crime_is_drawn_against_the_force_rate(tmp_path: Path) -> None:
    """PC_TOTAL's line: the records the partnership's population would have at its force's
    rate, in complete quarters of a force with other partnerships to compare with."""
    from exports.report_data import _add_comparators
    from exports.report_model import Indicator

    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute(
            "create table main.fct_police_uk_comparison (partnership_code varchar, "
            "fiscal_quarter varchar, is_complete boolean, partnerships_in_force integer, "
            "force_rate_per_1000 double, population integer)"
        )
        con.execute(
            "insert into main.fct_police_uk_comparison values "
            "('E1', '2017/18 Q3', true, 3, 20.0, 50000), "
            "('E1', '2017/18 Q4', false, 3, 18.0, 50000), "
            "('E9', '2017/18 Q3', true, 1, 30.0, 8000)"
        )

        def total() -> Indicator:
            return Indicator(
                "PC_TOTAL", "Recorded crime", "p", "police_uk", None, "count",
                "lower_is_better", "sum", None, None, {},
                [{"fiscal_quarter": "2017/18 Q3"}, {"fiscal_quarter": "2017/18 Q4"}],
            )  # fmt: skip

        partnership, alone = total(), total()
        _add_comparators(con, "E1", [partnership])
        _add_comparators(con, "E9", [alone])
    assert partnership.comparator_label == "At its police force's rate"
    # 20 per 1,000 of 50,000 residents; the incomplete quarter has no line.
    assert [p["comparator_value"] for p in partnership.history] == [1000.0, None]
    assert alone.comparator_label is None
