"""Process-wide memory settings for the processes that run builds.

glibc gives each thread that contends for ``malloc`` its own arena, up to eight per core.
A build runs many threads (two DuckDB databases with their workers, the hashing pool, the
expectation suite's thread, Dagster's own), and freed memory scattered over a dozen arenas
stays resident: ``malloc_trim`` cannot return a page while one allocation lives on it. At
medium size the build's process held about 120 MiB more while dbt ran, and the ingest
peaked about 100 MiB higher, with the default arenas than with one per core, and took as
long (BENCHMARKS.md).
"""

from __future__ import annotations

import ctypes
import os
import sys

# mallopt's parameter number for the arena limit (glibc's malloc.h).
M_ARENA_MAX = -8


def limit_malloc_arenas(arenas: int | None = None) -> int | None:
    """Allow glibc at most ``arenas`` malloc arenas (default: one per core, at least two).

    Call it early, before the threads start: arenas already made are kept. Returns the
    limit set, or None where it does not apply: not Linux with glibc, or ``MALLOC_ARENA_MAX``
    already set in the environment (glibc has then read it, and the user's choice stands).
    """
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl, or no glibc
        return None
    limit = arenas if arenas is not None else max(2, os.cpu_count() or 2)
    return limit if mallopt(M_ARENA_MAX, limit) == 1 else None
