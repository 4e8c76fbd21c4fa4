"""The node agent: devices of one node wired to the MQTT contract.

A door node reports its door; a room node reports motion and periodic telemetry.
Client id = node id; a retained last will says ``offline``; ``online`` is published
after every connect with version, config hash and uptime.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field

from station import __version__
from station.clock import Clock
from station.contract import EventKind, NodeEvent, NodeState, NodeStatus, Telemetry, topics
from station.inventory import Inventory, NodeProfile
from station.mqtt import MqttBus, MqttSettings

from .devices import DoorContact, MotionDetector, SensorFault
from .devices.sensors import ClimateSensor, Co2Sensor, LightMeter
from .profiles import HardwareProfile, load_profile

log = logging.getLogger(__name__)


@dataclass
class RoomSensors:
    """The non-GPIO sensors of a room node; any may be missing."""

    co2: Co2Sensor | None = None
    climate: ClimateSensor | None = None
    light: LightMeter | None = None


@dataclass
class NodeCounters:
    events: int = 0
    telemetry: int = 0
    sensor_faults: dict[str, int] = field(default_factory=dict)


class EdgeNode:
    """Run one node of the inventory on a pin factory (real pins or ``MockFactory``)."""

    MOTION_REPORT_INTERVAL_S = 10.0

    def __init__(
        self,
        inventory: Inventory,
        node_id: str,
        mqtt: MqttSettings,
        *,
        pin_factory=None,
        clock: Clock | None = None,
        sensors: RoomSensors | None = None,
        profile: HardwareProfile | None = None,
        telemetry_interval_s: float = 60.0,
        config_hash: str | None = None,
    ):
        self.site, self.node = inventory.node(node_id)
        self.inventory = inventory
        self.clock = clock or Clock()
        self.pin_factory = pin_factory
        self.sensors = sensors or RoomSensors()
        self.profile = profile or load_profile(self.node.profile.value)
        self.telemetry_interval_s = telemetry_interval_s
        self.config_hash = config_hash
        self.counters = NodeCounters()
        self._seq = 0
        self._seq_lock = threading.Lock()
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._devices: list = []
        self._last_motion_report = None
        self.doors = {d.id: d for d in self.site.doors if d.id in self.node.doors}
        offline = NodeStatus(node=self.node.id, state=NodeState.offline).to_json()
        self.bus = MqttBus(self.node.id, mqtt, will=(self.status_topic, offline, True),
                           on_connect=self.publish_status)

    # -- topics -------------------------------------------------------------------------
    @property
    def status_topic(self) -> str:
        return topics.node_status(self.site.id, self.node.id)

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, wait: float | None = 10.0) -> "EdgeNode":
        if self.node.profile is NodeProfile.door_node:
            self._start_door_devices()
        else:
            self._start_room_devices()
        self.bus.start(wait=wait)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self.bus.connected.is_set():
            offline = NodeStatus(node=self.node.id, state=NodeState.offline)
            self.bus.publish(self.status_topic, offline, retain=True).wait_for_publish(2)
        self.bus.stop()
        for t in self._threads:
            t.join(timeout=2)
        for device in self._devices:
            device.close()

    def __enter__(self) -> "EdgeNode":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- devices ------------------------------------------------------------------------
    def _start_door_devices(self) -> None:
        door_id = self.node.doors[0]
        space = self.doors[door_id].space
        contact = DoorContact(self.profile.pins["door_contact"], pin_factory=self.pin_factory)
        contact.when_opened = lambda: self.emit(EventKind.door_opened, door=door_id, space=space)
        contact.when_closed = lambda: self.emit(EventKind.door_closed, door=door_id, space=space)
        self._devices.append(contact)
        self.door_contact = contact

    def _start_room_devices(self) -> None:
        pir = MotionDetector(self.profile.pins["pir"], pin_factory=self.pin_factory)
        pir.when_motion = self._on_motion
        self._devices.append(pir)
        self.motion = pir
        thread = threading.Thread(target=self._telemetry_loop, name=f"{self.node.id}-telemetry", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _on_motion(self) -> None:
        now = self.clock.now()
        last = self._last_motion_report
        if last is None or (now - last).total_seconds() >= self.MOTION_REPORT_INTERVAL_S:
            self._last_motion_report = now
            self.emit(EventKind.motion, space=self.node.space)

    # -- publishing ---------------------------------------------------------------------
    def emit(self, kind: EventKind, **fields) -> NodeEvent:
        with self._seq_lock:
            self._seq += 1
            event = NodeEvent(id=uuid.uuid4().hex, seq=self._seq, node=self.node.id, kind=kind,
                              ts=self.clock.now(), **fields)
        self.bus.publish(topics.node_events(self.site.id, self.node.id), event, qos=1)
        self.counters.events += 1
        log.debug("%s: %s %s", self.node.id, kind.value, fields)
        return event

    def publish_status(self) -> None:
        status = NodeStatus(node=self.node.id, state=NodeState.online, version=__version__,
                            config_hash=self.config_hash, ts=self.clock.now(),
                            uptime_s=round(time.monotonic() - self._started, 1), outbox_depth=0)
        self.bus.publish(self.status_topic, status, qos=1, retain=True)

    def read_telemetry(self) -> Telemetry:
        readings: dict[str, float | None] = {}
        faults: list[str] = []

        def take(name: str, read):
            try:
                return read()
            except SensorFault as exc:
                faults.append(name)
                self.counters.sensor_faults[name] = self.counters.sensor_faults.get(name, 0) + 1
                log.warning("%s: %s sensor fault: %s", self.node.id, name, exc)
                return None

        if self.sensors.co2 is not None:
            readings["co2_ppm"] = take("co2", self.sensors.co2.read_ppm)
        if self.sensors.climate is not None:
            climate = take("climate", self.sensors.climate.read_climate)
            if climate is not None:
                readings["temperature_c"], readings["humidity_pct"] = climate
        if self.sensors.light is not None:
            readings["light_lux"] = take("light", self.sensors.light.read_lux)
        return Telemetry(node=self.node.id, space=self.node.space, ts=self.clock.now(), faults=faults, **readings)

    def _telemetry_loop(self) -> None:
        while not self._stop.is_set():
            try:
                telemetry = self.read_telemetry()
                self.bus.publish(topics.node_telemetry(self.site.id, self.node.id), telemetry, qos=1)
                self.counters.telemetry += 1
            except Exception:
                log.exception("%s: telemetry failed", self.node.id)
            if self.clock.wait(self._stop, self.telemetry_interval_s):
                return
