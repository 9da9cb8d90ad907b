"""Orchestration: Dagster definitions, the `csp` command line, configuration and the demo."""
