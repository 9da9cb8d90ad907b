"""`csp report`: the quarterly report from the demonstration warehouse, opened in Chromium.

The demo home is built once for the session (``report_home``, also used by test_exports.py);
``csp report --public --interactive`` runs once on it. The browser tests need Debian's headless
Chromium at /usr/bin/chromium (``apt-get install -y chromium``); they are skipped, saying so,
without it.
"""

from __future__ import annotations

import csv
import html
import os
import re
import subprocess
from pathlib import Path

import pytest

from core.periods import quarter_slug
from exports.report import write_report
from exports.report_data import read_report_data
from orchestration.cli import main
from tests.conftest import keys_from_files

QUARTER = "2014/15 Q2"
SLUG = "2014-15-Q2"
PRIORITIES = [
    "Reducing Reoffending",
    "Substance Misuse",
    "Gangs and Youth Crime",
    "Violence Against Women and Girls",
    "Violence",
]
CHROMIUM = Path(os.environ.get("CSP_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(os.environ.get("CSP_SCREENSHOT_DIR", "/tmp/csp-report-screenshots"))


@pytest.fixture(scope="session")
def report_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo home, built as of 4 December 2014, with `csp report --public --interactive` run.

    Built once per session even though test_exports.py imports this fixture (pytest makes
    one fixture per module that holds it): the second finds the first's finished home.
    """
    home = tmp_path_factory.getbasetemp() / "report-home"
    done = home / "exports" / f"indicators-{SLUG}-public.csv"
    if done.is_file():
        return home
    with keys_from_files():  # the demo makes and uses its own key files
        assert main(["demo", "--home", str(home)]) == 0
        assert (
            main(["report", "--home", str(home), "--quarter", QUARTER, "--public", "--interactive"])
            == 0
        )
    return home


@pytest.fixture(scope="session")
def report_path(report_home: Path) -> Path:
    return report_home / "exports" / f"report-{SLUG}.html"


@pytest.fixture(scope="session")
def public_path(report_home: Path) -> Path:
    return report_home / "exports" / f"report-{SLUG}-public.html"


@pytest.fixture(scope="session")
def interactive_path(report_home: Path) -> Path:
    """The plotly version (``--interactive``); the report itself draws static SVG charts."""
    return report_home / "exports" / f"report-{SLUG}-interactive.html"


@pytest.fixture(scope="session")
def public_interactive_path(report_home: Path) -> Path:
    return report_home / "exports" / f"report-{SLUG}-public-interactive.html"


def _text(markup: str) -> str:
    """Visible-ish text of an HTML fragment: tags dropped, entities decoded, spaces folded."""
    without_scripts = re.sub(r"<script\b.*?</script>", " ", markup, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", without_scripts)))


def _indicator_rows(home: Path) -> dict[str, dict[str, str]]:
    with (home / "exports" / "indicators.csv").open(newline="") as handle:
        return {
            r["indicator_code"]: r for r in csv.DictReader(handle) if r["fiscal_quarter"] == QUARTER
        }


# --- the file ------------------------------------------------------------------------------


def test_quarter_slug() -> None:
    assert quarter_slug("2014/15 Q2") == "2014-15-Q2"
    assert quarter_slug("1999/00 Q4") == "1999-00-Q4"


@pytest.mark.parametrize("variant", ["static", "interactive"])
def test_report_is_one_self_contained_file(
    report_path: Path, interactive_path: Path, variant: str
) -> None:
    page = (report_path if variant == "static" else interactive_path).read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en-GB">' in page
    # Nothing fetched from anywhere: no external script, stylesheet, image or font.
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.I)
    # Outside the scripts' code (plotly.js mentions URLs in strings it never fetches here).
    markup = re.sub(r"<script\b[^>]*>.*?</script>", "<script></script>", page, flags=re.S)
    # The SVG namespace is a name, never fetched.
    markup = markup.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert not re.search(r"""\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", markup, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?(?:https?:)?//", markup, re.I)
    if variant == "interactive":
        assert "Plotly.newPlot" in page and len(page) > 3_000_000  # plotly.js is inlined
    else:
        assert "Plotly" not in page and len(page.encode()) < 1_500_000  # e-mailable
    assert "@page" in page and "size: A4" in page


def test_report_accessible_markup(report_path: Path) -> None:
    page = report_path.read_text(encoding="utf-8")
    assert page.count("<h1") == 1
    for priority in PRIORITIES:
        assert re.search(rf"<h2[^>]*>\d+\. {re.escape(priority)}</h2>", page), priority
        assert f"<caption>{priority}: indicators, {QUARTER}</caption>" in page
    assert '<th scope="col">' in page and '<th scope="row">' in page


def test_report_sections_follow_the_2014_order(report_path: Path) -> None:
    page = report_path.read_text(encoding="utf-8")
    positions = [page.index(f". {p}</h2>") for p in PRIORITIES]
    assert positions == sorted(positions)


def test_report_figures_match_indicators_csv(report_home: Path, report_path: Path) -> None:
    """Each indicator's table row carries indicators.csv's value and year to date."""
    page = report_path.read_text(encoding="utf-8")
    rows = _indicator_rows(report_home)
    data = read_report_data(report_home / "warehouse.duckdb", QUARTER)
    checked = 0
    for indicator in data.indicators:
        row = rows[indicator.code]
        match = re.search(
            rf'<a href="#{indicator.code.lower().replace("_", "-")}">.*?</tr>', page, re.S
        )
        assert match, indicator.code
        cells = re.findall(r'<td class="num">([^<]*)</td>', match.group(0))
        for csv_value, shown in ((row["value"], cells[0]), (row["ytd_value"], cells[2])):
            if csv_value == "":
                assert shown == "N/A", (indicator.code, shown)
            elif indicator.unit == "count":
                assert shown == f"{int(csv_value):,}", (indicator.code, shown)
            else:
                assert (
                    shown.rstrip("%").replace("−", "-").lstrip("+") == f"{float(csv_value):.1f}"
                ), (indicator.code, shown)
            checked += 1
    assert checked == 2 * len(data.indicators)
    # Every indicator of indicators.csv is in the report, but the public data's while no
    # data.police.uk file has been loaded (they have a section saying how to start).
    left_out = {code for code in rows if code not in {i.code for i in data.indicators}}
    assert left_out == {code for code, row in rows.items() if code.startswith("PC_")}
    assert {rows[code]["data_status"] for code in left_out} == {"not_expected"}
    assert "No data.police.uk file has been loaded" in page


def test_published_figures_in_the_sentences(report_path: Path) -> None:
    """The PPV, DV and IDVA sentences carry the figures published on 4 December 2014."""
    text = _text(report_path.read_text(encoding="utf-8"))
    assert (
        "Latest position: 744 public place violence offences year to date as at "
        "31 October 2014, 107 more than the same period last year (+16.8%)."
    ) in text
    # 41% more domestic abuse reported in the first half of 2014/15 than a year earlier.
    assert re.search(
        r"1,551 domestic abuse crimes reported to the police year to date "
        r"\(the first half of 2014/15\), 451 more than the same period last year "
        r"\(\+41\.0%\)",
        text,
    )
    assert (
        "205 high-risk victims supported by the IDVA service year to date "
        "(the first half of 2014/15)" in text
    )
    assert "1,354 incidents involving children or pregnant women screened year to date" in text


def test_moj_suspension_is_the_data_note(report_path: Path) -> None:
    text = _text(report_path.read_text(encoding="utf-8"))
    assert (
        "Data not available: MoJ: localised data not available until further notice "
        "(Transforming Rehabilitation)."
    ) in text
    assert (
        "Last published figure: reoffending 18.3% below the predicted rate "
        "(2013/14 Q3), Green." in text
    )


def test_every_data_status_renders(report_home: Path, tmp_path: Path) -> None:
    """Q3 (pending police, RNY and IDVA; suspended MoJ; partner returns not expected)."""
    written = write_report(report_home / "warehouse.duckdb", tmp_path, "2014/15 Q3", public=True)
    text = _text(written["report"].read_text(encoding="utf-8"))
    assert "Data not available: police_crime 2014-11 not yet received (due 2014-12-15)" in text
    assert "Provisional figure so far: 101" in text
    public = _text(written["public_report"].read_text(encoding="utf-8"))
    assert "Provisional figure so far: 100" in public  # 101 rounded to the nearest 5


# --- the public version ------------------------------------------------------------------


def _small(cell: str) -> bool:
    """A cell showing a count from 1 to 7."""
    return bool(re.fullmatch(r"[1-7]", cell.strip()))


def test_public_csv_has_no_small_counts(report_home: Path) -> None:
    path = report_home / "exports" / f"indicators-{SLUG}-public.csv"
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    # The report's indicators: the public data's are left out while none is loaded.
    assert len(rows) == len([c for c in _indicator_rows(report_home) if not c.startswith("PC_")])
    count_columns = ["value", "ytd_value", "ytd_prev_value", "prev_year_value"]
    suppressed = 0
    for row in rows:
        columns = count_columns if row["unit"] == "count" else []
        columns += ["numerator", "denominator"] if row["unit"] == "percent" else []
        for column in columns:
            cell = row[column]
            assert not _small(cell), (row["indicator_code"], column, cell)
            if cell not in ("", "[c]", "0"):
                assert int(cell) % 5 == 0 and int(cell) >= 10, (row["indicator_code"], cell)
            suppressed += cell == "[c]"
    assert suppressed > 0  # the demo has small counts (Required Assessment breaches)
    breaches = next(r for r in rows if r["indicator_code"] == "SM_RA_BREACHES")
    assert breaches["value"] == "[c]"


def test_public_report_has_no_small_counts(
    public_path: Path, public_interactive_path: Path
) -> None:
    page = public_path.read_text(encoding="utf-8")
    body = page.split("</head>", 1)[1]
    # Figures (not the tallies of indicators in the summary).
    cells = [c for c in re.findall(r'<td class="num">([^<]*)</td>', body) if "%" not in c]
    assert cells and not [c for c in cells if _small(c)]
    # The static charts' figures written by their points.
    labels = re.findall(r'<text class="value"[^>]*>([^<]*)</text>', body)
    assert labels and "[c]" not in labels  # a suppressed quarter is a gap, not a label
    assert not [v for v in labels if _small(v)]
    # The interactive charts' hover texts and plotted values.
    interactive = public_interactive_path.read_text(encoding="utf-8").split("</head>", 1)[1]
    customs = re.findall(r'"customdata":\[([^\]]*)\]', interactive)
    assert customs
    for custom in customs:
        for value in re.findall(r'"([^"]*)"', custom):
            assert not _small(value), value
    text = _text(body)
    assert "Statistical disclosure control" in text and "[c]" in text
    # A sentence never states a count from 1 to 7 (numbers followed by a counted noun).
    assert not re.search(
        r"(?<![\d.,/Q])[1-7] (?:[a-z-]+ )*(?:offences|crimes|referrals|"
        r"breaches|victims|cases|incidents|offenders|users|perpetrators)",
        text,
    )


# --- in a real browser --------------------------------------------------------------------


def _chromium(url: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=15000",
        *extra,
        url,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def _console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.mark.parametrize("variant", ["full", "public"])
def test_report_renders_in_chromium(
    interactive_path: Path, public_interactive_path: Path, tmp_path: Path, variant: str
) -> None:
    """The interactive version: plotly draws every chart (tests/test_report_static.py has the
    static report, with scripts off)."""
    path = interactive_path if variant == "full" else public_interactive_path
    result = _chromium(path.as_uri(), tmp_path, "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert _console_messages(result.stderr) == []
    data = read_report_data(path.parent.parent / "warehouse.duckdb", QUARTER)
    # Every chart drawn: an SVG (class main-svg) inside each chart div.
    charts = re.split(r'<div id="chart-', dom)[1:]
    assert len(charts) == len(data.indicators)
    for chart in charts:
        code = chart.split('"', 1)[0]
        assert 'class="main-svg"' in chart.split('<div id="chart-')[0], code
    assert dom.count('class="main-svg"') >= len(data.indicators)
    text = _text(dom)
    for priority in PRIORITIES:
        assert re.search(rf"<h2[^>]*>\d+\. {re.escape(priority)}</h2>", dom), priority
    for indicator in data.indicators:
        assert indicator.name in text
    for word in ("Green", "Amber", "Red", "Not rated", "No target"):
        assert word in text
    assert "Data not available: MoJ: localised data not available until further notice" in text


def test_report_screenshot(report_path: Path, public_path: Path, tmp_path: Path) -> None:
    """Screenshots to look at (their paths are printed; CSP_SCREENSHOT_DIR moves them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, path in (("report", report_path), ("report-public", public_path)):
        shot = SCREENSHOTS / f"{name}-{SLUG}.png"
        shot.unlink(missing_ok=True)
        result = _chromium(
            path.as_uri(),
            tmp_path,
            f"--screenshot={shot}",
            "--window-size=1280,4000",
            "--hide-scrollbars",
        )
        assert result.returncode == 0 and shot.stat().st_size > 50_000, result.stderr[-2000:]
        print(f"screenshot: {shot} ({path.stat().st_size:,} bytes of HTML)")


def test_report_can_be_printed_to_a4_pdf(report_path: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    result = _chromium(
        report_path.as_uri(), tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer"
    )
    assert result.returncode == 0 and pdf.read_bytes().startswith(b"%PDF")
    # A4 is 595 x 842 points.
    assert re.search(rb"/MediaBox\s*\[\s*0 0 59[45][.\d]* 84[12][.\d]*\]", pdf.read_bytes())


def test_cli_rejects_an_unknown_quarter(report_home: Path, capsys) -> None:
    assert main(["report", "--home", str(report_home), "--quarter", "2020/21 Q1"]) == 2
    assert "no indicators for 2020/21 Q1" in capsys.readouterr().err
    assert main(["report", "--home", str(report_home), "--quarter", "Q2 2014"]) == 2


def test_no_leftover_partial_files(report_home: Path) -> None:
    assert not list((report_home / "exports").rglob(".*.partial"))


def test_not_expected_note() -> None:
    from exports.report_model import Indicator
    from exports.wording import data_note, headline

    indicator = Indicator(
        code="GY_YOUTH_FTE",
        name="First-time entrants",
        priority="Gangs and Youth Crime",
        feed="partner_returns",
        owner="yot",
        unit="count",
        polarity="lower_is_better",
        aggregation="sum",
        target=None,
        definition=None,
        row={"data_status": "not_expected", "status_note": "partner_returns has never delivered"},
        history=[],
    )
    assert (
        headline(indicator, QUARTER)
        == data_note(indicator)
        == (
            "Data not available: no data is expected for this quarter "
            "(partner_returns has never delivered)."
        )
    )


def test_dagster_materialises_a_quarter_partition_of_the_report(report_home: Path) -> None:
    import dagster as dg

    from orchestration.defs.assets import quarterly_report
    from orchestration.defs.resources import CspResource

    report = report_home / "exports" / "report-2014-15-Q2.html"
    before = report.stat().st_mtime_ns
    result = dg.materialize(
        [quarterly_report],
        partition_key="2014-07-01",
        resources={
            "csp": CspResource(home=str(report_home), as_of="2014-12-04", la_code="E08000031")
        },
    )
    assert result.success
    [event] = result.get_asset_materialization_events()
    assert event.materialization.metadata["quarter"].value == "2014/15 Q2"
    assert report.stat().st_mtime_ns > before
    assert (report_home / "exports" / "report-2014-15-Q2-public.html").exists()
