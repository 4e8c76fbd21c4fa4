"""`station edge simulate`: every node of a site on mock pins, against a real broker.

The simulator owns a :class:`~edge.simulator.world.SpaceWorld` per space and drives the
nodes' mock pins from it (door contacts when people come and go, PIR when they move);
room nodes read simulated CO2, climate and light. Ground truth — the true number of
people per space per minute — goes to a CSV so that occupancy estimates can be scored.
"""

from __future__ import annotations

import csv
import logging
import random
import tempfile
import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from gpiozero.pins.mock import MockFactory

from station.clock import Clock
from station.inventory import Inventory, NodeProfile
from station.contract import topics
from station.mqtt import MqttBus, MqttSettings

from ..devices.analog import LdrLight, open_mcp3008
from ..devices.mhz19 import MHZ19B
from ..devices.sht31 import SHT31
from ..devices.wiegand import encode_frame, send_frame
from ..node import EdgeNode, RoomSensors
from ..profiles import load_profile
from .badges import SimulatedAccess, card_number
from .fakes import FakeMhz19Port, FakeSht31Bus, MockMcp3008
from .world import SpaceWorld, pir_fires, plan_day

log = logging.getLogger(__name__)
__all__ = ["BuildingSimulator", "SpaceWorld"]


class _Co2Port(FakeMhz19Port):
    """The MH-Z19B of a simulated room: real frames on a fake serial port, from the world's CO2."""

    def __init__(self, world: SpaceWorld, rng: random.Random):
        super().__init__(lambda: world.co2_ppm + rng.gauss(0, 8))

    @property
    def dead(self) -> bool:
        return self.mode == "dead"

    @dead.setter
    def dead(self, value: bool) -> None:
        self.mode = "dead" if value else "ok"


class BuildingSimulator:
    """Simulate sites of the inventory; their nodes publish to the broker in ``mqtt``."""

    STEP_S = 10.0
    DOOR_OPEN_S = 6.0

    def __init__(self, inventory: Inventory, mqtt: MqttSettings, *, clock: Clock,
                 sites: list[str] | None = None, seed: int = 7, truth_csv: Path | None = None,
                 telemetry_interval_s: float = 60.0, days: list[date] | None = None,
                 keys_dir: Path | None = None, publish_grants: bool = True):
        self.inventory, self.mqtt, self.clock = inventory, mqtt, clock
        self.rng = random.Random(seed)
        self.sites = [inventory.site(s) for s in sites] if sites else list(inventory.sites)
        self.truth_csv = truth_csv
        self.telemetry_interval_s = telemetry_interval_s
        self.worlds: dict[str, SpaceWorld] = {}
        self.nodes: dict[str, EdgeNode] = {}
        self.factories: dict[str, MockFactory] = {}
        self._door_close_at: dict[str, datetime] = {}
        self._people: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="station-sim-") if keys_dir is None else None
        self.access = SimulatedAccess(Path(keys_dir) if keys_dir else Path(self._tmp.name) / "keys")
        self.publish_grants = publish_grants
        self.counters: Counter[str] = Counter()
        self.co2_ports: dict[str, _Co2Port] = {}
        self._devices: list = []
        self._last_step: datetime | None = None
        now = clock.now()
        for site in self.sites:
            tz = ZoneInfo(site.timezone)
            plan_days = days or [now.astimezone(tz).date() + timedelta(days=k) for k in (0, 1)]
            for space in site.spaces:
                world = SpaceWorld(site, space)
                for day in plan_days:
                    world.visits += plan_day(site, space, day, self.rng, inventory)
                self.worlds[space.id] = world

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, wait: float | None = 10.0) -> "BuildingSimulator":
        for site in self.sites:
            for node in site.nodes:
                factory = MockFactory()
                self.factories[node.id] = factory
                sensors = None
                if node.profile is NodeProfile.room_node:
                    world = self.worlds[node.space]
                    port = _Co2Port(world, random.Random(self.rng.random()))
                    self.co2_ports[node.space] = port
                    adc = MockMcp3008(pin_factory=factory)  # an LDR on channel 0 of the room's MCP3008
                    adc.channels[0] = lambda w=world: 3.3 * LdrLight.fraction_for_lux(w.light_lux(self.clock.now()))
                    self._devices.append(adc)
                    climate = SHT31(FakeSht31Bus(lambda w=world: (w.temperature_c, w.humidity_pct)), wait_s=0)
                    sensors = RoomSensors(co2=MHZ19B(port), climate=climate,
                                          light=LdrLight(open_mcp3008(0, pin_factory=factory)))
                profile = load_profile(node.profile.value)
                # A wide Wiegand frame gap: the simulator shares a busy machine, and a frame
                # split by a scheduling pause would turn a member's badge into a forced door.
                profile = profile.model_copy(update={"options": {**profile.options, "wiegand_frame_gap_s": 0.03}})
                edge = EdgeNode(self.inventory, node.id, self.mqtt, pin_factory=factory, clock=self.clock,
                                sensors=sensors, telemetry_interval_s=self.telemetry_interval_s,
                                keys=self.access.keys, profile=profile)
                self.nodes[node.id] = edge.start(wait=wait)
                if node.profile is NodeProfile.door_node:
                    for pin in ("door_contact", "fire_input", "tamper"):  # closed door, no fire, lid on
                        factory.pin(edge.profile.pins[pin]).drive_low()
        if self.publish_grants:
            self._publish_grants(wait)
        self._thread = threading.Thread(target=self._run, name="simulator", daemon=True)
        self._thread.start()
        log.info("simulating %d spaces and %d nodes at %.0f× speed", len(self.worlds), len(self.nodes), self.clock.speed)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        for node in self.nodes.values():
            node.stop()
        for device in self._devices:
            device.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def _publish_grants(self, wait: float | None) -> None:
        """Stand in for the API: each door's signed list of the simulated members (retained)."""
        bus = MqttBus("simulator-grants", self.mqtt).start(wait=wait or 10.0)
        try:
            now = self.clock.now()
            for site in self.sites:
                for door in site.doors:
                    grants = self.access.grant_list(site.id, door.id, self.worlds[door.space], now)
                    bus.publish(topics.door_grants(site.id, door.id), grants, retain=True).wait_for_publish(5)
        finally:
            bus.stop()

    def __enter__(self) -> "BuildingSimulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- pins ---------------------------------------------------------------------------
    def door_pin(self, door_id: str):
        for node_id, edge in self.nodes.items():
            if door_id in edge.node.doors:
                return self.factories[node_id].pin(edge.profile.pins["door_contact"])
        raise KeyError(door_id)

    def pir_pin(self, space_id: str):
        for node_id, edge in self.nodes.items():
            if edge.node.profile is NodeProfile.room_node and edge.node.space == space_id:
                return self.factories[node_id].pin(edge.profile.pins["pir"])
        raise KeyError(space_id)

    def people(self, space_id: str) -> int:
        return self.worlds[space_id].people(self.clock.now())

    # -- the loop -----------------------------------------------------------------------
    def _run(self) -> None:
        writer, handle, last_minute = None, None, None
        if self.truth_csv:
            handle = open(self.truth_csv, "w", newline="")
            writer = csv.writer(handle)
            writer.writerow(["minute", "site", "space", "people"])
        try:
            while not self._stop.is_set():
                now = self.clock.now()
                self._step(now)
                minute = now.replace(second=0, microsecond=0)
                if writer and minute != last_minute:
                    for space_id, world in self.worlds.items():
                        writer.writerow([minute.isoformat(), world.site.id, space_id, world.people(now)])
                    handle.flush()
                    last_minute = minute
                if self.clock.wait(self._stop, self.STEP_S):
                    break
        except Exception:
            log.exception("simulator loop failed")
        finally:
            if handle:
                handle.close()

    def _step(self, now: datetime) -> None:
        previous = self._last_step or now
        self._last_step = now
        for space_id, world in self.worlds.items():
            world.step(now, self.STEP_S)
            people = world.people(now)
            doors = [d.id for d in world.site.doors if d.space == space_id]
            if doors:
                arrivals = [v for v in world.visits if previous < v.start <= now]
                for visit in arrivals:
                    self._badge_in(doors[0], card_number(space_id, visit))
                if arrivals:
                    self._open_door(doors[0], now)
                elif people < self._people.get(space_id, 0):
                    self._exit(doors[0])
                    self._open_door(doors[0], now)
            self._people[space_id] = people
            try:
                pir = self.pir_pin(space_id)
            except KeyError:
                continue
            if pir_fires(people, self.rng, self.STEP_S):
                pir.drive_high()
            else:
                pir.drive_low()
        for door_id, close_at in list(self._door_close_at.items()):
            if now >= close_at:
                self.door_pin(door_id).drive_low()
                del self._door_close_at[door_id]

    def _door_node(self, door_id: str) -> tuple[EdgeNode, MockFactory]:
        for node_id, edge in self.nodes.items():
            if door_id in edge.node.doors:
                return edge, self.factories[node_id]
        raise KeyError(door_id)

    def _badge_in(self, door_id: str, card: int) -> None:
        """Present a card to the door's reader with real Wiegand timing; wait for the strike."""
        edge, factory = self._door_node(door_id)
        pins = edge.profile.pins
        send_frame(factory, pins["wiegand_d0"], pins["wiegand_d1"], encode_frame(card, 26), interval_s=0.0005)
        deadline = time.monotonic() + 0.2
        while not edge.strike.is_unlocked and time.monotonic() < deadline:
            time.sleep(0.002)
        self.counters["badge_in" if edge.strike.is_unlocked else "badge_refused"] += 1

    def _exit(self, door_id: str) -> None:
        edge, factory = self._door_node(door_id)
        button = factory.pin(edge.profile.pins["exit_button"])
        button.drive_low()
        button.drive_high()

    def _open_door(self, door_id: str, now: datetime) -> None:
        if door_id not in self._door_close_at:
            self.door_pin(door_id).drive_high()
        self._door_close_at[door_id] = now + timedelta(seconds=self.DOOR_OPEN_S)
