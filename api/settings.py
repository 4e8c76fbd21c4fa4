"""API settings, from the environment (``STATION_*``) or arguments; never secrets in files.

Secrets (the Ed25519 signing key, the site HMAC key, the database password) come from
files or environment variables. Outside development the API refuses to start without
them; in development it generates ephemeral ones (and says so in the log).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, FilePath
from pydantic_settings import BaseSettings, SettingsConfigDict

from station.inventory import DEFAULT_INVENTORY
from station.mqtt import MqttSettings


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STATION_", extra="ignore")

    #: ``development`` allows ephemeral keys and a throw-away SQLite database;
    #: ``production`` refuses to start without real keys and a database URL.
    #: Unset means development (so that ``station demo`` keeps working), with a warning.
    environment: Literal["development", "production"] | None = None

    inventory: Path = DEFAULT_INVENTORY
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(default=1883, ge=1, le=65535)
    mqtt_username: str | None = None
    mqtt_password: str | None = Field(default=None, repr=False)
    mqtt_client_id: str = "api"
    #: Connect over TLS, trusting this CA (PEM): for a broker reached across a network.
    mqtt_tls_ca: FilePath | None = None
    mqtt_enabled: bool = True

    #: SQLAlchemy URL; unset in development: a SQLite file in a temporary directory.
    database_url: str | None = Field(default=None, repr=False)

    #: Ed25519 private key (PEM) used to sign grant lists and door commands.
    signing_key_file: Path | None = None
    signing_key: str | None = Field(default=None, repr=False, description="PEM text (instead of a file).")
    signing_key_id: str = "api-1"
    #: The site HMAC key (hex) that hashes card numbers, as the reader nodes do.
    site_key_file: Path | None = None
    site_key: str | None = Field(default=None, repr=False)

    #: First administrator, created at start when no member exists yet.
    admin_email: str | None = None
    admin_password: str | None = Field(default=None, repr=False)

    #: Where the collector's history is read (the same store the collector writes).
    history_sqlite: Path | None = None
    history_influx_url: str | None = None
    history_influx_database: str = "station"
    history_influx_token: str | None = Field(default=None, repr=False)

    token_ttl_hours: float = Field(default=12, gt=0)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_s: float = Field(default=900, gt=0)

    #: Publish grant lists to the doors. Off only where another issuer owns the doors'
    #: lists (``station demo``: the simulator signs lists for its simulated members).
    publish_grants: bool = True
    grant_ttl_hours: float = Field(default=24, gt=0, description="Validity of a published grant list.")
    grant_lead_minutes: float = Field(default=10, ge=0, description="Door opens this long before a booking.")
    no_show_minutes: float = Field(default=15, gt=0)
    sweep_interval_s: float = Field(default=5, gt=0, description="Wall seconds between no-show/expiry sweeps.")
    booking_horizon_days: int = Field(default=90, ge=1)

    @property
    def development(self) -> bool:
        return self.environment != "production"

    def mqtt(self) -> MqttSettings:
        return MqttSettings(host=self.mqtt_host, port=self.mqtt_port, username=self.mqtt_username,
                            password=self.mqtt_password, tls_ca=str(self.mqtt_tls_ca) if self.mqtt_tls_ca else None)
