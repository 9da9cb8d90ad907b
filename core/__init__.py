"""The kernel every stage stands on: settings, periods, feed contracts and calendars, problems.

Nothing here imports a stage (``expectations``, ``ingest``, ``exports``, ``orchestration``);
the import-linter contract in pyproject.toml keeps it so (docs/architecture.md).
"""
