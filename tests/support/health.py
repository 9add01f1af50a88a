"""Polling a running pressbot web process (`pressbot run`, the Procfile's web) for health."""

from __future__ import annotations

import httpx


def healthz(port: int):
    """/healthz's JSON once the web process answers 200 on `port`; None until then."""
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
    except httpx.HTTPError:
        return None
    return response.json() if response.status_code == 200 else None
