"""Typed settings read once from the environment (prefix ALIX_) and passed down."""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import Field, SecretStr, model_validator
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
    # The initial import reads a Zoho module of more records than this through bulk read
    # (CSV exports of 200,000 records) instead of 200-record pages; 0 turns bulk read off.
    zoho_bulk_read_above: int = 10_000
    # The initial import writes its pages in a process of its own, beside the one reading them
    # from Zoho, when the modules hold more records than this in all (the process costs about a
    # second to start); 0 keeps every import in one process.
    zoho_import_process_above: int = 20_000
    # While that process starts, the first pages are written by the one reading them; false
    # leaves them to the process (the crash tests kill it at a chosen page).
    zoho_import_head_start: bool = True
    session_max_age_seconds: int = 14 * 24 * 3600
    run_jobs_in_process: bool = True
    # A running job renews its heartbeat (and its lease) a few times per this period; a job
    # whose heartbeat is older belongs to a dead process and any runner takes it over, so a
    # killed process blocks its connection's sync for at most this long.
    job_heartbeat_seconds: float = 60.0
    sqlite_busy_timeout_ms: int = 10_000
    # Request body limits per kind of route (alix.web.body_limits); past them the answer is 413.
    # Forms and the JSON API carry one record (with its contacts and addresses) at most.
    max_form_body_bytes: int = 1024 * 1024
    max_api_body_bytes: int = 1024 * 1024
    # Zoho's largest callback we expect: 100 records (LIMIT_EXCEEDED past 100 records and 50
    # fields per call, zoho-crm-api.md 8) with `return_affected_field_values`, each with 50
    # changed fields of 255 characters (a text field's length, zoho-crm-api.md 5): about 1.4 MB
    # as JSON. Zoho documents no maximum; a larger callback is refused and the periodic
    # reconciliation still picks its records up.
    max_notification_body_bytes: int = 2 * 1024 * 1024
    # Addresses of reverse proxies whose X-Forwarded-For is believed (login throttling);
    # empty: the peer address is the client's.
    trusted_proxies: tuple[str, ...] = ()
    # Logging: "json" (one object a line, for a log shipper) or "console" (readable); empty
    # means JSON in production and console elsewhere.
    log_format: Literal["", "json", "console"] = ""
    log_level: str = "INFO"
    # `/metrics` answers only `Authorization: Bearer <this>`; empty refuses every scrape.
    metrics_token: SecretStr = SecretStr("")
    # prometheus-client's own variable: with several web processes (`alix serve --workers N`),
    # a directory they share so `/metrics` adds up the counters of all of them.
    prometheus_multiproc_dir: str = Field(default="", validation_alias="PROMETHEUS_MULTIPROC_DIR")
    # What runs jobs: the in-process runner (SQLite, or one machine on PostgreSQL), or
    # procrastinate workers (`alix worker`, any number, any machine; PostgreSQL only). Web
    # processes with procrastinate set ALIX_RUN_JOBS_IN_PROCESS=false.
    jobs_engine: Literal["in_process", "procrastinate"] = "in_process"
    # Jobs one `alix worker` runs at once (never two of one connection: they share a lock).
    worker_concurrency: int = 4
    # How often a worker defers jobs that no worker was going to run (the relay).
    worker_relay_seconds: int = 30

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
        if self.jobs_engine == "procrastinate" and self.is_sqlite:
            raise SettingsError("ALIX_JOBS_ENGINE=procrastinate needs PostgreSQL; on SQLite "
                                "jobs run in process (ALIX_JOBS_ENGINE=in_process).")
        if not self.public_url.startswith(("http://", "https://")):
            raise SettingsError(f"ALIX_PUBLIC_URL must be an http(s) URL, got {self.public_url!r}.")
        return self

    @cached_property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def effective_log_format(self) -> Literal["json", "console"]:
        if self.log_format:
            return self.log_format
        return "json" if self.environment == "production" else "console"

    @property
    def public_base(self) -> str:
        return self.public_url.rstrip("/")
