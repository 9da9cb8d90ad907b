"""The build's processes keep glibc to one malloc arena per core (orchestration/memory.py).

Each case runs in a fresh Python: arenas, once made, last for the life of a process. The
threads allocate through glibc's own malloc (not Python's small-object allocator) and hold
their blocks at once, so that each wants an arena; glibc's ``malloc_info`` then lists the
arenas that exist.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")

REPO = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent("""
    import ctypes, sys, threading
    from orchestration.memory import limit_malloc_arenas

    print("limit", limit_malloc_arenas(2) if sys.argv[1] == "limit" else None)
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.fopen.restype = ctypes.c_void_p
    everyone_allocated = threading.Barrier(8)

    def allocate():
        blocks = [libc.malloc(64 * 1024) for _ in range(64)]
        everyone_allocated.wait()  # all hold their blocks at once, so they contend

    threads = [threading.Thread(target=allocate) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report = libc.fopen(sys.argv[2].encode(), b"w")
    libc.malloc_info(0, ctypes.c_void_p(report))
    libc.fclose(ctypes.c_void_p(report))
""")


def arenas_after_threads(
    tmp_path: Path, limited: bool, env: dict[str, str] | None = None
) -> tuple[str, int]:
    """Run eight allocating threads in a fresh Python; its printed limit and its arena count."""
    report = tmp_path / f"malloc-info-{limited}.xml"
    result = subprocess.run(
        [sys.executable, "-c", CHILD, "limit" if limited else "default", str(report)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    )
    return result.stdout.strip(), report.read_text().count("<heap nr=")


def test_threads_share_the_limited_arenas(tmp_path: Path) -> None:
    printed, arenas = arenas_after_threads(tmp_path, limited=True)
    assert printed == "limit 2"
    assert arenas <= 2


def test_without_the_limit_threads_take_arenas_of_their_own(tmp_path: Path) -> None:
    # The control: the same threads, unlimited, make more arenas, so the test above can fail.
    _, arenas = arenas_after_threads(tmp_path, limited=False)
    assert arenas > 2


def test_an_arena_limit_set_by_the_user_is_left_alone(tmp_path: Path) -> None:
    printed, arenas = arenas_after_threads(tmp_path, limited=True, env={"MALLOC_ARENA_MAX": "3"})
    assert printed == "limit None"
    assert arenas <= 3
