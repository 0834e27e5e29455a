"""The one settings class: every knob of caseloop, read from CASELOOP_* environment variables or a .env file."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.handoff.policy import HandoffPolicy
from schemas.report_sending import ReportRecipient
from schemas.reports import ScoreWeights
from workers.keys import Keyring, parse_key


class LogFormat(StrEnum):
    CONSOLE = "console"
    JSON = "json"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class SmsProviderName(StrEnum):
    LOGGING = "logging"
    HTTP = "http"


_PEPPER_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
MIN_PEPPER_BYTES = 32


def parse_peppers(text: str) -> list[tuple[str, bytes]]:
    """`id:base64,id:base64` into (id, pepper) pairs, the first the one new keys are hashed with."""
    peppers: list[tuple[str, bytes]] = []
    for part in (piece.strip() for piece in text.split(",")):
        pepper_id, colon, encoded = part.partition(":")
        if not colon or not _PEPPER_ID.fullmatch(pepper_id):
            raise ValueError("api_key_peppers is a list of id:base64 separated by commas (id: letters, digits, _ -)")
        try:
            pepper = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"api_key_peppers: the pepper {pepper_id} is not valid base64") from None
        if len(pepper) < MIN_PEPPER_BYTES:
            raise ValueError(f"api_key_peppers: the pepper {pepper_id} has fewer than {MIN_PEPPER_BYTES} bytes")
        if any(known == pepper_id for known, _ in peppers):
            raise ValueError(f"api_key_peppers: the id {pepper_id} appears twice")
        peppers.append((pepper_id, pepper))
    return peppers


class Settings(BaseSettings):
    """Defaults serve the embedded stack (`caseloop up`) on one machine."""

    # hide_input_in_errors: a refused key or pepper must not be printed back into a log.
    model_config = SettingsConfigDict(
        env_prefix="CASELOOP_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    environment: Environment = Environment.DEVELOPMENT

    temporal_target: str = Field("127.0.0.1:7233", description="host:port of the Temporal frontend")
    temporal_namespace: str = "default"
    temporal_api_key: SecretStr | None = None
    temporal_tls: bool = False
    task_queue: str = "caseloop"
    encryption_key: SecretStr | None = Field(
        None, description="base64 AES-256 key; when set, workflow payloads are stored encrypted"
    )
    encryption_keys: SecretStr | None = Field(
        None,
        description="id:base64,id:base64 (AES-256 keys), instead of encryption_key: payloads are encrypted under "
        "the first and decrypt under any of them, so a key rotates while older payloads stay readable",
    )
    codec_port: int = Field(8234, ge=1, le=65535, description="the codec server's port (the Temporal UI's decoder)")
    codec_ui_origin: str | None = Field(
        None,
        description="the Temporal Web UI origin the codec server admits (CORS); default the embedded UI, "
        "http://127.0.0.1:<ui_port>",
    )
    codec_session_hours: int = Field(8, ge=1, le=24 * 7, description="how long a supervisor's codec sign-in lasts")

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

    webhook_allow_hosts: str = Field(
        "",
        description="host names, IP addresses or networks (CIDR), comma-separated, that department webhooks may "
        "reach although they are loopback, link-local or private; e.g. 127.0.0.1 for a receiver on this machine",
    )
    webhook_reply_max_bytes: int = Field(
        64 << 10, ge=1024, le=16 << 20, description="the most of a department's reply that is read (bytes)"
    )

    report_dir: Path | None = Field(
        None, description="where monthly and quarterly reports are written; default data_dir/reports"
    )
    handoff_policy: HandoffPolicy = Field(
        default_factory=HandoffPolicy,
        description="hand-offs' tuning numbers as JSON (delivery and SMS attempts, limits when a matter names none, "
        "commands remembered, the misrouting threshold, store retry pauses); a hand-off keeps the one it started with",
    )
    report_score_weights: ScoreWeights = Field(
        default_factory=ScoreWeights,
        description='assessment weights per locality as JSON, e.g. {"SQ-SHY": {"card_red": -3}}; kinds and '
        "localities not named keep the default weights",
    )
    report_recipients: list[ReportRecipient] = Field(
        default_factory=list,
        max_length=50,
        description='who receives each report as a signed webhook, as JSON: [{"name": "SQ-YSB", "url": '
        '"https://…/reports", "secret_ref": "reports-ysb"}]; CASELOOP_SECRET_<SECRET_REF> holds each secret',
    )
    report_bucket_url: str | None = Field(
        None,
        pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9!_.*'()/-]*)?$",
        description="also keep each report in object storage (S3 API: AWS, MinIO, Ceph…), e.g. s3://reports/caseloop; "
        "recipients are then sent links instead of the files",
    )
    report_bucket_endpoint: str | None = Field(
        None, max_length=500, description="the S3 endpoint of a store other than AWS, e.g. https://minio.example:9000"
    )
    report_bucket_region: str = Field("us-east-1", max_length=64)
    report_bucket_access_key_id: str | None = Field(
        None, max_length=200, description="None: boto3's own chain (AWS_* variables, a profile, the machine's role)"
    )
    report_bucket_secret_access_key: SecretStr | None = None
    report_link_seconds: int = Field(
        7 * 86400, ge=60, le=7 * 86400, description="how long a report link sent to recipients reads (S3 allows 7 days)"
    )
    report_delay_working_days: int = Field(
        5, ge=1, le=250, description="a case this many working days past its committed deadline is a typical delay"
    )

    workflow_sandbox: bool = Field(
        False,
        description="run workflow code in the SDK's sandbox, which checks every call for non-determinism at a cost of "
        "about 7 ms of CPU per command (bench/README.md); the tests and the replay of the committed "
        "histories always run it, so a worker in service may leave it off. Turn it on to let a suspect change's "
        "workflows fail at once on a non-deterministic call",
    )

    log_format: LogFormat = LogFormat.CONSOLE
    log_level: str = "INFO"

    api_port: int = Field(8080, ge=1, le=65535, description="the front door's HTTP port")
    api_metrics_port: int = Field(
        9467,
        ge=0,
        le=65535,
        description="`caseloop api` alone: its domain metrics (the inbox calls, the store's gauges); 0: off. "
        "`caseloop up` serves the door's on metrics_port",
    )
    api_url: str | None = Field(None, description="the front door's URL, for the CLI and the SDK")
    api_command_seconds: float = Field(30.0, gt=0, le=600, description="how long the door waits for a command")
    api_idempotency_hours: int = Field(24, ge=1, le=24 * 30, description="how long an Idempotency-Key is kept")
    api_max_body_bytes: int = Field(1 << 20, ge=1024, le=64 << 20, description="the largest request body")
    api_status_lookups_per_minute: int = Field(
        30, ge=1, le=100_000, description="public status lookups one client address may make a minute, wrong ones too"
    )
    problem_base: str = Field(
        "https://caseloop.invalid/problems/", description="absolute URI the API's problem types are under"
    )
    api_key_peppers: SecretStr | None = Field(
        None,
        description="id:base64,id:base64 (each at least 32 bytes): API key secrets are stored as an HMAC under "
        "the first; the others still verify, for rotation. Required in production",
    )
    api_key_default_days: int = Field(90, ge=1, description="lifetime of an API key issued without an expiry")
    api_key_max_days: int = Field(730, ge=1, description="the longest lifetime an API key may be issued with")
    jwt_issuer: str | None = Field(None, description="the identity platform whose client-credentials JWTs count")
    jwt_jwks_url: str | None = Field(None, description="where the issuer publishes its signing keys (JWKS)")
    jwt_audience: str | None = Field(None, description="the audience a JWT must be issued for")
    jwt_department_claim: str = Field("department", description="the JWT claim naming the caller's department")
    jwt_operator_claim: str = Field("caseloop_operator", description="the JWT claim that is true for operators")
    jwt_leeway_seconds: int = Field(30, ge=0, le=300, description="clock skew allowed on exp and nbf")

    @field_validator("encryption_key")
    @classmethod
    def _usable_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_key(value.get_secret_value())
        return value

    @field_validator("encryption_keys")
    @classmethod
    def _usable_keyring(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            Keyring.parse(value.get_secret_value())
        return value

    @field_validator("api_key_peppers")
    @classmethod
    def _usable_peppers(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_peppers(value.get_secret_value())
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
    def _jwt_whole_or_absent(self) -> Settings:
        named = [self.jwt_issuer, self.jwt_jwks_url, self.jwt_audience]
        if any(named) and not all(named):
            raise ValueError("jwt_issuer, jwt_jwks_url and jwt_audience are set together or not at all")
        if self.api_key_default_days > self.api_key_max_days:
            raise ValueError("api_key_default_days cannot exceed api_key_max_days")
        return self

    @model_validator(mode="after")
    def _one_way_to_give_keys(self) -> Settings:
        if self.encryption_key is not None and self.encryption_keys is not None:
            raise ValueError(
                "set encryption_key or encryption_keys, not both: to rotate, list the old key in encryption_keys "
                "(its id is the first 16 hex digits of its SHA-256, or any id of yours: both are known)"
            )
        return self

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> Settings:
        if self.environment is Environment.PRODUCTION:
            if self.store_url is None or not self.store_url.split(":", 1)[0].startswith("postgresql"):
                raise ValueError("store_url must name a PostgreSQL database in production")
            if self.log_format is not LogFormat.JSON:
                raise ValueError("log_format must be json in production")
            if self.api_key_peppers is None:
                raise ValueError("api_key_peppers must be set in production (id:base64 of at least 32 random bytes)")
            if self.jwt_jwks_url is not None and urlsplit(self.jwt_jwks_url).scheme != "https":
                raise ValueError("jwt_jwks_url must be an https URL in production")
            if self.encryption_key is None and self.encryption_keys is None:
                raise ValueError(
                    "encryption_key (or encryption_keys) must be set in production: Temporal keeps case payloads, "
                    "personal data included, only as ciphertext"
                )
            if not self.temporal_tls and self.temporal_api_key is None:
                raise ValueError(
                    "production reaches Temporal over TLS: set temporal_tls=true, or temporal_api_key (which "
                    "implies TLS)"
                )
            if self.sms_provider is SmsProviderName.LOGGING:
                raise ValueError("sms_provider=logging only writes text messages to the log; production needs http")
            plain = [recipient.name for recipient in self.report_recipients if recipient.url.scheme != "https"]
            if plain:
                raise ValueError(f"report_recipients must be https URLs in production: {', '.join(plain)}")
        return self

    @model_validator(mode="after")
    def _distinct_report_recipients(self) -> Settings:
        names = [recipient.name for recipient in self.report_recipients]
        if len(set(names)) != len(names):
            raise ValueError("report_recipients: each recipient needs a name of its own (it keys the webhook id)")
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

    @property
    def jwt_configured(self) -> bool:
        return self.jwt_issuer is not None

    def payload_keyring(self) -> Keyring | None:
        """The payload keys (encryption_keys, else encryption_key under its derived id); None: no encryption."""
        if self.encryption_keys is not None:
            return Keyring.parse(self.encryption_keys.get_secret_value())
        if self.encryption_key is not None:
            return Keyring.single(self.encryption_key.get_secret_value())
        return None

    @property
    def refuse_plaintext_payloads(self) -> bool:
        """In production every payload is written encrypted, so one in clear is refused rather than read."""
        return self.environment is Environment.PRODUCTION

    @property
    def resolved_codec_ui_origin(self) -> str:
        return self.codec_ui_origin or f"http://127.0.0.1:{self.ui_port}"

    def api_key_pepper_list(self) -> list[tuple[str, bytes]]:
        """The peppers, the first encoding; unset outside production, one derived from the data directory's path.

        The derived pepper is no secret (anyone who knows the path can compute it): it only keeps development
        stores working without setup. Its id names the path's digest, so a key checked against another data
        directory is refused as such rather than as a wrong secret.
        """
        if self.api_key_peppers is not None:
            return parse_peppers(self.api_key_peppers.get_secret_value())
        if self.environment is Environment.PRODUCTION:
            raise ValueError("api_key_peppers must be set in production")
        digest = hashlib.sha256(b"caseloop development pepper\0" + str(self.data_dir.resolve()).encode()).digest()
        return [(f"dev-{digest[:4].hex()}", digest)]


class _EnvironmentOnly(BaseSettings):
    """Only the environment, read as Settings reads it: lets `caseloop up` refuse production before it asks for
    what production requires."""

    model_config = SettingsConfigDict(env_prefix="CASELOOP_", env_file=".env", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT


def configured_environment() -> Environment:
    return _EnvironmentOnly().environment


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
