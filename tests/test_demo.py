"""`csp demo` from nothing: the published figures of the 4 December 2014 report come out."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from core.contracts import DOMAINS
from orchestration.cli import main
from orchestration.demo import PUBLISHED_FIGURES, check_published_figures
from tests.conftest import keys_from_files

LA = "E08000031"


@pytest.fixture(scope="module")
def demo_home(built_demo_home: Path) -> Path:
    """The session's demonstration home (the rerun test below rebuilds it in place, to the
    same result)."""
    return built_demo_home


@pytest.mark.parametrize("figure", PUBLISHED_FIGURES, ids=lambda f: f.report_says[:40])
def test_published_figure_is_reproduced(demo_home: Path, figure) -> None:
    results = {
        f.report_says: (found, ok)
        for f, found, ok in check_published_figures(demo_home / "warehouse.duckdb", LA)
    }
    found, ok = results[figure.report_says]
    assert ok, f"{figure.report_says}: warehouse has {found}"


def test_demo_outputs_follow_the_contract(demo_home: Path) -> None:
    key_files = sorted((demo_home / "keys").glob("*/v1.key"))
    assert [p.parent.name for p in key_files] == sorted(DOMAINS)
    assert all(p.stat().st_mode & 0o077 == 0 for p in key_files)
    with (demo_home / "exports" / "indicators.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    quarters = sorted({r["fiscal_quarter"] for r in rows})
    # From the first period any feed covers through the quarter holding 4 December 2014.
    assert quarters[0] == "2012/13 Q1" and quarters[-1] == "2014/15 Q3"
    codes = {r["indicator_code"] for r in rows}
    assert len(rows) == len(codes) * len(quarters)
    moj = {r["fiscal_quarter"]: r for r in rows if r["indicator_code"] == "RR_REOFFEND_DIFF"}
    assert moj["2014/15 Q1"]["data_status"] == "suspended"
    assert "Transforming Rehabilitation" in moj["2014/15 Q1"]["status_note"]
    police_q3 = next(
        r for r in rows if r["indicator_code"] == "PV_PPV" and r["fiscal_quarter"] == "2014/15 Q3"
    )
    # October arrived; November is not due until 15 December.
    assert police_q3["data_status"] == "pending" and police_q3["value"] == ""
    assert police_q3["provisional_value"] != ""
    for row in rows:
        for column in ("value", "ytd_value", "numerator", "denominator"):
            assert "," not in row[column] and "%" not in row[column]
    assert (demo_home / "archive" / "police_crime").is_dir()


def test_demo_rerun_rebuilds_from_scratch(demo_home: Path) -> None:
    with keys_from_files():  # the demo makes and uses its own key files
        assert main(["demo", "--home", str(demo_home)]) == 0
    assert all(ok for _, _, ok in check_published_figures(demo_home / "warehouse.duckdb", LA))


def test_demo_refuses_a_folder_that_is_not_a_demo_home(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("a real partnership's notes")
    with pytest.raises(SystemExit):
        main(["demo", "--home", str(tmp_path)])
    assert (tmp_path / "precious.txt").exists()


def test_no_key_material_in_the_repository_or_the_warehouse(demo_home: Path) -> None:
    import subprocess

    keys = [p.read_text().strip() for p in (demo_home / "keys").glob("*/v*.key")]
    assert len(keys) == len(DOMAINS) and all(len(key) >= 32 for key in keys)
    needles = [k for key in keys for k in (key.encode(), key.upper().encode())]
    places = [
        demo_home / "warehouse.duckdb",
        demo_home / "published" / "warehouse.duckdb",
        *sorted((demo_home / "exports").rglob("*.*")),
    ]
    repo = Path(__file__).resolve().parents[1]
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.split()
    places += [repo / name for name in tracked]
    assert not [name for name in tracked if name.endswith(".key")]
    leaks = [str(p) for p in places if p.is_file() and any(n in p.read_bytes() for n in needles)]
    assert leaks == []
