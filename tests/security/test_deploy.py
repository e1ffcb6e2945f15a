"""Production settings: `manage.py check --deploy` is clean, and unsafe settings stop the start with a clear message."""

from __future__ import annotations

import os
import secrets
import subprocess  # noqa: S404  (runs this project's own manage.py)
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/test"


def production_env(**overrides: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CLINICDESK_", "PYTEST"))}
    for name in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "SECURE_HSTS_PRELOAD"):
        env.pop(name, None)
    env.update({
        "CLINICDESK_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "clinic.example",
        "DATABASE_URL": POSTGRES_URL,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CLINICDESK_VAR_DIR": str(ROOT / "var" / "deploy-check"),
    })
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize("database", [{"DATABASE_URL": POSTGRES_URL},
                                      {"DATABASE_URL": None, "CLINICDESK_ALLOW_SQLITE": "1"}],
                         ids=["postgresql", "sqlite-one-machine"])
def test_check_deploy_is_clean(database):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(**database))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


@pytest.mark.parametrize("overrides, message", [
    ({"SECRET_KEY": None}, "SECRET_KEY must be set"),
    ({"SECRET_KEY": "short-and-guessable"}, "SECRET_KEY must be set"),
    ({"DEBUG": "1"}, "DEBUG must be off"),
    ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS must name the site's hosts"),
    ({"ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS must name the site's hosts"),
    ({"DATABASE_URL": None}, "DATABASE_URL must point at PostgreSQL"),
])
def test_production_refuses_unsafe_settings(overrides, message):
    result = manage("check", env=production_env(**overrides))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "Unsafe production settings: " in result.stderr
    assert message in result.stderr, result.stderr


def test_production_turns_on_https_only_cookies_and_hsts():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS >= 31536000, s.SESSION_COOKIE_HTTPONLY, s.X_FRAME_OPTIONS, s.ALLAUTH_TRUSTED_PROXY_COUNT)"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, env=production_env(), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "True", "True", "True", "True", "DENY", "1"]
