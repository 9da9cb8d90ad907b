"""The chart of BENCHMARKS.md: seconds against rows, for every scale measured.

    python -m bench.chart        (after one or more `make bench SCALE=...`)

Reads ``bench/results/<scale>.json`` and writes ``bench/results/time_vs_rows.html`` (plotly,
loaded from its CDN) and, when Chromium is installed, ``time_vs_rows.png`` for the Markdown page.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import plotly.graph_objects as go

RESULTS = Path(__file__).resolve().parent / "results"
SERIES = [
    ("floor_seconds", "floor: DuckDB alone, one query"),
    ("full_seconds", "full build: csp build (ingest, checks, dbt, exports)"),
    ("incremental_seconds", "one new month: csp build again"),
    ("baseline_seconds", "baseline: pandas"),
]
CHROMIUM = Path(os.environ.get("CSP_CHROMIUM", "/usr/bin/chromium"))


def load_results() -> list[dict]:
    """Every scale measured, smallest first."""
    found = [json.loads(p.read_text()) for p in RESULTS.glob("*.json")]
    return sorted(found, key=lambda r: r["rows"])


def figure(results: list[dict]) -> go.Figure:
    """Seconds against rows, log-log, one line per way of computing the counts."""
    fig = go.Figure()
    for key, name in SERIES:
        points = [(r["rows"], r[key], r["scale"]) for r in results if r.get(key) is not None]
        fig.add_trace(
            go.Scatter(
                x=[p[0] for p in points],
                y=[p[1] for p in points],
                name=name,
                mode="lines+markers+text",
                text=[p[2] for p in points],
                textposition="top left",
                hovertemplate="%{x:,} rows: %{y:.1f} s<extra>" + name + "</extra>",
            )
        )
    fig.update_layout(
        title="Time against rows of police crime (2-core machine)",
        width=900,
        height=560,
        margin={"b": 130},
        xaxis={"title": "rows of force-wide police extracts", "type": "log"},
        yaxis={"title": "seconds", "type": "log"},
        legend={"orientation": "h", "x": 0, "y": -0.18},
        template="plotly_white",
    )
    return fig


def main() -> int:
    """Write the chart (HTML, and PNG where Chromium can render it)."""
    results = load_results()
    if not results:
        print("no results yet: run `make bench SCALE=small` first", file=sys.stderr)
        return 1
    chart = figure(results)
    html = RESULTS / "time_vs_rows.html"
    # Plotly from its CDN keeps the committed page small; the PNG is rendered offline.
    chart.write_html(html, include_plotlyjs="cdn", full_html=True)
    print(f"wrote {html}")
    if CHROMIUM.exists():
        png = RESULTS / "time_vs_rows.png"
        with tempfile.TemporaryDirectory() as profile:
            offline = Path(profile) / "chart.html"
            chart.write_html(
                offline, include_plotlyjs=True, full_html=True, config={"displayModeBar": False}
            )
            subprocess.run(
                [
                    str(CHROMIUM),
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--hide-scrollbars",
                    f"--user-data-dir={profile}",
                    "--window-size=920,580",
                    "--virtual-time-budget=10000",
                    f"--screenshot={png}",
                    offline.as_uri(),
                ],
                capture_output=True,
                timeout=120,
                check=True,
            )
        print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
