"""``csp docs``: the dbt documentation site of a home, served over HTTP as ``dbt docs serve``
serves it.

dbt's ``index.html`` fetches ``manifest.json`` and ``catalog.json`` when it opens, which a
browser refuses for a page opened from disk (file://): the page stays on its spinner. Served
from a local address it loads; ``static_index.html``, with both embedded, is what to e-mail.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _QuietHandler(SimpleHTTPRequestHandler):
    """Files of one folder, without a log line per request on the terminal."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        """Say nothing per request: the command's own line says where the site is."""


def docs_server(folder: Path, host: str, port: int) -> ThreadingHTTPServer:
    """An HTTP server of ``folder`` bound to ``host:port`` (port 0: any free one)."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    return ThreadingHTTPServer((host, port), handler)


def serve_docs(folder: Path, host: str, port: int, announce: Callable[[str], None] = print) -> None:
    """Serve ``folder`` until interrupted (Ctrl-C), announcing its address first."""
    with docs_server(folder, host, port) as server:
        bound_host, bound_port = server.server_address[:2]
        announce(f"dbt docs of this home at http://{bound_host}:{bound_port}/ (Ctrl-C to stop)")
        server.serve_forever()
