"""API settings, from the environment (``STATION_*``) or arguments; never secrets in files."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from station.inventory import DEFAULT_INVENTORY
from station.mqtt import MqttSettings


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STATION_", extra="ignore")

    inventory: Path = DEFAULT_INVENTORY
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(default=1883, ge=1, le=65535)
    mqtt_username: str | None = None
    mqtt_password: str | None = Field(default=None, repr=False)
    mqtt_client_id: str = "api"
    mqtt_enabled: bool = True

    def mqtt(self) -> MqttSettings:
        return MqttSettings(host=self.mqtt_host, port=self.mqtt_port, username=self.mqtt_username,
                            password=self.mqtt_password)
