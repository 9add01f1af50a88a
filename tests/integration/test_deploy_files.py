"""The container files, checked where no container can run: compose.yaml's structure (the
services a deployment needs, their order, health checks, the data volume) and that its
commands are the Procfile's; the Dockerfile's shape (slim base, non-root user, the wheel
installed by deploy/install-wheel.sh, which test_wheel.py runs for real)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and not line.startswith("#"))


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_runs_the_procfiles_processes_with_its_commands():
    services = _compose()["services"]
    assert set(services) == {"db", "redis", "migrate", "web", "worker", "beat"}
    for name, command in _procfile().items():
        assert services[name]["command"] == command, name
    assert services["migrate"]["command"] == "pressbot db upgrade"
    assert services["migrate"]["restart"] == "no"   # one-shot


def test_migrations_run_once_before_the_app_and_after_the_database_is_up():
    services = _compose()["services"]
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["redis"]["condition"] == "service_healthy", name


def test_every_long_running_service_has_a_health_check_and_the_app_shares_one_data_volume():
    compose = _compose()
    services = compose["services"]
    for name in ("db", "redis", "web", "worker"):
        test = services[name]["healthcheck"]["test"]
        assert test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, name
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    for name in ("migrate", "web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql+psycopg://") and "@db:" in env["DATABASE_URL"]
        assert env["REDIS_URL"] == "redis://redis:6379/0" and env["PRESSBOT_HOME"] == "/data"
        assert "pressbot-data:/data" in services[name]["volumes"], name
    assert "pressbot-data" in compose["volumes"] and "postgres-data" in compose["volumes"]
    assert "postgres-data:/var/lib/postgresql/data" in services["db"]["volumes"]


def test_the_dockerfile_installs_the_wheel_as_a_non_root_user_with_a_health_check():
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", text, re.M)
    assert stages and all(re.fullmatch(r"python:3\.\d+-slim(\s.*)?", s) for s in stages), stages
    assert re.search(r"^RUN pip wheel .*--no-deps.* \.$", text, re.M)
    assert re.search(r"^RUN install-wheel\.sh /opt/pressbot /tmp/dist/pressbot-\*\.whl", text, re.M)
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", text, re.M)
    # Everything the build needs is copied in; the script it runs is the one test_wheel runs.
    for name in ("pyproject.toml", "setup.py", "bot", "tasks", "templates", "examples",
                 "deploy/install-wheel.sh"):
        assert re.search(rf"^COPY .*\b{re.escape(name)}\b", text, re.M), name
        assert (ROOT / name).exists(), name
    # The image's CMD is the Procfile's web process.
    assert _procfile()["web"] in text
