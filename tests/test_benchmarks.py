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
    assert found.significance == "significantly lower than the force's rate (20.0)"
    assert spine_band(found) == "best"
    # A force of one partnership (the City of London's) has nothing to compare with.
    alone = PublicCrime(True, [row("E1", 12.0, 1, True)], [])
    assert _public_crime_benchmarks(alone) == []
