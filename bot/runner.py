"""`pressbot run`: web, a Celery worker and beat as one process tree from one command.

The children run in process groups of their own, so a Ctrl-C reaches only this process,
which then stops them in order: beat first (no new ticks), then the worker (a warm
shutdown: its running task finishes), then the web app. Their output is shown line by
line, each line tagged with the process it came from.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from rich.console import Console
from rich.markup import escape

from bot.config import Settings
from bot.tasks.config import LIMITS

COLORS = {"worker": "cyan", "beat": "magenta", "web": "green", "run": "bold"}
# Celery's "[2026-11-28 19:45:16,257: INFO/ForkPoolWorker-1] message": keep level and message.
CELERY_LINE = re.compile(r"^\[[^\]]*?: (?P<level>[A-Z]+)/[^\]]*\] (?P<message>.*)$")
# A warm shutdown waits for the running task; no task runs longer than its hard limit.
WORKER_STOP_TIMEOUT = max(hard for _, hard in LIMITS.values()) + 10
STOP_TIMEOUT = 10


def celery_argv(settings: Settings, program: str) -> list[str]:
    argv = [sys.executable, "-m", "celery", "--quiet", "-A", "bot.tasks", program, "--loglevel", "warning"]
    if program == "worker":
        argv += ["--pool", "prefork", "--concurrency", str(settings.worker_concurrency),
                 "--queues", settings.queue, "--hostname", f"pressbot-{os.getpid()}@%h"]
    return argv


def web_argv(settings: Settings, host: str) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "--factory", "bot.web.app:app_factory",
            "--host", host, "--port", str(settings.port), "--log-level", "warning"]


@dataclass
class Child:
    name: str
    proc: subprocess.Popen
    reader: threading.Thread


class Supervisor:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.children: dict[str, Child] = {}
        self.stopping = threading.Event()
        self._signals = 0

    def say(self, name: str, message: str, level: str = "INFO") -> None:
        style = COLORS.get(name, "white")
        mark = "" if level == "INFO" else f"[red]{level}[/red] "
        self.console.print(f"[dim]{datetime.now():%H:%M:%S}[/dim] [{style}]{name:<6}[/{style}] "
                           f"{mark}{escape(message)}", highlight=False, soft_wrap=True)

    def start(self, name: str, argv: list[str]) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # the children read settings as we did
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                bufsize=1, env=env, process_group=0)
        reader = threading.Thread(target=self._relay, args=(name, proc), daemon=True)
        reader.start()
        self.children[name] = Child(name, proc, reader)

    def _relay(self, name: str, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            line = line.rstrip()
            if not line.strip():
                continue
            match = CELERY_LINE.match(line)
            level, message = (match["level"], match["message"]) if match else ("INFO", line)
            self.say(name, message, level if level in ("WARNING", "ERROR", "CRITICAL") else "INFO")

    def dead(self) -> list[str]:
        return [c.name for c in self.children.values() if c.proc.poll() is not None]

    def install_signals(self) -> None:
        def handler(signum, _frame) -> None:
            self._signals += 1
            self.stopping.set()
            if self._signals > 1 and "worker" in self.children:
                # A second Ctrl-C: do not wait for the running task (Celery's cold shutdown).
                self._signal("worker", signal.SIGQUIT)
        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)

    def _signal(self, name: str, signum: int) -> None:
        child = self.children.get(name)
        if child and child.proc.poll() is None:
            child.proc.send_signal(signum)

    def stop(self, name: str, timeout: float) -> int | None:
        child = self.children.get(name)
        if child is None:
            return None
        if child.proc.poll() is None:
            self.say("run", f"stopping {name}")
            child.proc.send_signal(signal.SIGTERM)
            try:
                child.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.say("run", f"{name} did not stop in {timeout:.0f} s: killing it", "WARNING")
                os.killpg(child.proc.pid, signal.SIGKILL)  # its own group: the ones we started
                child.proc.wait()
        child.reader.join(timeout=2)
        return child.proc.returncode

    def stop_all(self) -> None:
        for name, timeout in (("beat", STOP_TIMEOUT), ("worker", WORKER_STOP_TIMEOUT),
                              ("web", STOP_TIMEOUT)):
            self.stop(name, timeout)

    def wait(self, done: Callable[[], bool], timeout: float | None, interval: float = 0.2) -> str:
        """Until `done()`, a stop signal, a child's death or the timeout: which one it was."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if done():
                return "done"
            if self.stopping.is_set():
                return "signal"
            if self.dead():
                return "died"
            if deadline is not None and time.monotonic() > deadline:
                return "timeout"
            self.stopping.wait(interval)
