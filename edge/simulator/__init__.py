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
import threading
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from gpiozero.pins.mock import MockFactory

from station.clock import Clock
from station.inventory import Inventory, NodeProfile
from station.mqtt import MqttSettings

from ..devices.sensors import SensorFault
from ..node import EdgeNode, RoomSensors
from .world import SpaceWorld, pir_fires, plan_day

log = logging.getLogger(__name__)
__all__ = ["BuildingSimulator", "SpaceWorld"]


class _Co2:
    def __init__(self, world: SpaceWorld, rng: random.Random):
        self.world, self.rng, self.dead = world, rng, False

    def read_ppm(self) -> float:
        if self.dead:
            raise SensorFault("no answer from MH-Z19B")
        return round(self.world.co2_ppm + self.rng.gauss(0, 8), 1)


class _Climate:
    def __init__(self, world: SpaceWorld):
        self.world = world

    def read_climate(self) -> tuple[float, float]:
        return round(self.world.temperature_c, 2), round(self.world.humidity_pct, 1)


class _Light:
    def __init__(self, world: SpaceWorld, clock: Clock):
        self.world, self.clock = world, clock

    def read_lux(self) -> float:
        return self.world.light_lux(self.clock.now())


class BuildingSimulator:
    """Simulate sites of the inventory; their nodes publish to the broker in ``mqtt``."""

    STEP_S = 10.0
    DOOR_OPEN_S = 6.0

    def __init__(self, inventory: Inventory, mqtt: MqttSettings, *, clock: Clock,
                 sites: list[str] | None = None, seed: int = 7, truth_csv: Path | None = None,
                 telemetry_interval_s: float = 60.0, days: list[date] | None = None):
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
                    sensors = RoomSensors(co2=_Co2(world, random.Random(self.rng.random())),
                                          climate=_Climate(world), light=_Light(world, self.clock))
                edge = EdgeNode(self.inventory, node.id, self.mqtt, pin_factory=factory, clock=self.clock,
                                sensors=sensors, telemetry_interval_s=self.telemetry_interval_s)
                if node.profile is NodeProfile.door_node:
                    factory.pin(edge.profile.pins["door_contact"]).drive_low()  # doors start closed
                self.nodes[node.id] = edge.start(wait=wait)
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
        for space_id, world in self.worlds.items():
            world.step(now, self.STEP_S)
            people = world.people(now)
            doors = [d.id for d in world.site.doors if d.space == space_id]
            if people != self._people.get(space_id, 0) and doors:
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

    def _open_door(self, door_id: str, now: datetime) -> None:
        if door_id not in self._door_close_at:
            self.door_pin(door_id).drive_high()
        self._door_close_at[door_id] = now + timedelta(seconds=self.DOOR_OPEN_S)
