"""Typed settings read once from the environment (prefix ALIX_) and passed down."""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "change-me"


class SettingsError(ValueError):
    """Raised when the configuration cannot run the app safely."""


class Settings(BaseSettings):
    """Everything configurable about ALIX; only this module reads the environment."""

    model_config = SettingsConfigDict(env_prefix="ALIX_", env_file=None, extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./var/alix.db"
    secret_key: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    public_url: str = "http://127.0.0.1:8000"
    zoho_client_id: str = ""
    zoho_client_secret: SecretStr = SecretStr("")
    # Development override: the accounts server of the local Zoho emulator. Empty in production,
    # where the data centre chosen at connect time decides the accounts server.
    zoho_accounts_url: str = ""
    session_max_age_seconds: int = 14 * 24 * 3600
    run_jobs_in_process: bool = True
    # A running job renews its heartbeat (and its lease) a few times per this period; a job
    # whose heartbeat is older belongs to a dead process and any runner takes it over, so a
    # killed process blocks its connection's sync for at most this long.
    job_heartbeat_seconds: float = 60.0
    sqlite_busy_timeout_ms: int = 10_000

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Settings:
        secret = self.secret_key.get_secret_value()
        if self.environment == "production":
            if secret == PLACEHOLDER_SECRET or len(secret) < 32:
                raise SettingsError(
                    "ALIX_SECRET_KEY must be set to a random value of at least 32 characters "
                    "outside development (try: python -c 'import secrets; "
                    "print(secrets.token_urlsafe(48))')."
                )
            if not self.public_url.startswith("https://"):
                raise SettingsError(
                    "ALIX_PUBLIC_URL must be an https:// address in production: Zoho sends "
                    f"OAuth redirects and notifications there (got {self.public_url!r})."
                )
        if not self.public_url.startswith(("http://", "https://")):
            raise SettingsError(f"ALIX_PUBLIC_URL must be an http(s) URL, got {self.public_url!r}.")
        return self

    @cached_property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def public_base(self) -> str:
        return self.public_url.rstrip("/")
