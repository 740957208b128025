"""The deployment files, checked as data.

No Docker engine runs where the tests run, so docker-compose.yml, the Dockerfile and
.env.example are read as text and YAML and held to the contract in docs/deploy.md:
every newsdrop command they start exists in the CLI, nothing secret is written down,
Redis and PostgreSQL stay inside the compose network, and only the watcher sees the
inbox.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
OVERRIDE_EXAMPLE = ROOT / "docs" / "docker-compose.override.example.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

REQUIRED_SERVICES = {"redis", "postgres", "migrate", "watcher", "worker", "flower"}
CELERY_APP = "tasks.celery_tasks:app"
INBOX = "/inbox"

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}
SUBSTITUTION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")
SECRET_KEY = re.compile(r"PASSWORD|SECRET|TOKEN|BASIC_AUTH|API_KEY", re.IGNORECASE)
# A secret may only be a substitution without a default: ${VAR} or ${VAR:?message}.
SECRET_VALUE_OK = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(?::?\?[^}]*)?\}$")


def load_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name} is not a YAML mapping"
    return data


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE_FILE)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def interpolate(value: str) -> str:
    """Expand ${...} the way compose would with an empty environment (required -> 'x')."""

    def expand(match: re.Match[str]) -> str:
        operator, operand = match.group(2), match.group(3)
        if operator in (":-", "-"):
            return operand
        if operator in (":?", "?"):
            return "x"
        return ""

    return SUBSTITUTION.sub(expand, value)


def as_list(command: Any) -> list[str]:
    """A compose command or entrypoint as an argv list (the string form is split on blanks)."""
    if command is None:
        return []
    if isinstance(command, str):
        return command.split()
    return [str(part) for part in command]


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def mounts(service: dict[str, Any]) -> list[dict[str, str]]:
    """Volumes of a service in long form: type, source, target."""
    result = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            result.append(
                {
                    "type": volume.get("type", "volume"),
                    "source": str(volume.get("source", "")),
                    "target": str(volume.get("target", "")),
                }
            )
            continue
        parts = str(volume).split(":")
        source, target = (parts[0], parts[1]) if len(parts) > 1 else ("", parts[0])
        is_path = source.startswith((".", "/", "~", "$"))
        result.append({"type": "bind" if is_path else "volume", "source": source, "target": target})
    return result


def published(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Published ports of a service as (host_ip, host_port, container_port)."""
    result = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            result.append(
                (
                    str(port.get("host_ip", "")),
                    interpolate(str(port.get("published", ""))),
                    str(port.get("target", "")),
                )
            )
            continue
        parts = interpolate(str(port)).split("/")[0].split(":")
        host_ip = parts[0] if len(parts) == 3 else ""
        host_port = parts[-2] if len(parts) >= 2 else ""
        result.append((host_ip, host_port, parts[-1]))
    return result


def newsdrop_services(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Services that run the locally built image with its `newsdrop` entrypoint."""
    return {
        name: service
        for name, service in services.items()
        if "build" in service and "entrypoint" not in service
    }


def resolve_cli(argv: list[str]) -> tuple[click.Command, dict[str, Any]]:
    """Walk argv down the `newsdrop` click group; fail unless it names a real command.

    Returns the command and the option values given in argv. The rest of argv is parsed
    as the command would parse it, so an unknown option or a stray argument fails; values
    are not converted (/inbox need not exist here) and no callback runs.
    """
    from worker.cli import main

    assert isinstance(main, click.Group), "worker.cli:main must be a click group"
    command: click.Command = main
    ctx = click.Context(main, info_name="newsdrop")
    rest = list(argv)
    path = ["newsdrop"]
    while isinstance(command, click.Group):
        assert rest and not rest[0].startswith("-"), (
            f"`{' '.join(path)}` is a group: the command must name one of its commands"
        )
        name = rest.pop(0)
        sub = command.get_command(ctx, name)
        assert sub is not None, f"`{' '.join(path)}` has no command {name!r}"
        path.append(name)
        command = sub
        ctx = click.Context(command, info_name=name, parent=ctx)
    try:
        values, extra, _ = command.make_parser(ctx).parse_args(args=list(rest))
    except click.UsageError as error:
        pytest.fail(f"`{' '.join(path + rest)}` does not parse: {error.format_message()}")
    assert not extra, f"`{' '.join(path)}` does not take {extra}"
    return command, values


def secret_literals(text: str) -> list[str]:
    """Lines of a compose/env file that write a secret down instead of substituting it."""
    found = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"^-?\s*[\"']?([A-Za-z0-9_]+)[\"']?\s*[:=]\s*(.*)$", line)
        if match and SECRET_KEY.search(match.group(1)):
            value = match.group(2).strip().strip("\"'")
            if value and not SECRET_VALUE_OK.match(value):
                found.append(raw)
                continue
        # user:password@ inside a URL, or a password handed over on a command line;
        # substitutions are masked first so that ${USER:-name}@host reads as no password.
        masked = SUBSTITUTION.sub("\0", line)
        url = re.search(r"://[^/\s:@]+:([^@\s/]+)@", masked)
        flag = re.search(r"--(?:basic-auth|password)[= ]\s*(\S+)", masked)
        if (url and url.group(1) != "\0") or (flag and not flag.group(1).startswith("\0")):
            found.append(raw)
    return found


# --- the file itself ------------------------------------------------------------------


def test_compose_file_is_valid_yaml_with_the_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) >= REQUIRED_SERVICES
    assert "x-newsdrop-env" in compose, "the shared NEWSDROP_* block is missing"


def test_redis_persists_its_queue(services: dict[str, dict[str, Any]]) -> None:
    # Without persistence a Redis restart drops the whole queued backlog.
    command = " ".join(as_list(services["redis"].get("command")))
    assert re.search(r"--appendonly\s+yes", command), command
    assert services["redis"]["image"].split(":")[-1].startswith("7")


@pytest.mark.parametrize("name", ["redis", "postgres"])
def test_backing_services_have_healthchecks(services: dict[str, dict[str, Any]], name: str) -> None:
    assert as_list(services[name].get("healthcheck", {}).get("test")), name


# --- commands -------------------------------------------------------------------------


def test_newsdrop_services_are_the_expected_ones(services: dict[str, dict[str, Any]]) -> None:
    assert {"migrate", "watcher", "worker"} <= set(newsdrop_services(services))


@pytest.mark.parametrize("name", ["migrate", "watcher", "worker", "api"])
def test_newsdrop_service_runs_a_real_cli_command(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    assert name in newsdrop_services(services), f"{name} must run the newsdrop image"
    argv = [interpolate(arg) for arg in as_list(services[name].get("command"))]
    assert argv, f"{name} has no command; the image's CMD would run instead"
    resolve_cli(argv)


def test_services_run_the_commands_of_their_role(services: dict[str, dict[str, Any]]) -> None:
    assert as_list(services["migrate"]["command"]) == ["db", "upgrade"]
    assert as_list(services["watcher"]["command"]) == ["watch", INBOX]
    assert as_list(services["worker"]["command"])[0] == "worker"
    assert as_list(services["api"]["command"])[0] == "serve"


def test_api_listens_on_the_published_container_port(
    services: dict[str, dict[str, Any]],
) -> None:
    command, values = resolve_cli(as_list(services["api"]["command"]))
    assert values.get("host") == "0.0.0.0", "serve must listen beyond the container"
    port_option = next((p for p in command.params if p.name == "port"), None)
    assert port_option is not None, "`newsdrop serve` needs a --port option"
    port = values.get("port") or port_option.get_default(click.Context(command))
    [(_, _, container_port)] = published(services["api"])
    assert str(port) == container_port


def test_flower_is_a_celery_invocation_on_the_app(services: dict[str, dict[str, Any]]) -> None:
    flower = services["flower"]
    assert as_list(flower.get("entrypoint")) == ["celery"]
    argv = as_list(flower["command"])
    assert "flower" in argv
    global_options = " ".join(argv[: argv.index("flower")])
    assert re.search(rf"(?:--app[= ]|-A ){re.escape(CELERY_APP)}\b", global_options)
    # Flower must watch the broker the workers use.
    broker = re.search(r"(?:--broker[= ]|-b )(\S+)", global_options)
    assert broker, "flower must be given --broker"
    assert broker.group(1) == environment(services["worker"])["NEWSDROP_BROKER_URL"]


def test_flower_app_path_names_the_celery_app() -> None:
    from celery import Celery

    module_name, attribute = CELERY_APP.split(":")
    app = getattr(importlib.import_module(module_name), attribute)
    assert isinstance(app, Celery)


def test_flower_basic_auth_comes_from_env(services: dict[str, dict[str, Any]]) -> None:
    value = environment(services["flower"]).get("FLOWER_BASIC_AUTH", "")
    assert SECRET_VALUE_OK.match(value), value


# --- ordering -------------------------------------------------------------------------


def test_migrate_is_one_shot_after_postgres(services: dict[str, dict[str, Any]]) -> None:
    migrate = services["migrate"]
    # quoted: a bare `no` is YAML 1.1 for false, which compose rejects
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", ["watcher", "worker"])
def test_pipeline_waits_for_schema_and_broker(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    depends = services[name]["depends_on"]
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert depends["redis"]["condition"] == "service_healthy"


# --- configuration and secrets --------------------------------------------------------


def test_newsdrop_services_share_the_env_block(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    shared = {key: str(value) for key, value in compose["x-newsdrop-env"].items()}
    assert shared["NEWSDROP_BROKER_URL"].startswith("redis://redis:6379/")
    assert shared["NEWSDROP_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in shared["NEWSDROP_DATABASE_URL"]
    for name in [*newsdrop_services(services), "flower"]:
        env = environment(services[name])
        assert shared.items() <= env.items(), f"{name} does not use x-newsdrop-env"


def test_secret_detector_catches_literals() -> None:
    assert secret_literals("      POSTGRES_PASSWORD: hunter2")
    assert secret_literals("- POSTGRES_PASSWORD=hunter2")
    assert secret_literals("  PGPASSWORD: ${POSTGRES_PASSWORD:-hunter2}")
    assert secret_literals("  URL: postgresql://newsdrop:hunter2@postgres/newsdrop")
    assert secret_literals('  command: ["flower", "--basic-auth=admin:hunter2"]')
    assert not secret_literals("  URL: postgresql://${USER:-newsdrop}@postgres/newsdrop")
    assert not secret_literals("  URL: postgresql://newsdrop:${POSTGRES_PASSWORD}@postgres/db")
    assert not secret_literals("  POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set it}")
    assert not secret_literals("  # POSTGRES_PASSWORD: hunter2")


@pytest.mark.parametrize("path", [COMPOSE_FILE, OVERRIDE_EXAMPLE], ids=lambda p: p.name)
def test_no_secret_literals(path: Path) -> None:
    assert secret_literals(path.read_text(encoding="utf-8")) == []


def test_secret_environment_values_are_required_substitutions(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        for key, value in environment(service).items():
            if SECRET_KEY.search(key):
                assert SECRET_VALUE_OK.match(value), f"{name}: {key} must be ${{VAR:?...}}"


def test_env_example_lists_every_variable_compose_reads() -> None:
    read = {
        match.group(1)
        for path in (COMPOSE_FILE, OVERRIDE_EXAMPLE)
        for match in SUBSTITUTION.finditer(path.read_text(encoding="utf-8"))
    }
    listed = {
        line.split("=", 1)[0].strip()
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    }
    assert read == listed


# --- network exposure and mounts ------------------------------------------------------


@pytest.mark.parametrize("name", ["redis", "postgres"])
def test_backing_services_are_not_published(services: dict[str, dict[str, Any]], name: str) -> None:
    assert not services[name].get("ports"), f"{name} must stay inside the compose network"
    assert services[name].get("network_mode") != "host"


@pytest.mark.parametrize("path", [COMPOSE_FILE, OVERRIDE_EXAMPLE], ids=lambda p: p.name)
def test_published_ports_bind_loopback_only(path: Path) -> None:
    ports = [
        (name, port)
        for name, service in load_yaml(path)["services"].items()
        for port in published(service)
    ]
    assert ports, f"{path.name} publishes nothing (the parser may be wrong)"
    for name, (host_ip, host_port, _) in ports:
        assert host_ip == "127.0.0.1", f"{name} publishes {host_port} beyond loopback"


def test_inbox_is_bind_mounted_on_the_watcher_only(services: dict[str, dict[str, Any]]) -> None:
    [inbox] = [m for m in mounts(services["watcher"]) if m["target"] == INBOX]
    assert inbox["type"] == "bind"
    assert inbox["source"].startswith("${NEWSDROP_INBOX_DIR")
    assert environment(services["watcher"]).get("NEWSDROP_INBOX") == INBOX
    for name, service in services.items():
        if name == "watcher":
            continue
        for mount in mounts(service):
            assert mount["target"] != INBOX, f"{name} mounts the inbox"
            assert "NEWSDROP_INBOX_DIR" not in mount["source"], f"{name} mounts the inbox"


def test_worker_is_scalable(services: dict[str, dict[str, Any]]) -> None:
    worker = services["worker"]
    # Fixed names would collide between replicas (container names, Celery node names).
    assert "container_name" not in worker
    assert "hostname" not in worker
    assert not worker.get("ports")
    # Raw bytes travel through the database: a worker needs no shared folder.
    assert [m for m in mounts(worker) if m["type"] == "bind"] == []


# --- Dockerfile -----------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    logical, current = [], ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    result = []
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        result.append((keyword.upper(), arguments.strip()))
    return result


def test_dockerfile_installs_the_package_with_the_cli_as_entrypoint() -> None:
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    runs = [args for keyword, args in instructions if keyword == "RUN"]
    assert any(
        re.search(r"pip install --no-cache-dir (?:\S+ )*\.(?:\s|$)", run) and "flower" in run
        for run in runs
    ), "the image must `pip install --no-cache-dir . flower`"
    [entrypoint] = [args for keyword, args in instructions if keyword == "ENTRYPOINT"]
    assert json.loads(entrypoint) == ["newsdrop"]


def test_dockerfile_runs_as_a_non_root_user() -> None:
    users = [args for keyword, args in dockerfile_instructions() if keyword == "USER"]
    assert users, "the image must switch to a non-root USER"
    assert users[-1].split(":")[0] not in {"root", "0"}


def test_dockerfile_default_command_is_a_real_cli_command() -> None:
    [cmd] = [args for keyword, args in dockerfile_instructions() if keyword == "CMD"]
    resolve_cli(json.loads(cmd))


def test_dockerignore_keeps_secrets_out_and_build_inputs_in() -> None:
    ignored = {
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".env", ".git", ".venv"} <= ignored
    # pyproject.toml names README.md as the readme: the build needs both.
    assert not {"README.md", "*.md", "pyproject.toml", "worker", "tasks", "db"} & ignored
