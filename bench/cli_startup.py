"""How long `pressbot --version` and `pressbot --help` take to start, and which heavy
libraries they import. Figures go to bench/README.md ("CLI start-up").

    .venv/bin/python bench/cli_startup.py [--runs 15] [--source DIR]

For each command: the median and best wall time of N runs (a fresh `python -m bot` process
each, what the `pressbot` script runs), their median CPU time (user + system: less
disturbed than wall time when other work shares the machine), the import time Python
itself reports (`-X importtime`, the sum of the top-level imports' cumulative times) and
which of the libraries that should load only for the commands that need them were
imported. `--source DIR` measures another copy of the code (e.g. `git archive` of an
older commit unpacked in DIR), put first on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = (["--version"], ["--help"], ["share", "--help"])
HEAVY = ("premailer", "alembic", "sqlalchemy", "celery", "pydantic_settings", "fastapi",
         "trafilatura", "tweepy", "atproto", "lxml")
PROBE = ("import runpy, sys\n"
         "sys.argv = ['pressbot'] + sys.argv[1:]\n"
         "try:\n    runpy.run_module('bot', run_name='__main__')\n"
         "except SystemExit:\n    pass\n"
         "print('HEAVY:', *(m for m in {heavy!r} if m in sys.modules\n"
         "                  and type(sys.modules[m]).__name__ != '_LazyModule'), file=sys.stderr)\n")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timings(args: list[str], runs: int, env: dict) -> tuple[list[float], list[float]]:
    """(wall times, CPU times) of `runs` fresh processes."""
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), _children_cpu()
        subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, check=True, env=env)
        wall.append(time.perf_counter() - start)
        cpu.append(_children_cpu() - start_cpu)
    return wall, cpu


def import_profile(args: list[str], env: dict) -> tuple[float, list[str], list[tuple[int, str]]]:
    """(seconds of imports by -X importtime, heavy modules loaded, the 5 costliest imports)."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", PROBE.format(heavy=HEAVY), *args],
                            capture_output=True, text=True, check=True, env=env)
    top_level, costs = 0, []
    for line in result.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            cumulative, depth, name = int(match[1]), len(match[2]), match[3]
            if depth == 1:
                top_level += cumulative
                costs.append((cumulative, name))
    heavy = [line for line in result.stderr.splitlines() if line.startswith("HEAVY:")][-1].split()[1:]
    return top_level / 1e6, heavy, sorted(costs, reverse=True)[:5]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--source", type=Path, help="measure the code in this folder instead")
    options = parser.parse_args()
    env = dict(os.environ)
    if options.source:
        env["PYTHONPATH"] = str(options.source.resolve())
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for args in COMMANDS:
        wall, cpu = timings(args, options.runs, env)
        imports, heavy, costs = import_profile(args, env)
        print(f"pressbot {' '.join(args)}: wall median {statistics.median(wall):.3f} s, "
              f"best {min(wall):.3f} s; CPU median {statistics.median(cpu):.3f} s "
              f"({options.runs} runs); imports {imports:.3f} s; "
              f"heavy modules: {', '.join(heavy) or 'none'}")
        print("  costliest top-level imports: "
              + ", ".join(f"{name} {us / 1000:.0f} ms" for us, name in costs))


if __name__ == "__main__":
    main()
