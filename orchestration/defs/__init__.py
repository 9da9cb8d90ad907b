"""Dagster definitions by kind, as Dagster lays out a project's ``defs`` folder.

``orchestration.definitions`` assembles them into the code location. Importing any of these
modules builds nothing that reads a file: what depends on the feed contracts or on dbt's
manifest is built by a cached function, on the first call.

No module here defers its annotations (``from __future__ import annotations``): Dagster reads
the ``context`` parameter's annotation as a class, and refuses a string.
"""
