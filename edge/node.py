"""The node agent: devices of one node wired to the MQTT contract.

A door node decides access locally from its cached, signed grant lists and runs the
door state machine (:mod:`edge.access`); a machine node powers its machine the same way
(:mod:`edge.machine`); a room node reports motion and periodic telemetry. Every event and reading goes through the durable outbox
(:mod:`edge.outbox`) before it is published. Client id = node id; a retained last will
says ``offline``; ``online`` is published after every connect with version, config
hash, uptime, outbox depth and the grant version of each door.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from gpiozero import LED

from station import __version__
from station.access import NodeKeys
from station.clock import Clock
from station.contract import EventKind, MachineGrantList, NodeEvent, NodeState, NodeStatus, Rejected, Telemetry, topics
from station.contract.receive import receive
from station.inventory import Inventory, NodeProfile
from station.mqtt import MqttBus, MqttSettings

from .access import AccessSettings, DoorController
from .commands import CommandLedger
from .devices import DoorContact, MotionDetector, SensorFault
from .devices.indicators import DoorIndicators
from .devices.inputs import ExitButton, FireInput, TamperSwitch
from .devices.sensors import ClimateSensor, Co2Sensor, LightMeter
from .devices.strike import DoorStrike
from .devices.wiegand import WiegandReader
from .grants import GrantCache, GrantRejected
from .outbox import Outbox, OutboxFull
from .profiles import HardwareProfile, load_profile
from .publisher import OutboxPublisher

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
    rejected_messages: dict[str, int] = field(default_factory=dict)


class EdgeNode:
    """Run one node of the inventory on a pin factory (real pins or ``MockFactory``).

    ``data_dir`` holds the outbox and the grant cache; without one (simulator, tests) a
    temporary directory is used and removed at ``stop()``. ``keys`` are the site's
    public and HMAC keys; without them a door node admits nobody and says so.
    """

    MOTION_REPORT_INTERVAL_S = 10.0
    SUPERVISE_S = 1.0
    STATUS_EVERY_S = 60.0  # refresh the retained status (outbox depth) this often, in real seconds
    RECONNECT_MAX_S = 8  # back-off cap: a door node should be back within seconds of the broker

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
        data_dir: Path | str | None = None,
        keys: NodeKeys | None = None,
        access: AccessSettings | None = None,
        outbox_event_cap: int = 200_000,
        outbox_telemetry_cap: int = 20_000,
        outbox_max_event_age_days: int = 92,
        adc=None,
    ):
        self.site, self.node = inventory.node(node_id)
        self.inventory = inventory
        self.clock = clock or Clock()
        self.pin_factory = pin_factory
        self.sensors = sensors or RoomSensors()
        self.profile = profile or load_profile(self.node.profile.value)
        self.telemetry_interval_s = telemetry_interval_s
        self.config_hash = config_hash
        self.keys = keys
        self.access = access or AccessSettings()
        self.counters = NodeCounters()
        self._own_data_dir = data_dir is None
        self.data_dir = Path(data_dir) if data_dir is not None else Path(tempfile.mkdtemp(prefix=f"{node_id}-"))
        self.outbox = Outbox(self.data_dir / "outbox.sqlite3", event_cap=outbox_event_cap,
                             telemetry_cap=outbox_telemetry_cap, max_event_age_days=outbox_max_event_age_days)
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._devices: list = []
        self._last_motion_report = None
        self._alarm_raised = False
        self._link_shown: bool | None = None  # what the room node's status LED shows
        self.doors = {d.id: d for d in self.site.doors if d.id in self.node.doors}
        self.controllers: dict[str, DoorController] = {}
        self.grants: GrantCache | None = None
        self.machines = {m.id: m for m in self.site.machines if m.id in self.node.machines}
        self.machine = None  # the MachineController of a machine node
        self.adc = adc  # a machine node's CT clamp channel (tests, simulator); default the MCP3008
        offline = NodeStatus(node=self.node.id, state=NodeState.offline).to_json()
        self.bus = MqttBus(self.node.id, mqtt, will=(self.status_topic, offline, True),
                           on_connect=self._on_connect)
        self.bus.client.reconnect_delay_set(min_delay=1, max_delay=self.RECONNECT_MAX_S)
        self.publisher = OutboxPublisher(self.outbox, self.bus, name=self.node.id, clock=self.clock)
        if self.node.profile is NodeProfile.door_node:
            self.grants = GrantCache(self.data_dir / "grants", self.site.id, list(self.doors), keys,
                                     staff_when_expired=self.access.staff_when_expired)
            for door_id in self.doors:
                self.bus.subscribe(topics.door_grants(self.site.id, door_id), self._on_grants)
                self.bus.subscribe(topics.door_command(self.site.id, door_id), self._on_command)
        if self.node.profile is NodeProfile.machine_node:
            self.grants = GrantCache(self.data_dir / "machine-grants", self.site.id, list(self.machines), keys,
                                     model=MachineGrantList)
            for machine_id in self.machines:
                self.bus.subscribe(topics.machine_grants(self.site.id, machine_id), self._on_grants)

    # -- topics -------------------------------------------------------------------------
    @property
    def status_topic(self) -> str:
        return topics.node_status(self.site.id, self.node.id)

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, wait: float | None = 10.0) -> "EdgeNode":
        if self.node.profile is NodeProfile.door_node:
            self._start_door_devices()
        elif self.node.profile is NodeProfile.machine_node:
            from .machine import build_machine

            self.machine = build_machine(self)
        else:
            self._start_room_devices()
        if self.outbox.set_aside is not None:
            self.emit(EventKind.outbox_alarm, reason=f"outbox file damaged: set aside as {self.outbox.set_aside.name}, "
                      "its undelivered events are lost"[:200])
        for problem in self.grants.load_problems if self.grants else []:
            self.emit(EventKind.grants_rejected, reason=problem[-200:])
        self._spawn(self._supervise, "supervise")
        self.publisher.start()
        self.bus.start(wait=wait)
        return self

    def _spawn(self, target, name: str) -> None:
        thread = threading.Thread(target=target, name=f"{self.node.id}-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        if self.machine is not None:
            self.machine.close()  # power off first, reported through the outbox
        if self.bus.connected.is_set():
            offline = NodeStatus(node=self.node.id, state=NodeState.offline, ts=self.clock.now())
            self.bus.publish(self.status_topic, offline, retain=True).wait_for_publish(2)
        self.publisher.stop()
        self.bus.stop()
        for t in self._threads:
            t.join(timeout=2)
        for controller in self.controllers.values():
            controller.close()
        for device in reversed(self._devices):
            device.close()
        self.outbox.close()
        if self._own_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> "EdgeNode":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- devices ------------------------------------------------------------------------
    def _start_door_devices(self) -> None:
        pins, f = self.profile.pins, self.pin_factory
        door = self.doors[self.node.doors[0]]  # the inventory gives a door node exactly one
        self.strike = DoorStrike(pins["strike_relay"], lock=door.lock.value, max_unlock_s=door.max_unlock_s,
                                 active_high=bool(self.profile.options.get("strike_active_high", True)),
                                 clock=self.clock, pin_factory=f)
        self.indicators = DoorIndicators(pins["led_green"], pins["led_red"], pins["buzzer"], pin_factory=f)
        self.door_contact = DoorContact(pins["door_contact"], pin_factory=f)
        self.exit_button = ExitButton(pins["exit_button"], pin_factory=f)
        self.fire_input = FireInput(pins["fire_input"], pin_factory=f)
        self.tamper = TamperSwitch(pins["tamper"], pin_factory=f)
        self.reader = WiegandReader(pins["wiegand_d0"], pins["wiegand_d1"], pin_factory=f,
                                    frame_gap_s=float(self.profile.options.get("wiegand_frame_gap_s", 0.010)),
                                    formats=tuple(self.profile.options.get("wiegand_formats", (26, 34))))
        self._devices += [self.strike, self.indicators, self.door_contact, self.exit_button, self.fire_input,
                          self.tamper, self.reader]
        access = self.access.model_copy(update={"unlock_s": min(self.access.unlock_s, door.max_unlock_s)})
        ctl = DoorController(door, strike=self.strike, grants=self.grants, keys=self.keys, emit=self.emit,
                             clock=self.clock, ledger=CommandLedger(self.data_dir / "commands"), settings=access,
                             indicators=self.indicators)
        self.controllers[door.id] = ctl
        ctl.is_open = self.door_contact.is_open
        self.reader.when_read = ctl.on_badge
        self.reader.when_error = ctl.on_reader_error
        self.door_contact.when_opened = ctl.on_opened
        self.door_contact.when_closed = ctl.on_closed
        self.exit_button.when_pressed = ctl.on_exit_request
        self.fire_input.when_alarm = ctl.on_fire_alarm
        self.fire_input.when_cleared = ctl.on_fire_cleared
        self.tamper.when_alarm = ctl.on_tamper

    def _start_room_devices(self) -> None:
        pir = MotionDetector(self.profile.pins["pir"], pin_factory=self.pin_factory)
        pir.when_motion = self._on_motion
        # The room node's one light: steady while the broker hears it, a short blink every
        # 2 s while it does not (readings wait in the outbox meanwhile).
        self.status_led = LED(self.profile.pins["status_led"], pin_factory=self.pin_factory)
        self._devices += [pir, self.status_led]
        self.motion = pir
        self._spawn(self._telemetry_loop, "telemetry")

    def _on_motion(self, still: bool = False) -> None:
        """Report motion: on the PIR's rising edge, and again at each telemetry tick while
        it stays high — a busy room keeps a retriggering PIR high and would otherwise go
        quiet (``reason="still active"``)."""
        now = self.clock.now()
        last = self._last_motion_report
        if last is None or (now - last).total_seconds() >= self.MOTION_REPORT_INTERVAL_S:
            self._last_motion_report = now
            self.emit(EventKind.motion, space=self.node.space, reason="still active" if still else None)

    # -- publishing ---------------------------------------------------------------------
    def emit(self, kind: EventKind, **fields) -> NodeEvent | None:
        """Store an event in the outbox (durably), then wake the publisher.

        Returns the event, or None when the outbox is full (counted, alarmed, logged).
        """
        made: list[NodeEvent] = []
        ts = self.clock.now()

        def build(seq: int) -> bytes:
            made.append(NodeEvent(id=uuid.uuid4().hex, seq=seq, node=self.node.id, kind=kind, ts=ts, **fields))
            return made[-1].to_json()

        topic = topics.node_events(self.site.id, self.node.id)
        try:
            self.outbox.append("event", topic, build, force=kind is EventKind.outbox_alarm)
        except OutboxFull as exc:
            log.error("%s: %s", self.node.id, exc)
            if not self._alarm_raised:
                self._alarm_raised = True
                self.emit(EventKind.outbox_alarm, reason=f"outbox full ({self.outbox.event_cap} events): "
                          "new events are refused and counted")
            return None
        if self._alarm_raised and self.outbox.count("event") < self.outbox.event_cap * 0.9:
            self._alarm_raised = False
        self.counters.events += 1
        self.publisher.notify()
        log.debug("%s: %s %s", self.node.id, kind.value, fields)
        return made[-1]

    def _on_connect(self) -> None:
        self.publish_status()
        self.publisher.notify()

    def publish_status(self) -> None:
        status = NodeStatus(node=self.node.id, state=NodeState.online, version=__version__,
                            config_hash=self.config_hash, ts=self.clock.now(),
                            uptime_s=round(time.monotonic() - self._started, 1), outbox_depth=self.outbox.depth,
                            grant_versions=self.grants.versions() if self.grants else {})
        self.bus.publish(self.status_topic, status, qos=1, retain=True)

    # -- messages from the API ----------------------------------------------------------
    def _reject(self, topic: str, reason: str) -> None:
        self.counters.rejected_messages[reason] = self.counters.rejected_messages.get(reason, 0) + 1
        log.warning("%s: rejected message on %s: %s", self.node.id, topic, reason)

    def _receive(self, topic: str, payload: bytes):
        """The message on ``topic``, taken as every receiver takes it
        (:func:`station.contract.receive.receive`): a payload over the channel's size is
        refused before it is parsed, then shape, time bounds and the topic's door (or
        machine) and site are checked. Raises :class:`Rejected`; never anything else."""
        try:
            return receive(self.inventory, topic, payload, now=self.clock.now())[1]
        except Rejected:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever arrives, the MQTT loop goes on
            raise Rejected("invalid_payload", f"{type(exc).__name__}: {exc}"[:300]) from None

    def _on_grants(self, topic: str, payload: bytes) -> None:
        if not payload:
            return  # a retained list being cleared: keep the cache
        door = topics.parse(topic).ident
        where = ({"door": door, "space": self.doors[door].space} if door in self.doors
                 else {"machine": door, "space": self.machines[door].space})
        try:
            grants = self._receive(topic, payload)
            changed = self.grants.update(door, grants)
        except Rejected as exc:
            self._reject(topic, exc.reason)
            self.emit(EventKind.grants_rejected, **where, reason=f"malformed grant list ({exc.reason}): {exc.detail}"[:200])
            return
        except GrantRejected as exc:
            self._reject(topic, "grants_rejected")
            self.emit(EventKind.grants_rejected, **where, reason=str(exc)[:200])
            return
        if changed:
            if self.machine is not None:
                self.machine.grants_changed()
            self.publish_status()

    def _on_command(self, topic: str, payload: bytes) -> None:
        door = topics.parse(topic).ident
        try:
            command = self._receive(topic, payload)
        except Rejected as exc:
            self._reject(topic, exc.reason)
            self.emit(EventKind.command_rejected, door=door, space=self.doors[door].space,
                      reason=f"malformed command ({exc.reason}): {exc.detail}"[:200])
            return
        self.controllers[door].apply_command(command)

    # -- loops --------------------------------------------------------------------------
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
        topic = topics.node_telemetry(self.site.id, self.node.id)
        faulty: set[str] = set()
        while not self._stop.is_set():
            try:
                telemetry = self.read_telemetry()
                for name in sorted(set(telemetry.faults) - faulty):
                    self.emit(EventKind.sensor_fault, space=self.node.space, reason=f"{name} sensor not answering")
                for name in sorted(faulty - set(telemetry.faults)):
                    self.emit(EventKind.sensor_recovered, space=self.node.space, reason=f"{name} sensor answering again")
                faulty = set(telemetry.faults)
                self.outbox.append("telemetry", topic, lambda _seq: telemetry.to_json())
                self.publisher.notify()
                self.counters.telemetry += 1
                if self.motion.motion_detected:
                    self._on_motion(still=True)
            except Exception:
                log.exception("%s: telemetry failed", self.node.id)
            if self.clock.wait(self._stop, self.telemetry_interval_s):
                return

    def _supervise(self) -> None:
        """Show 'offline' on the LEDs while the broker is unreachable (doors still work)."""
        first, last_status = True, time.monotonic()
        while not self._stop.wait(self.SUPERVISE_S):
            if self.bus.connected.is_set() and time.monotonic() - last_status >= self.STATUS_EVERY_S:
                last_status = time.monotonic()
                self.publish_status()
            if first and self.node.profile is NodeProfile.door_node:
                first = False  # a node booting during a fire alarm: act once the inputs settled
                for ctl in self.controllers.values():
                    if self.fire_input.in_alarm and not ctl.fire:
                        ctl.on_fire_alarm()
            indicators = getattr(self, "indicators", None)
            if indicators is not None:
                indicators.offline(not self.bus.connected.is_set())
            led = getattr(self, "status_led", None)
            connected = self.bus.connected.is_set()
            if led is not None and connected != self._link_shown:
                self._link_shown = connected
                if connected:
                    led.on()
                else:
                    led.blink(on_time=0.1, off_time=1.9)
