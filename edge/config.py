"""Edge node configuration file (YAML), validated at start with file, line and reason.

    node: ls-porte-salle-aiguillage
    inventory: /etc/station/la-station.yaml      # relative paths are from this file
    data_dir: /var/lib/station                   # outbox and grant cache (required)
    mqtt:
      host: broker.la-station.lan
      port: 8883
      password_file: /etc/station/secrets/mqtt-password   # never the password itself
      tls_ca: /etc/station/ca.pem
    keys:                                        # required on a door node
      public_key: /etc/station/keys/site-signing.pub.pem
      hmac_key: /etc/station/secrets/site-hmac.key
    access:                                      # optional; these are the defaults
      unlock_s: 5
      lockout_after: 5
      lockout_window_s: 30
      lockout_s: 60
      staff_when_list_expired: true
    sensors:                                     # room nodes; default from the profile
      co2: uart                                  # uart, analog or none
      serial_port: /dev/serial0
      light: ldr                                 # ldr or none
      climate: sht31                             # sht31 (I2C 0x44 on /dev/i2c-1) or none

The MQTT username is the node id. Secrets are read from files or the environment
(``STATION_MQTT_PASSWORD``), never from this file.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from station.inventory import ConfigError, Inventory, NodeProfile, load_inventory
from station.mqtt import MqttSettings
from station.yamlfile import describe, line_of, read

from .access import AccessSettings
from .keys import SiteKeys, load_site_keys


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MqttSection(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    password_file: Path | None = None
    tls_ca: Path | None = None
    keepalive_s: int = Field(default=30, ge=5, le=300)


class KeysSection(Section):
    public_key: Path
    hmac_key: Path
    key_id: str = Field(default="site", min_length=1, max_length=64)


class AccessSection(Section):
    unlock_s: float = Field(default=5.0, gt=0, le=60)
    lockout_after: int = Field(default=5, ge=1, le=100)
    lockout_window_s: float = Field(default=30.0, gt=0, le=3600)
    lockout_s: float = Field(default=60.0, ge=0, le=3600)
    staff_when_list_expired: bool = True

    def settings(self) -> AccessSettings:
        return AccessSettings(unlock_s=self.unlock_s, lockout_after=self.lockout_after,
                              lockout_window_s=self.lockout_window_s, lockout_s=self.lockout_s,
                              staff_when_expired=self.staff_when_list_expired)


class OutboxSection(Section):
    event_cap: int = Field(default=200_000, ge=100)
    telemetry_cap: int = Field(default=20_000, ge=10)


class SensorsSection(Section):
    co2: Literal["uart", "analog", "none"] | None = None
    serial_port: str = "/dev/serial0"
    light: Literal["ldr", "none"] = "ldr"
    climate: Literal["sht31", "none"] = "sht31"
    i2c_bus: int = Field(default=1, ge=0, le=10)


class EdgeConfig(Section):
    node: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    inventory: Path
    profile: Path | None = Field(default=None, description="Hardware profile; default from the node's kind.")
    mqtt: MqttSection = Field(default_factory=MqttSection)
    data_dir: Path
    keys: KeysSection | None = None
    access: AccessSection = Field(default_factory=AccessSection)
    outbox: OutboxSection = Field(default_factory=OutboxSection)
    sensors: SensorsSection = Field(default_factory=SensorsSection)
    telemetry_interval_s: float = Field(default=60.0, ge=1, le=3600)


def load_edge_config(path: Path | str) -> tuple[EdgeConfig, Inventory, str]:
    """Load the config and its inventory; return them with the config's hash.

    Raises ConfigError (``file:line: field: reason``) on any problem, including a node id
    the inventory does not list and a door node without keys.
    """
    path = Path(path)
    data, lines = read(path)
    try:
        config = EdgeConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe(path, exc, lines)) from None
    base = path.resolve().parent
    resolve = lambda p: p if p is None or p.is_absolute() else (base / p)  # noqa: E731
    keys = config.keys and config.keys.model_copy(update={"public_key": resolve(config.keys.public_key),
                                                          "hmac_key": resolve(config.keys.hmac_key)})
    config = config.model_copy(update={
        "inventory": resolve(config.inventory), "profile": resolve(config.profile),
        "data_dir": resolve(config.data_dir), "keys": keys,
        "mqtt": config.mqtt.model_copy(update={"password_file": resolve(config.mqtt.password_file),
                                               "tls_ca": resolve(config.mqtt.tls_ca)})})
    inventory = load_inventory(config.inventory)
    try:
        _, node = inventory.node(config.node)
    except KeyError:
        raise ConfigError([f"{path}:{line_of(('node',), lines)}: node: {config.node!r} is not a node of "
                           f"{config.inventory}"]) from None
    if node.profile is NodeProfile.door_node and config.keys is None:
        raise ConfigError([f"{path}:{line_of(('node',), lines)}: keys: a door node needs keys.public_key and "
                           "keys.hmac_key to verify grant lists and hash badges"])
    digest = hashlib.sha256(path.read_bytes() + config.inventory.read_bytes()).hexdigest()[:12]
    return config, inventory, digest


def site_keys(config: EdgeConfig) -> SiteKeys | None:
    """Read the key files named in the config (ConfigError names the file)."""
    if config.keys is None:
        return None
    return load_site_keys(config.keys.public_key, config.keys.hmac_key, config.keys.key_id)


def check_data_dir(config: EdgeConfig) -> None:
    """The data directory must exist (or be creatable) and be writable."""
    try:
        config.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError([f"data_dir: cannot create {config.data_dir}: {exc.strerror}"]) from None
    if not os.access(config.data_dir, os.W_OK):
        raise ConfigError([f"data_dir: {config.data_dir} is not writable"])


def mqtt_settings(config: EdgeConfig) -> MqttSettings:
    password = os.environ.get("STATION_MQTT_PASSWORD")
    if config.mqtt.password_file is not None:
        try:
            password = config.mqtt.password_file.read_text().strip()
        except OSError as exc:
            raise ConfigError([f"mqtt.password_file: cannot read {config.mqtt.password_file}: {exc.strerror}"]) from None
    return MqttSettings(host=config.mqtt.host, port=config.mqtt.port, username=config.node,
                        password=password, tls_ca=str(config.mqtt.tls_ca) if config.mqtt.tls_ca else None,
                        keepalive=config.mqtt.keepalive_s)


def room_sensors(config: EdgeConfig, profile, pin_factory=None):
    """Build a room node's sensors from the config and the profile's options."""
    from .devices.analog import AnalogCo2, LdrLight, open_mcp3008
    from .devices.mhz19 import MHZ19B
    from .node import RoomSensors

    co2_source = config.sensors.co2 or profile.options.get("co2_source", "none")
    sensors = RoomSensors()
    if co2_source == "uart":
        try:
            sensors.co2 = MHZ19B(config.sensors.serial_port)
        except Exception as exc:  # noqa: BLE001 - pyserial raises SerialException (an OSError) or ValueError
            raise ConfigError([f"sensors.serial_port: cannot open {config.sensors.serial_port}: {exc}"]) from None
    elif co2_source == "analog":
        sensors.co2 = AnalogCo2(open_mcp3008(int(profile.options.get("analog_co2_channel", 1)),
                                             pin_factory=pin_factory))
    if config.sensors.climate == "sht31" and profile.buses.get("i2c1"):
        from .devices.sht31 import SHT31, LinuxI2c
        try:
            sensors.climate = SHT31(LinuxI2c(config.sensors.i2c_bus))
        except OSError as exc:
            raise ConfigError([f"sensors.i2c_bus: cannot open /dev/i2c-{config.sensors.i2c_bus}: "
                               f"{exc.strerror}"]) from None
    if config.sensors.light == "ldr" and profile.buses.get("spi0"):
        sensors.light = LdrLight(open_mcp3008(int(profile.options.get("light_channel", 0)), pin_factory=pin_factory))
    return sensors
