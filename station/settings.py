"""Settings models shared by every component: each component's settings tree nests them.

The API and the collector read ``STATION_*`` environment variables through
pydantic-settings, the MQTT section nested one level (``STATION_MQTT_HOST``,
``STATION_MQTT_PORT``, ``STATION_MQTT_USERNAME``, ``STATION_MQTT_PASSWORD``,
``STATION_MQTT_TLS_CA``, ``STATION_MQTT_CLIENT_ID``, …); an edge node reads the same
section from its YAML file (``mqtt:``). One model, one field name per idea.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, FilePath
from pydantic_settings import SettingsConfigDict

#: How every component's BaseSettings reads the environment: ``STATION_`` prefix, one
#: level of nesting split at the first underscore (``STATION_MQTT_TLS_CA`` → mqtt.tls_ca).
#: ``extra="forbid"``: a misspelt argument or nested variable (``STATION_MQTT_HOTS``)
#: fails at start, naming it; top-level ``STATION_*`` variables of other components
#: are not read.
ENV = SettingsConfigDict(env_prefix="STATION_", env_nested_delimiter="_", env_nested_max_split=1, extra="forbid")


class MqttSettings(BaseModel):
    """Where and how to reach the broker. The password comes from the environment or a
    file (``password_file``), never from a committed file."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = Field(default=None, description="Broker account (a node's is its node id).")
    password: str | None = Field(default=None, repr=False)
    password_file: Path | None = Field(default=None, description="A file holding the password (instead of it).")
    tls_ca: FilePath | None = Field(default=None, description="Connect over TLS, trusting this CA (PEM).")
    keepalive_s: int = Field(default=30, ge=5, le=300)
    client_id: str | None = Field(default=None, description="Also the persistent session's name; default the username.")
    enabled: bool = Field(default=True, description="False: run without a broker (tests, tools).")

    def secret(self) -> str | None:
        """The password, read from ``password_file`` when one is named (OSError names the file)."""
        if self.password_file is not None:
            return Path(self.password_file).read_text().strip()
        return self.password

    def describe(self) -> str:
        user = f"{self.username}@" if self.username else ""
        return f"mqtt{'s' if self.tls_ca else ''}://{user}{self.host}:{self.port}"
