# ruff: noqa: F811 (pytest passes the fixtures imported from tests/test_report.py by name)
"""The report reads with scripts off (issue 25, item 4): static SVG charts, no plotly.js.

The default report is the e-mailable page: each chart an inline <svg> with its own <title> and
<desc>, the page under 1.5 MB. ``csp report --interactive`` adds the plotly version
(tests/test_report.py checks it in Chromium). Here the demonstration report is opened in
headless Chromium with its scripts blocked, as a mail client blocks them.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from exports.report_data import read_report_data
from exports.report_model import Indicator
from exports.svg_charts import trend_svg
from tests.test_report import (  # noqa: F401 (the shared demo home and its reports)
    QUARTER,
    SLUG,
    _chromium,
    interactive_path,
    public_path,
    report_home,
    report_path,
)

SVG = "{http://www.w3.org/2000/svg}"
LIMIT = 1_500_000  # bytes: the ceiling for a report to e-mail
# Blocks every script of the page; the probe shows whether any ran. Headless Chromium 156's
# --blink-settings=scriptEnabled=false also stops --dump-dom and --screenshot giving anything
# (they read the page through script), so the page's own policy turns its scripts off instead.
NO_SCRIPTS = (
    '<head>\n<meta http-equiv="Content-Security-Policy" content="script-src \'none\'">\n'
    "<script>document.documentElement.setAttribute('data-script-ran', 'yes')</script>"
)


def _svgs(page: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", page, flags=re.S)


def _indicator(**overrides: object) -> Indicator:
    history = [
        {"fiscal_quarter": "2013/14 Q3", "data_status": "ok", "value": 12.0},
        {"fiscal_quarter": "2013/14 Q4", "data_status": "ok", "value": "[c]"},
        {"fiscal_quarter": "2014/15 Q1", "data_status": "ok", "value": 20.0},
        {
            "fiscal_quarter": "2014/15 Q2",
            "data_status": "missing",
            "value": None,
            "status_note": "courts 2014/15 Q2 overdue",
        },
    ]
    fields: dict[str, object] = {
        "code": "VA_TEST",
        "name": 'Offences <against> & "others"',
        "priority": "Violence",
        "feed": "police_crime",
        "owner": None,
        "unit": "count",
        "polarity": "lower_is_better",
        "aggregation": "sum",
        "target": 30.0,
        "definition": None,
        "row": history[-1],
        "history": history,
    }
    fields.update(overrides)
    return Indicator(**fields)  # type: ignore[arg-type]


# --- the renderer ------------------------------------------------------------------------


def test_svg_is_well_formed_with_title_desc_target_and_gaps() -> None:
    markup = trend_svg(_indicator(), "svg-va-test")
    root = ET.fromstring(markup)  # well-formed XML: every name and note escaped
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.get("aria-labelledby") == "svg-va-test-title svg-va-test-desc"
    title = root.find(f"{SVG}title")
    desc = root.find(f"{SVG}desc")
    assert title is not None and title.text == 'Offences <against> & "others": trend by quarter'
    assert desc is not None and "2014/15 Q2 no figure" in (desc.text or "")
    assert float(root.get("width") or 0) > 0 and float(root.get("height") or 0) > 0
    text = " ".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))
    assert "Target (30)" in text and "Number" in text
    # Each gap's reason written out (no hover in an e-mail): suppressed and missing.
    assert "2013/14 Q4: no figure (suppressed: a count from 1 to 7 ([c]))" in text
    assert "2014/15 Q2: no figure (Missing (overdue): courts 2014/15 Q2 overdue)" in text
    # The line breaks at the suppressed quarter: two runs of the quarter's own line.
    values = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "value"]
    assert values == ["12", "20"]


def test_svg_without_any_figure_says_so() -> None:
    history = [
        {"fiscal_quarter": q, "data_status": "suspended", "value": None, "status_note": "MoJ"}
        for q in ("2014/15 Q1", "2014/15 Q2")
    ]
    root = ET.fromstring(
        trend_svg(_indicator(history=history, row=history[-1], target=None), "svg-x")
    )
    text = " ".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))
    assert "No published figures for these quarters" in text
    # Consecutive quarters with one reason are one note.
    assert "2014/15 Q1 to 2014/15 Q2: no figure" in text
    assert not root.findall(f".//{SVG}polyline")


# --- the demonstration report -------------------------------------------------------------


def test_default_report_is_small_and_has_no_plotly(report_path: Path, public_path: Path) -> None:
    for path in (report_path, public_path):
        page = path.read_text(encoding="utf-8")
        assert path.stat().st_size < LIMIT, path.stat().st_size
        assert "<script" not in page and "plotly" not in page.lower()


def test_every_indicator_chart_is_an_svg_with_a_title(report_home: Path, report_path: Path) -> None:
    page = report_path.read_text(encoding="utf-8")
    data = read_report_data(report_home / "warehouse.duckdb", QUARTER)
    svgs = {}
    for markup in _svgs(page):
        root = ET.fromstring(markup)
        if root.get("class") != "spine":  # the benchmarks' spine charts (test_benchmarks.py)
            svgs[root.get("id")] = root
    for indicator in data.indicators:
        anchor = indicator.code.lower().replace("_", "-")
        root = svgs[f"svg-{anchor}"]
        title = root.find(f"{SVG}title")
        assert title is not None and title.text == f"{indicator.name}: trend by quarter"
        assert root.find(f"{SVG}desc") is not None
        # The chart sits in the indicator's own section.
        section = page.split(f'<section class="indicator" id="{anchor}"', 1)[1]
        assert f'id="svg-{anchor}"' in section.split("</section>", 1)[0]
    assert len(svgs) == len(data.indicators)


def test_interactive_report_keeps_the_svgs_for_scripts_off(interactive_path: Path) -> None:
    page = interactive_path.read_text(encoding="utf-8")
    assert "Plotly.newPlot" in page
    assert page.count('class="trend-svg"') == page.count("<noscript>") > 0


def test_report_reads_in_chromium_with_scripts_off(
    report_home: Path,
    report_path: Path,
    interactive_path: Path,
    tmp_path: Path,
) -> None:
    """Chromium draws every chart's SVG, at a size, with the page's scripts blocked."""
    data = read_report_data(report_home / "warehouse.duckdb", QUARTER)
    blocked = {}
    for name, path in (("static", report_path), ("interactive", interactive_path)):
        page = path.read_text(encoding="utf-8")
        assert page.count("<head>") == 1
        blocked[name] = tmp_path / f"{name}.html"
        blocked[name].write_text(page.replace("<head>", NO_SCRIPTS, 1), encoding="utf-8")

    # The check works: with its scripts blocked, plotly draws nothing in the interactive page.
    result = _chromium(blocked["interactive"].as_uri(), tmp_path, "--dump-dom")
    assert result.returncode == 0 and "</html>" in result.stdout, result.stderr[-2000:]
    assert 'data-script-ran="yes"' not in result.stdout and 'class="main-svg"' not in result.stdout

    result = _chromium(blocked["static"].as_uri(), tmp_path, "--dump-dom")
    assert result.returncode == 0 and "</html>" in result.stdout, result.stderr[-2000:]
    dom = result.stdout
    assert 'data-script-ran="yes"' not in dom
    drawn = {}
    spines = 0
    for markup in _svgs(dom):
        if 'class="spine"' in markup:  # a benchmark's spine chart: drawn, with a title
            spine = ET.fromstring(markup)
            assert float(spine.get("width")) > 0 and spine.find(f"{SVG}title") is not None
            assert spine.find(f"{SVG}circle") is not None
            spines += 1
            continue
        match = re.search(r'\bid="(svg-[^"]+)"', markup)
        assert match
        root = ET.fromstring(markup)
        width, height = float(root.get("width") or 0), float(root.get("height") or 0)
        drawn[match.group(1)] = root
        assert width > 0 and height > 0, match.group(1)
        # Something drawn: the quarter's line, or the words that there is nothing to draw.
        text = " ".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))
        assert root.findall(f".//{SVG}polyline") or "No published figures" in text
    assert sorted(drawn) == sorted(
        f"svg-{i.code.lower().replace('_', '-')}" for i in data.indicators
    )
    assert spines == len(data.benchmarks) > 0

    # And on screen: the same page with its charts hidden (the layout unchanged) is emptier.
    shots = {}
    for name, css in (
        ("charts", ""),
        ("hidden", "<style>.chart-static svg{visibility:hidden}</style>"),
    ):
        page = blocked["static"].read_text(encoding="utf-8")
        source = tmp_path / f"shot-{name}.html"
        source.write_text(page.replace("</head>", f"{css}</head>", 1), encoding="utf-8")
        shots[name] = tmp_path / f"{name}.png"
        result = _chromium(
            source.as_uri(),
            tmp_path,
            f"--screenshot={shots[name]}",
            "--window-size=1100,9000",  # deep enough for the first priorities' charts
            "--hide-scrollbars",
        )
        assert result.returncode == 0 and shots[name].is_file(), result.stderr[-2000:]
    sizes = {name: shot.stat().st_size for name, shot in shots.items()}
    # Measured: 1,024,233 bytes of PNG with the charts, 715,411 with them hidden.
    assert sizes["charts"] > sizes["hidden"] + 150_000, sizes


@pytest.mark.parametrize("quarter", ["2014/15 Q3"])
def test_every_data_status_draws(report_home: Path, tmp_path: Path, quarter: str) -> None:
    """Q3: pending and suspended quarters are gaps with their reasons, in both versions."""
    from exports.report import write_report

    written = write_report(report_home / "warehouse.duckdb", tmp_path, quarter, public=True)
    for key in ("report", "public_report"):
        page = written[key].read_text(encoding="utf-8")
        assert written[key].stat().st_size < LIMIT and "<script" not in page
        svgs = [ET.fromstring(s) for s in _svgs(page)]
        text = " ".join("".join(t.itertext()) for s in svgs for t in s.iter(f"{SVG}text"))
        assert "no figure (Pending (not yet due)" in text
        assert "no figure (Suspended: MoJ" in text
