"""API settings, from the environment (``STATION_*``) or arguments; never secrets in files.

Secrets (the Ed25519 signing key, the site HMAC key, the database password, the broker
password) come from files or environment variables. Outside development the API refuses
to start without them; in development it generates ephemeral ones (and says so).

The broker section is the shared :class:`station.settings.MqttSettings`
(``STATION_MQTT_HOST``, ``STATION_MQTT_PORT``, ``STATION_MQTT_USERNAME``,
``STATION_MQTT_PASSWORD``, ``STATION_MQTT_TLS_CA``, ``STATION_MQTT_CLIENT_ID``,
``STATION_MQTT_ENABLED``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings

from station.inventory import DEFAULT_INVENTORY
from station.privacy import RetentionPolicy
from station.settings import ENV, MqttSettings

from .notice import PrivacyNotice


class ApiSettings(BaseSettings):
    model_config = ENV

    #: ``development`` allows ephemeral keys and a throw-away SQLite database;
    #: ``production`` refuses to start without real keys and a database URL.
    #: Unset means development (so that ``station demo`` keeps working), with a warning.
    environment: Literal["development", "production"] | None = None

    inventory: Path = DEFAULT_INVENTORY
    #: The floor plan (station/inventory/plan.py); unset: ``<inventory>-plan.yaml`` beside
    #: the inventory when that file exists, else no plan.
    plan: Path | None = None
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    #: The API's persistent MQTT session outlives a restart this long: node events sent
    #: while it is down wait in the broker and are audited when it comes back.
    mqtt_session_expiry_s: int = Field(default=7 * 86400, ge=86400)

    #: SQLAlchemy URL; unset in development: a SQLite file in a temporary directory.
    database_url: str | None = Field(default=None, repr=False)

    #: Ed25519 private key (PEM) used to sign grant lists and door commands.
    signing_key_file: Path | None = None
    signing_key: str | None = Field(default=None, repr=False, description="PEM text (instead of a file).")
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
    #: Failed logins (see api/security.py): per account and client, per client, and per
    #: account for clients that are not a known device of that account.
    login_max_failures: int = Field(default=5, ge=1)
    login_client_max_failures: int = Field(default=20, ge=1)
    login_account_max_failures: int = Field(default=50, ge=1)
    login_window_s: float = Field(default=900, gt=0)

    grant_ttl_hours: float = Field(default=24, gt=0, description="Validity of a published grant list.")
    grant_lead_minutes: float = Field(default=10, ge=0, description="Door opens this long before a booking.")
    no_show_minutes: float = Field(default=15, gt=0)
    sweep_interval_s: float = Field(default=5, gt=0, description="Wall seconds between no-show/expiry sweeps.")
    booking_horizon_days: int = Field(default=90, ge=1)
    #: Unknown cards kept per door for enrolment by tapping (the newest).
    unknown_cards_per_door: int = Field(default=20, ge=1, le=1000)
    #: Staff console alerts: a node online but silent this long (wall seconds) reads as
    #: stale (three of its 60 s status refreshes); CO2 at or above this in an occupied space.
    node_stale_after_s: float = Field(default=180, gt=0)
    co2_alert_ppm: float = Field(default=1000, gt=0)
    #: Refused MQTT messages kept (the newest); older ones are dropped.
    dead_letters_kept: int = Field(default=10_000, ge=100)

    #: How long each kind of personal data is kept (``STATION_RETENTION_AUDIT_DAYS=…``),
    #: CNIL-aligned defaults with their reasons (station/privacy.py, docs/privacy.md).
    retention: RetentionPolicy = Field(default_factory=RetentionPolicy)
    #: The information notice (GDPR art. 13) the board and the console show, fr and en
    #: (``STATION_NOTICE_CONTROLLER=…``, ``STATION_NOTICE_CONTACT=…``; api/notice.py).
    notice: PrivacyNotice = Field(default_factory=PrivacyNotice)

    #: The address members reach the API at (for the private calendar URLs); unset: the
    #: address of the request.
    public_url: str | None = None

    #: CalDAV server the spaces' bookings are published to (one calendar per space, its
    #: id the space's id) and read back from (events members create there). Unset: no sync.
    caldav_url: str | None = None
    caldav_username: str | None = None
    caldav_password: str | None = Field(default=None, repr=False)
    caldav_password_file: Path | None = None
    caldav_pull_interval_s: float = Field(default=60, gt=0, description="Seconds between reads of the calendars.")
    caldav_retry_max_s: float = Field(default=300, gt=0, description="Longest wait before retrying a server that failed.")

    @property
    def development(self) -> bool:
        return self.environment != "production"
