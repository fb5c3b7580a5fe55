"""Typed settings, built once at start-up and passed down (environment prefix ``WASTEROUTE_``)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def normalise_database_url(url: str) -> str:
    """Return a SQLAlchemy URL that uses psycopg 3 for any ``postgres``/``postgresql`` URL."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


DEFAULT_INGEST_BATCH_SIZE = 5_000
"""Readings per transaction at most. At a steady rate the batch age closes batches first (100 ms is
1,500 readings at 15,000/s); a backlog after an outage drains in full batches, where a commit and
its statements cost about 10 ms whatever the size (bench ingest: 15-17k msgs/s at 1,000, 21k at 5,000)."""


class Settings(BaseSettings):
    """Every setting of the service. Unset URLs mean: start the embedded services (development)."""

    model_config = SettingsConfigDict(env_prefix="WASTEROUTE_", env_file=None, extra="ignore")

    environment: str = Field(default="development", description="development | production")
    database_url: str | None = Field(default=None, description="PostgreSQL URL; unset: embedded server")
    mqtt_url: str | None = Field(
        default=None, description="mqtt://user:pass@host:port; unset: embedded broker"
    )
    data_dir: Path = Field(
        default=Path(".wasteroute"), description="embedded database, broker and cache files"
    )
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=0, le=65535)
    secret_key: SecretStr = SecretStr("development-only-secret")
    api_metrics_port: int | None = Field(
        default=None, ge=0, le=65535, description="Prometheus /metrics of `wasteroute serve`, on api_host"
    )
    auth_failure_burst: int = Field(
        default=20, ge=1, description="failed authentications per client address before 429"
    )
    auth_failure_refill_s: float = Field(
        default=6.0, gt=0, le=3_600, description="seconds until a client earns one more failed try"
    )
    auth_failure_clients: int = Field(default=10_000, ge=1, description="client addresses remembered")

    # ingest
    mqtt_client_id: str = Field(
        default="wasteroute-ingest-0", description="stable id: the broker keeps its session"
    )
    mqtt_session_expiry_s: int = Field(default=86_400, ge=0)
    mqtt_shared_group: str | None = Field(
        default=None, description="join $share/<group>/… with other ingestors"
    )
    ingest_batch_size: int = Field(
        default=DEFAULT_INGEST_BATCH_SIZE,
        ge=1,
        le=20_000,
        description="largest batch; reached only while a backlog drains (the age closes batches before)",
    )
    ingest_batch_age_ms: int = Field(default=100, ge=1, le=60_000)
    ingest_queue_size: int = Field(default=20_000, ge=1)
    ingest_max_payload_bytes: int = Field(default=65_536, ge=256)
    ingest_future_tolerance_s: int = Field(default=300, ge=0)
    retention_days: int = Field(default=400, ge=1)
    metrics_port: int | None = Field(default=None, ge=0, le=65535, description="Prometheus port of ingest")
    maintenance_interval_s: int = Field(default=600, ge=10, description="partitions, retention, rollups")

    # planning
    plan_time_limit_s: float = Field(default=20.0, gt=0, le=3_600)
    osrm_url: str | None = Field(default=None, description="OSRM base URL; unset: great-circle x detour")
    osrm_profile: str = "driving"
    osrm_timeout_s: float = Field(default=10.0, gt=0, le=300)
    road_detour_factor: float = Field(default=1.3, ge=1.0, le=3.0)

    # plan jobs (see planning/jobs.py)
    plan_max_time_limit_s: float = Field(default=120.0, gt=0, le=3_600, description="refused above")
    plan_days_back: int = Field(default=1, ge=0, le=31, description="oldest service date: today - N")
    plan_days_ahead: int = Field(default=14, ge=0, le=366, description="latest service date: today + N")
    plan_queue_per_city: int = Field(default=10, ge=1, description="queued + running jobs of a city")
    plan_lease_s: float = Field(default=60.0, ge=1, le=3_600, description="renewed every third of it")
    plan_max_attempts: int = Field(default=3, ge=1, le=20)
    worker_poll_s: float = Field(default=1.0, gt=0, le=60)
    worker_nice: int = Field(
        default=10, ge=0, le=19, description="plan workers run at least this nice (0: unchanged)"
    )

    @field_validator("database_url")
    @classmethod
    def _normalise(cls, v: str | None) -> str | None:
        return normalise_database_url(v) if v else None

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt(cls, v: str | None) -> str | None:
        if v and urlsplit(v).scheme not in ("mqtt", "mqtts", "tcp"):
            raise ValueError("mqtt_url must look like mqtt://user:password@host:1883")
        return v or None

    @model_validator(mode="after")
    def _no_placeholder_secrets(self) -> Settings:
        if (
            self.environment == "production"
            and self.secret_key.get_secret_value() == "development-only-secret"
        ):
            raise ValueError(
                "set WASTEROUTE_SECRET_KEY in production; the development placeholder is refused"
            )
        return self

    @cached_property
    def embedded(self) -> bool:
        """True when at least one service must be started by us."""
        return self.database_url is None or self.mqtt_url is None
