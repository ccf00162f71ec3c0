"""Typed settings read from SMARTCITY_* environment variables and an optional .env file."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

VAR_DIR = Path("var")
_PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "dev"}


class Settings(BaseSettings):
    """Everything the platform can be configured with; each field is one SMARTCITY_<NAME> variable."""

    model_config = SettingsConfigDict(env_prefix="SMARTCITY_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = Field(
        "development", description="development and test allow generated secrets; production refuses them"
    )
    database_url: str = Field(
        "sqlite:///var/smartcity.db",
        description="SQLAlchemy URL: sqlite:///path (WAL mode) or postgresql+psycopg://user:pw@host/db",
    )
    secret_key: str = Field(
        "", description="signs session cookies and CSRF tokens; generated into var/secret_key when unset"
    )
    audit_hash: Literal["sha256", "sm3"] = Field(
        "sha256", description="hash of the audit chain: sha256 or sm3 (GB/T 32905-2016)"
    )
    session_hours: float = Field(12, gt=0, description="how long a page login lasts")
    token_minutes: float = Field(60, gt=0, description="lifetime of an OAuth2 bearer token")
    cookie_secure: bool = Field(False, description="mark cookies Secure; set true behind HTTPS")
    max_body_bytes: int = Field(1_048_576, gt=0, description="largest request body accepted, in bytes")
    max_photo_bytes: int = Field(8_388_608, gt=0, description="largest photo upload accepted, in bytes")
    media_dir: str = Field("var/media", description="directory where uploaded photos are stored")
    login_max_failures: int = Field(5, gt=0, description="failed logins per user name before a lock-out")
    login_window_minutes: float = Field(15, gt=0, description="window in which failed logins are counted")
    default_language: Literal["zh-CN", "en"] = Field("zh-CN", description="language of pages by default")
    host: str = Field("127.0.0.1", description="address `smartcity serve` binds to")
    port: int = Field(8000, gt=0, lt=65536, description="port `smartcity serve` binds to")
    timezone: str = Field("Asia/Shanghai", description="time zone in which pages show times")
    working_hours: str = Field(
        "09:00-12:00,13:00-17:00", description="working periods of a working day, for case time limits"
    )
    case_dispatch_limit_minutes: int = Field(
        30, gt=0, description="working minutes from registration within which a dispatch counts as on time"
    )
    case_check_limit_minutes: int = Field(
        120, gt=0, description="working minutes from feedback within which the on-site check counts as on time"
    )
    case_clock_after_return: Literal["restart", "continue"] = Field(
        "restart", description="after a return (退回), re-dispatch restarts the time limit or keeps the first deadline"
    )
    case_clock_after_rework: Literal["continue", "restart"] = Field(
        "continue", description="after a failed check (返工), keep the deadline or restart the full time limit"
    )
    case_suspension_pauses_clock: bool = Field(
        True, description="the working time a case spends suspended (缓办) is added to its deadline on resume"
    )
    case_score_weights: str = Field(
        "on_time_closure_rate:0.5,closure_rate:0.3,on_time_disposal_rate:0.2",
        description="weights of the rates in the evaluation's composite score, as code:weight pairs",
    )
    hotline_sign_limit_hours: int = Field(
        2, gt=0, description="working hours to sign for a dispatched order when its matter sets no limit"
    )
    hotline_handle_limit_days: int = Field(
        5, gt=0, description="working days to handle a dispatched order when its matter sets no limit"
    )
    hotline_public_per_hour: int = Field(
        20, gt=0, description="public submissions and order look-ups per client address per hour"
    )
    open311_jurisdiction: str = Field(
        "310000", description="the jurisdiction_id Open311 clients may send (GB/T 2260 code of the city)"
    )
    sta_public_read: bool = Field(
        True, description="SensorThings reads (/sta/v1.1 GET) are open data; false requires sensing.read"
    )
    sta_max_batch_bytes: int = Field(
        33_554_432, gt=0, description="largest CreateObservations (dataArray) request body, in bytes"
    )
    gtfs_max_feed_bytes: int = Field(
        104_857_600, gt=0, description="largest GTFS static zip accepted by POST /api/transit/feeds, in bytes"
    )
    gtfs_rt_max_bytes: int = Field(
        16_777_216, gt=0, description="largest GTFS-Realtime VehiclePositions body accepted, in bytes"
    )
    mqtt_url: str = Field(
        "", description="the MQTT broker for SensorThings MQTT, e.g. mqtt://platform:secret@127.0.0.1:1883; empty: off"
    )
    mqtt_client_id: str = Field(
        "smartcity-bridge", description="client id of the ingest bridge (its persistent broker session)"
    )
    sta_device_writes_per_minute: int = Field(
        600, gt=0, description="SensorThings write requests one device may send per minute (more get 429)"
    )
    alarm_escalation_minutes: int = Field(
        15, gt=0, description="an active alarm left unacknowledged escalates one level per this many minutes"
    )
    alarm_escalation_levels: int = Field(3, ge=0, description="how many times an unacknowledged alarm escalates")
    sta_read_cache_mb: int = Field(
        256,
        ge=0,
        description="memory per app process for rendered hours of SensorThings chart reads (0: off; docs/sensing.md)",
    )
    sta_retention_days: int = Field(
        0, ge=0, description="keep observations this many days (0: forever); applied by `smartcity sensing maintain`"
    )
    demo_components: int = Field(30_000, ge=0, description="components `smartcity demo` scatters over the grids")
    demo_grids: str = Field(
        "all",
        description="districts whose unit grids `smartcity demo` generates: all, none, or codes like 310101,310104",
    )
    cap_sender: str = Field(
        "warning@smartcity.example", description="CAP 1.2 sender: the warning service's stable address-like id"
    )
    cap_sender_name: str = Field("上海市突发事件预警信息发布中心（演示）", description="CAP senderName shown to people")
    cap_identifier_prefix: str = Field(
        "SC-WARN", pattern=r"^[A-Za-z0-9._-]+$", description="CAP identifiers are <prefix>-YYYYMMDD-NNNN"
    )
    run_schedule: bool = Field(
        False,
        description="the app process also runs the alarm schedule and the traffic cycle every 30 s (make demo sets it)",
    )
    demo_feeds: bool = Field(
        False, description="the app writes the demo city's sensor readings every minute (`make demo` sets it)"
    )
    ops_refresh_seconds: float = Field(
        30,
        ge=1,
        le=3600,
        description="the operations centre sends every open screen fresh figures at least this often (seconds)",
    )

    @field_validator("working_hours")
    @classmethod
    def _working_periods(cls, value: str) -> str:
        from smartcity.cases.calendar import parse_periods

        parse_periods(value)  # raises ValueError naming the bad period
        return value

    @field_validator("case_score_weights")
    @classmethod
    def _score_weights(cls, value: str) -> str:
        from smartcity.cases.evaluation import parse_weights

        parse_weights(value)  # raises ValueError naming the bad weight
        return value

    @field_validator("demo_grids")
    @classmethod
    def _grid_districts(cls, value: str) -> str:
        codes = [c.strip() for c in value.split(",")]
        if value.strip() in ("all", "none"):
            return value.strip()
        if all(len(c) == 6 and c.isdigit() for c in codes):
            return ",".join(codes)
        raise ValueError("SMARTCITY_DEMO_GRIDS must be all, none, or comma-separated 6-digit district codes")

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str) -> str:
        if not url.startswith(("sqlite", "postgresql")):
            raise ValueError("SMARTCITY_DATABASE_URL must be a sqlite:// or postgresql:// URL")
        return url

    @model_validator(mode="after")
    def _production_needs_real_secret(self) -> Settings:
        if self.env == "production" and (self.secret_key in _PLACEHOLDER_SECRETS or len(self.secret_key) < 32):
            raise ValueError(
                "SMARTCITY_SECRET_KEY must be set to a random string of at least 32 characters in production"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def effective_secret_key(self) -> str:
        """The secret in force: the configured one, else one generated once into var/secret_key."""
        if self.secret_key:
            return self.secret_key
        path = VAR_DIR / "secret_key"
        if not path.exists():
            VAR_DIR.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
