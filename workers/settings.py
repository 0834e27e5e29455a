"""The one settings class: every knob of caseloop, read from CASELOOP_* environment variables or a .env file."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from workers.codec import parse_key


class LogFormat(StrEnum):
    CONSOLE = "console"
    JSON = "json"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class SmsProviderName(StrEnum):
    LOGGING = "logging"
    HTTP = "http"


class Settings(BaseSettings):
    """Defaults serve the embedded stack (`caseloop up`) on one machine."""

    model_config = SettingsConfigDict(env_prefix="CASELOOP_", env_file=".env", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT

    temporal_target: str = Field("127.0.0.1:7233", description="host:port of the Temporal frontend")
    temporal_namespace: str = "default"
    temporal_api_key: SecretStr | None = None
    temporal_tls: bool = False
    task_queue: str = "caseloop"
    encryption_key: SecretStr | None = Field(
        None, description="base64 AES-256 key; when set, workflow payloads are stored encrypted"
    )

    data_dir: Path = Field(Path("data"), description="where the embedded stack keeps its SQLite files")
    store_url: str | None = Field(
        None, description="SQLAlchemy async URL of the store; defaults to a SQLite file in data_dir"
    )

    ui_port: int = Field(8233, ge=1, le=65535)
    metrics_port: int = Field(9464, ge=0, le=65535, description="domain metrics (prometheus-client); 0: off")
    sdk_metrics_port: int = Field(9465, ge=0, le=65535, description="Temporal SDK metrics; 0: off")
    server_metrics_port: int = Field(9466, ge=1, le=65535, description="embedded Temporal server metrics")
    bind_host: str = "127.0.0.1"

    sms_provider: SmsProviderName = Field(SmsProviderName.LOGGING, description="logging: SMS are only logged")
    sms_url: str | None = Field(None, description="the SMS platform's send endpoint, for sms_provider=http")
    sms_api_key: SecretStr | None = None

    log_format: LogFormat = LogFormat.CONSOLE
    log_level: str = "INFO"

    @field_validator("encryption_key")
    @classmethod
    def _usable_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_key(value.get_secret_value())
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"log_level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, not {value!r}")
        return level

    @model_validator(mode="after")
    def _sms_platform_named(self) -> Settings:
        if self.sms_provider is SmsProviderName.HTTP and not self.sms_url:
            raise ValueError("sms_url is required when sms_provider is http")
        return self

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> Settings:
        if self.environment is Environment.PRODUCTION:
            if self.store_url is None or self.store_url.startswith("sqlite"):
                raise ValueError("store_url must name a PostgreSQL database in production")
            if self.log_format is not LogFormat.JSON:
                raise ValueError("log_format must be json in production")
        return self

    @property
    def temporal_port(self) -> int:
        return int(self.temporal_target.rsplit(":", 1)[1])

    @property
    def temporal_host(self) -> str:
        return self.temporal_target.rsplit(":", 1)[0]

    @property
    def resolved_store_url(self) -> str:
        if self.store_url:
            return self.store_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'caseloop.db').resolve()}"

    @property
    def temporal_db_path(self) -> Path:
        return self.data_dir / "temporal.db"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
