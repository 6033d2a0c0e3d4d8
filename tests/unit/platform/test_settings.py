"""Settings refuse unsafe values outside development."""

import pytest
from pydantic import ValidationError

from alix.settings import Settings


def test_development_accepts_the_placeholder_secret() -> None:
    settings = Settings(environment="development")
    assert settings.secret_key.get_secret_value() == "change-me"
    assert settings.is_sqlite


def test_production_refuses_the_placeholder_secret() -> None:
    with pytest.raises(ValidationError, match="ALIX_SECRET_KEY"):
        Settings(environment="production", public_url="https://alix.example.com")


def test_production_refuses_a_short_secret() -> None:
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(environment="production", secret_key="short",  # type: ignore[arg-type]
                 public_url="https://alix.example.com")


def test_production_needs_an_https_public_url() -> None:
    with pytest.raises(ValidationError, match="https"):
        Settings(environment="production", secret_key="s" * 40,  # type: ignore[arg-type]
                 public_url="http://alix.example.com")


def test_environment_variables_use_the_alix_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIX_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("ALIX_ZOHO_ACCOUNTS_URL", "http://127.0.0.1:8999")
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert not settings.is_sqlite
    assert settings.zoho_accounts_url == "http://127.0.0.1:8999"


def test_a_public_url_must_be_http() -> None:
    with pytest.raises(ValidationError, match="ALIX_PUBLIC_URL"):
        Settings(public_url="ftp://example.com")
