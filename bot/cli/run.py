"""`pressbot run` and `pressbot status`.

Services are imported inside each command, like the other command modules: Celery and
the platform clients cost time to import that `pressbot --version` should not pay."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from bot.cli.common import app, out, settings_with_schema

# How long `run --once` waits for the queue to drain before it gives up (exit 1).
ONCE_TIMEOUT = 300.0


@app.command("run")
def run(
    once: bool = typer.Option(False, "--once", help="One dispatch tick, wait until its work "
                                                    "is done, then exit (no web, no beat)."),
    host: str = typer.Option("127.0.0.1", help="Address the web app listens on."),
    timeout: float = typer.Option(ONCE_TIMEOUT, help="--once: seconds to wait for the work."),
) -> None:
    """Web, worker and beat in one process tree on the configured broker and database
    (embedded defaults: SQLite and a filesystem queue in the data folder). Ctrl-C stops it."""
    from bot.runner import Supervisor

    settings = _with_host(settings_with_schema(), host)
    supervisor = Supervisor(out)
    supervisor.install_signals()
    warning = settings.insecure_links_warning()
    if warning:
        supervisor.say("run", warning, "WARN")
    seeded = _first_run(settings, supervisor)
    supervisor.start("worker", _argv(settings, "worker"))
    try:
        code = _once(settings, supervisor, timeout) if once else _forever(settings, supervisor, host)
    finally:
        supervisor.stop_all()
    if once and code == 0:
        _outbox_summary(settings, supervisor)
        if seeded is not None:
            _next_steps(settings, supervisor)
    raise typer.Exit(code)


# Addresses that name no host a reader could reach: links keep saying localhost.
_NOT_A_NAME = ("127.0.0.1", "localhost", "::1", "0.0.0.0", "::", "")


def _with_host(settings, host: str):
    """With PRESSBOT_BASE_URL unset, links follow where the web app is served: the port
    (bot.config) and, given `--host` with a reachable address, that host. The children
    (web, worker, beat) read the same base URL from their environment."""
    if not settings.base_url_derived or host in _NOT_A_NAME:
        return settings
    import os

    from bot.config import reset_settings_cache

    shown = f"[{host}]" if ":" in host else host
    os.environ["PRESSBOT_BASE_URL"] = f"http://{shown}:{settings.port}"
    reset_settings_cache()
    return settings_with_schema()


def _argv(settings, program: str) -> list[str]:
    from bot.runner import celery_argv
    return celery_argv(settings, program)


def _first_run(settings, supervisor):
    from bot.services.firstrun import first_run

    seeded = first_run(settings)
    if seeded is None:
        return None
    if seeded.note:
        supervisor.say("run", seeded.note)
    if seeded.accounts:
        supervisor.say("run", f"first run: added demo accounts {', '.join(seeded.accounts)} "
                              "(they post to the outbox only)")
    if seeded.ingest:
        for source in seeded.ingest.sources:
            supervisor.say("run", f"first run: ingested {source.target}: {len(source.added)} "
                                  f"articles added" + (f" ({source.error})" if source.error else ""))
    if seeded.edition:
        supervisor.say("run", f"first run: list 'news' with one demo reader; its first "
                              f"edition ({seeded.edition}) goes to the outbox")
    return seeded


def _next_steps(settings, supervisor) -> None:
    """After the first `run --once`: what a new user does next."""
    outbox = (settings.home / "outbox").resolve()
    steps = ["next: `pressbot run` keeps going: web dashboard, worker and beat (the other demo "
             "share posts follow at their slots, the digest daily at 07:00)"]
    if not _has_editors(settings):
        steps.append("next: add an editor to log in to the dashboard: "
                     "`pressbot users add you@example.org --role admin`")
    steps.append(f"next: what would have been sent is in the outbox, {outbox}/ (email/*.eml, "
                 "social/*.jsonl); add real accounts with `pressbot accounts add`, real mail "
                 "with PRESSBOT_SMTP_URL")
    for line in steps:
        supervisor.say("run", line)


def _tick(settings, supervisor):
    from bot.services.dispatch import run_tick
    from bot.tasks import enqueuer

    report = run_tick(settings, enqueuer(settings))
    supervisor.say("run", f"tick: {report.summary()}")
    return report


def _once(settings, supervisor, timeout: float) -> int:
    from bot import broker
    from bot.services.dispatch import unsettled

    report = _tick(settings, supervisor)
    outcome = supervisor.wait(
        lambda: broker.queue_depth(settings) == 0 and unsettled(settings, report) == 0, timeout)
    if outcome == "done":
        supervisor.say("run", "queue drained: done")
        return 0
    reason = {"signal": "interrupted", "died": f"{', '.join(supervisor.dead())} exited",
              "timeout": f"work not done after {timeout:.0f} s"}[outcome]
    supervisor.say("run", f"stopping: {reason}", "ERROR")
    return 1


def _has_editors(settings) -> bool:
    from bot.services.editors import list_users

    return any(user["active"] for user in list_users(settings))


def _forever(settings, supervisor, host: str) -> int:
    from bot.runner import web_argv

    supervisor.start("beat", _argv(settings, "beat"))
    supervisor.start("web", web_argv(settings, host))
    _tick(settings, supervisor)  # at once: beat's first tick comes one interval after start
    if supervisor.wait(lambda: _web_up(settings, host), timeout=30) == "done":
        supervisor.say("run", f"dashboard: http://{host}:{settings.port}/admin  (Ctrl-C stops); "
                              f"outbox: {(settings.home / 'outbox').resolve()}/")
        if not _has_editors(settings):
            supervisor.say("run", "no editor can log in yet: add one with "
                                  "`pressbot users add you@example.org --role admin`", "WARN")
    outcome = supervisor.wait(lambda: False, timeout=None)
    if outcome == "died":
        supervisor.say("run", f"{', '.join(supervisor.dead())} exited: stopping", "ERROR")
        return 1
    return 0


def _web_up(settings, host: str) -> bool:
    import httpx

    try:
        return httpx.get(f"http://{host}:{settings.port}/healthz", timeout=1.0).status_code < 600
    except httpx.HTTPError:
        return False


def _outbox_summary(settings, supervisor) -> None:
    folder: Path = settings.home / "outbox"
    counts = {}
    for path in sorted(folder.glob("social/*.jsonl")):
        counts[f"social/{path.name}"] = sum(1 for line in path.open(encoding="utf-8") if line.strip())
    emails = len(list(folder.glob("email/**/*.eml")))
    if emails:
        counts["email"] = emails
    listed = ", ".join(f"{name} {n}" for name, n in counts.items()) or "empty"
    supervisor.say("run", f"outbox {folder}: {listed}")


@app.command("status")
def status(as_json: bool = typer.Option(False, "--json")) -> None:
    """Queue depth, due and overdue work, the last dispatch ticks, recent failures."""
    from bot.services.status import status as get_status

    report = get_status(settings_with_schema())
    if as_json:
        out.print_json(json.dumps(report, ensure_ascii=False))
    else:
        _print_status(report)
    if report["database"] != "ok" or report["broker"]["check"] != "ok":
        raise typer.Exit(1)


def _print_outages(outages: list[dict]) -> None:
    if not outages:
        out.print("failing  none: every outside system answered its last request", highlight=False)
        return
    table = Table("system", "last error", "since (UTC)", "last failure", "failures",
                  title="failing outside systems", title_justify="left")
    for o in outages:
        table.add_row(f"{o['name']} ({o['system']})", o["error"], o["since"][:19].replace("T", " "),
                      o["last_at"][:19].replace("T", " "), str(o["failures"]), style="red")
    out.print(table)


def _print_status(report: dict) -> None:
    b = report["broker"]
    depth = "?" if b["depth"] is None else b["depth"]
    out.print(f"broker   {b['kind']} queue {b['queue']!r}: {depth} waiting ({b['check']})",
              highlight=False)
    out.print(f"database {report['database']}", highlight=False)
    if "due" not in report:
        return
    _print_outages(report["outages"])
    src, posts, mail = (report["due"][k] for k in ("sources", "share_posts", "deliveries"))
    out.print(f"due      sources {src['due']} (overdue {src['overdue']})", highlight=False)
    out.print(f"         share posts {posts['due']} (overdue {posts['overdue']}, expired claims "
              f"{posts['expired_claims']}, on paused accounts "
              f"{posts['waiting_on_paused_accounts']})", highlight=False)
    out.print(f"         deliveries {mail['due']} (overdue {mail['overdue']}, deferred "
              f"{mail['deferred']})", highlight=False)
    ticks = Table("tick", "at (UTC)", "by", "new posts", "enqueued", "still queued", "error",
                  title="last ticks", title_justify="left")
    for t in report["ticks"]:
        enqueued = ", ".join(f"{t[k]} {k}" for k in ("sources", "posts", "editions", "batches")
                             if t[k]) or "-"
        ticks.add_row(str(t["id"]), t["at"][5:19].replace("T", " "), t["holder"],
                      str(t["scheduled"]), enqueued, str(t["already_queued"]), t["error"] or "")
    out.print(ticks if report["ticks"] else "no dispatch tick yet: is beat running?")
    if report["failures"]:
        failures = Table("kind", "id", "what", "at", "reason", title="recent failures",
                         title_justify="left")
        for f in report["failures"]:
            failures.add_row(f["kind"], str(f["id"]), f["what"], (f["at"] or "")[:19], f["error"] or "")
        out.print(failures)
    else:
        out.print("no recent failures")

