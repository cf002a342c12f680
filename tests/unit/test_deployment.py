"""gunicorn starts with its one configuration everywhere, the proxy in front holds its
rules; production settings are safe: `check --deploy` is clean and HTTPS is enforced
whenever DEBUG is off. Compose and the Dockerfile themselves: test_compose.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.field.proxy import NginxProxy

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DATABASE_URL": "postgres://testigo:pw@postgres:5432/testigo",
    "REDIS_URL": "redis://:pw@redis:6379/0",
    "DJANGO_SECRET_KEY": "k" * 20 + "Q7#xv!93jd0^a+pL2m@z&Y8wq$e4rT6u_1",
    "DJANGO_ALLOWED_HOSTS": "testigo.example.org",
    "TESTIGO_QUARANTINE_KEY": "a-production-quarantine-key",
    "TESTIGO_CONTACT_KEY": "a-production-contact-key",
    "TESTIGO_STORAGE": "s3",
}


SECRET_NAMES = ("DJANGO_SECRET_KEY", "TESTIGO_QUARANTINE_KEY", "TESTIGO_CONTACT_KEY")


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def test_compose_proxy_is_pinned_nginx_with_the_deploy_config_in_front_of_web() -> None:
    services = _compose()["services"]
    proxy = services["proxy"]
    image, _, tag = proxy["image"].partition(":")
    assert image == "nginx"
    assert re.fullmatch(r"\d+\.\d+\.\d+", tag), "pin an exact nginx version"
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]
    assert proxy["tmpfs"] == ["/var/cache/nginx"]
    assert proxy["ports"] == ["8000:8080"]
    assert proxy["depends_on"]["web"]["condition"] == "service_healthy"
    # Witnesses reach gunicorn only through the proxy.
    assert "ports" not in services["web"]
    assert services["web"]["environment"]["TESTIGO_TRUSTED_PROXIES"]


def test_every_gunicorn_starts_with_the_one_configuration() -> None:
    web = " ".join(_compose()["services"]["web"]["command"])
    assert "gunicorn -c config/gunicorn.py " in web
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["gunicorn", "-c", "config/gunicorn.py",' in dockerfile
    serve = (ROOT / "intake" / "management" / "commands" / "serve.py").read_text()
    assert '"gunicorn", "-c", gunicorn_config' in serve
    # No other place builds its own gunicorn command line.
    for path in [*ROOT.glob("tests/**/*.py"), *ROOT.glob("bench/**/*.py")]:
        source = path.read_text()
        if '"gunicorn",' in source:
            assert "config/gunicorn.py" in source or "GUNICORN_CONFIG" in source, path


def test_the_app_is_served_only_through_wsgi() -> None:
    # Django's ASGI handler reads a whole request body into a temporary file before the
    # view runs: plaintext uploads would touch disk (promise 2), and nothing could be kept
    # of a post cut midway (promise 9).
    assert not (ROOT / "config" / "asgi.py").exists()
    assert (ROOT / "config" / "wsgi.py").exists()


def test_gunicorn_configuration_has_threads_idle_limits_and_no_control_socket() -> None:
    namespace: dict[str, Any] = {}
    exec((ROOT / "config" / "gunicorn.py").read_text(), namespace)  # noqa: S102
    assert namespace["worker_class"] == "gthread"
    assert namespace["control_socket_disable"] is True
    assert namespace["accesslog"] is None
    assert namespace["workers"] * namespace["threads"] <= 90, "PostgreSQL has 100 slots"
    assert namespace["IDLE_TIMEOUT_S"] >= 60


def test_proxy_streams_upload_bodies_and_logs_no_client(tmp_path: Path) -> None:
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    uploads = conf[conf.index("location ~ ^/(?:$|tus/|api/v1/intake/reports/$|follow-up/send/$)") :]
    uploads = uploads[: uploads.index("}")]
    assert "proxy_request_buffering off;" in uploads
    assert "access_log off;" in conf
    assert "error_log stderr crit;" in conf
    assert "proxy_max_temp_file_size 0;" in conf
    # Idle limits of at least a minute; nothing limits a request's total time.
    for directive in ("client_body_timeout", "send_timeout", "proxy_read_timeout"):
        seconds = int(re.search(rf"{directive} (\d+)s;", conf).group(1))  # type: ignore[union-attr]
        assert seconds >= 60, directive


def test_proxy_configuration_is_valid_for_the_nginx_the_tests_run(tmp_path: Path) -> None:
    proxy = NginxProxy(tmp_path, upstream="127.0.0.1:9")
    proxy.cache.mkdir()
    checked = proxy.check()
    assert checked.returncode == 0, checked.stderr


def test_check_deploy_is_clean_with_production_variables(tmp_path: Path) -> None:
    env = {**os.environ, **PRODUCTION_ENV, "TESTIGO_VAR_DIR": str(tmp_path)}
    # No TESTIGO_HTTPS: HTTPS must be on by default (the test run itself turns it off).
    env.pop("DJANGO_DEBUG", None)
    env.pop("TESTIGO_HTTPS", None)
    completed = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def _production_like(tmp_path: Path, script: str, **extra: str) -> str:
    """Run ``script`` under settings with DEBUG off and no TESTIGO_HTTPS (local storage, the
    case that used to stay on plain HTTP); returns its output."""
    unset = ("TESTIGO_HTTPS", "DJANGO_DEBUG", "DATABASE_URL", "REDIS_URL", "TESTIGO_STORAGE")
    env = {
        **{name: value for name, value in os.environ.items() if name not in unset},
        "TESTIGO_VAR_DIR": str(tmp_path),
        "DJANGO_ALLOWED_HOSTS": "testigo.example.org",
        "TESTIGO_TRUSTED_PROXIES": "10.0.0.0/8",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # A public host name with DEBUG off is a deployment: its keys must be given.
        **{name: PRODUCTION_ENV[name] for name in SECRET_NAMES},
        **extra,
    }
    done = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup()\n{script}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_https_is_enforced_whenever_debug_is_off(tmp_path: Path) -> None:
    out = _production_like(
        tmp_path,
        "from django.test import Client\n"
        "ok = Client(REMOTE_ADDR='10.0.0.2').get('/', HTTP_X_FORWARDED_PROTO='https',"
        " HTTP_HOST='testigo.example.org')\n"
        "print(ok.status_code, ok['Strict-Transport-Security'])\n"
        "print(ok.cookies['csrftoken']['secure'], ok.cookies['csrftoken']['max-age'])\n"
        "plain = Client(REMOTE_ADDR='198.51.100.7').get('/', HTTP_X_FORWARDED_PROTO='https',"
        " HTTP_HOST='testigo.example.org')\n"
        "print(plain.status_code, plain['Location'])\n"
        "from django.conf import settings\n"
        "print(settings.SESSION_COOKIE_SECURE, settings.SECURE_HSTS_SECONDS)\n",
    )
    assert out.splitlines() == [
        "200 max-age=31536000; includeSubDomains; preload",
        "True ",
        "301 https://testigo.example.org/",
        "True 31536000",
    ]


def test_plain_http_only_when_asked_for(tmp_path: Path) -> None:
    script = "from django.conf import settings\nprint(settings.SESSION_COOKIE_SECURE)"
    assert _production_like(tmp_path, script, TESTIGO_HTTPS="0").strip() == "False"
    assert _production_like(tmp_path, script, DJANGO_DEBUG="1").strip() == "False"


def test_the_project_is_licensed_agpl_3_or_later_with_the_full_text() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "AGPL-3.0-or-later"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.split("\n")[0].strip() == "GNU AFFERO GENERAL PUBLIC LICENSE"
    # The whole licence, through its last section and the notes on applying it.
    assert "  13. Remote Network Interaction; Use with the GNU General Public License." in text
    assert "  17. Interpretation of Sections 15 and 16." in text
    assert text.rstrip().endswith("<http://www.gnu.org/licenses/>.")
