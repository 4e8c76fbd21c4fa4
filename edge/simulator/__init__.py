"""`station edge simulate`: every node of a site on mock pins, against a real broker.

The simulator owns a :class:`~edge.simulator.world.SpaceWorld` per space and drives the
nodes' mock pins from it (door contacts when people come and go, PIR when they move,
Wiegand frames when they badge); room nodes read simulated CO2, climate and light.
Ground truth — the true number of people per space per minute — goes to a CSV so that
occupancy estimates can be scored.

It acts like people, not like the authority: with an API (``people=ApiPeople(...)``,
see :mod:`edge.simulator.people`) its people are members of the API, book through it
and badge at doors that decide from the lists the API publishes. :meth:`present_badge`
lets a person of flesh and blood tap a simulated card at a door (``station demo``).
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

from station.access import generate_key_set, load_node_keys
from station.clock import Clock
from station.inventory import Inventory, NodeProfile, SpaceKind
from station.mqtt import MqttSettings

from ..devices.analog import LdrLight
from ..devices.mhz19 import MHZ19B
from ..devices.sht31 import SHT31
from ..devices.wiegand import encode_frame, send_frame
from ..node import EdgeNode, RoomSensors
from ..profiles import load_profile
from .fakes import FakeAdcChannel, FakeMhz19Port, FakeSht31Bus, ct_clamp_signal
from .machines import MachineUsers
from .people import ApiPeople
from .world import SpaceWorld, Visit, pir_fires, plan_day

log = logging.getLogger(__name__)
__all__ = ["ApiPeople", "BuildingSimulator", "SpaceWorld"]


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
    PEOPLE_EVERY_S = 2.0  # wall seconds between the people's rounds (bookings ahead, shop doors)

    def __init__(self, inventory: Inventory, mqtt: MqttSettings, *, clock: Clock,
                 sites: list[str] | None = None, seed: int = 7, truth_csv: Path | None = None,
                 telemetry_interval_s: float = 60.0, days: list[date] | None = None,
                 keys_dir: Path | None = None, people: ApiPeople | None = None):
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
        # What every node is given by whoever installs it: the site's public key and HMAC key.
        paths = generate_key_set(Path(keys_dir) if keys_dir else Path(self._tmp.name) / "keys")
        self.keys = load_node_keys(paths.public, paths.hmac)
        self.people_of_api = people
        self.counters: Counter[str] = Counter()
        self.idle_machines: set[str] = set()  # machine nodes whose machine is left idle (idle cut)
        self.machine_users = MachineUsers(self, random.Random(self.rng.random()))
        self._badged: set[tuple] = set()  # (space, visit) whose holder already badged (present_badge)
        self._released_doors: set[str] = set()
        self._world_lock = threading.RLock()
        self._reader_lock = threading.Lock()
        self._people_thread: threading.Thread | None = None
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
                sensors, adc = None, None
                if node.profile is NodeProfile.machine_node:  # draws its working current while powered
                    adc = FakeAdcChannel(ct_clamp_signal(lambda n=node.id: self._machine_amps(n)))
                if node.profile is NodeProfile.room_node:
                    world = self.worlds[node.space]
                    port = _Co2Port(world, random.Random(self.rng.random()))
                    self.co2_ports[node.space] = port
                    ldr = FakeAdcChannel(lambda w=world: LdrLight.fraction_for_lux(w.light_lux(self.clock.now())))
                    climate = SHT31(FakeSht31Bus(lambda w=world: (w.temperature_c, w.humidity_pct)), wait_s=0)
                    sensors = RoomSensors(co2=MHZ19B(port), climate=climate,
                                          light=LdrLight(ldr))
                profile = load_profile(node.profile.value)
                # A wide Wiegand frame gap: the simulator shares a busy machine, and a frame
                # split by a scheduling pause would turn a member's badge into a forced door.
                profile = profile.model_copy(update={"options": {**profile.options, "wiegand_frame_gap_s": 0.03}})
                edge = EdgeNode(self.inventory, node.id, self.mqtt, pin_factory=factory, clock=self.clock,
                                sensors=sensors, telemetry_interval_s=self.telemetry_interval_s,
                                keys=self.keys, profile=profile, adc=adc)
                self.nodes[node.id] = edge.start(wait=wait)
                if node.profile is NodeProfile.machine_node:  # E-stop chain closed, extraction running
                    for pin in ("estop", "extraction"):
                        factory.pin(edge.profile.pins[pin]).drive_low()
                if node.profile is NodeProfile.door_node:
                    for pin in ("door_contact", "fire_input", "tamper"):  # closed door, no fire, lid on
                        factory.pin(edge.profile.pins[pin]).drive_low()
        if self.people_of_api is not None:  # members of the API before the first visit
            started = time.monotonic()
            self.people_of_api.setup(self.worlds, self.clock.now())
            self.people_of_api.book_upcoming(self.worlds, self.clock.now())
            log.info("%d simulated people enrolled through the API in %.1f s", len(self.people_of_api.people),
                     time.monotonic() - started)
        self._thread = threading.Thread(target=self._run, name="simulator", daemon=True)
        self._thread.start()
        if self.people_of_api is not None:
            self._people_thread = threading.Thread(target=self._people_loop, name="simulator-people", daemon=True)
            self._people_thread.start()
        log.info("simulating %d spaces and %d nodes at %.0f× speed", len(self.worlds), len(self.nodes), self.clock.speed)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        if self._people_thread:
            self._people_thread.join(timeout=15)
        for node in self.nodes.values():
            node.stop()
        for device in self._devices:
            device.close()
        if self.people_of_api is not None:
            self.people_of_api.close()
        if self._tmp is not None:
            self._tmp.cleanup()

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
        with self._world_lock:
            for space_id, world in self.worlds.items():
                doors = [d.id for d in world.site.doors if d.space == space_id]
                arrivals = [v for v in world.visits if previous < v.start <= now]
                admitted = [v for v in arrivals if self._arrive(world, v, doors[0] if doors else None)]
                if world.space.kind is SpaceKind.fablab:
                    for visit in admitted:
                        self.machine_users.arrived(world, visit, now)
                world.step(now, self.STEP_S)
                people = world.people(now)
                if doors:
                    if admitted:
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
        self.machine_users.step(now)
        for door_id, close_at in list(self._door_close_at.items()):
            if now >= close_at:
                self.door_pin(door_id).drive_low()
                self._door_close_at.pop(door_id, None)

    def _arrive(self, world: SpaceWorld, visit: Visit, door: str | None) -> bool:
        """Someone comes for ``visit``: badge (or not) at the door; False if they turn away."""
        people = self.people_of_api
        if (world.space.id, visit) in self._badged or door is None:
            return True
        if people is None:  # no API: nobody badges, the request-to-exit button stands in
            self._exit(door)
            return True
        if not people.expects(world, visit):  # no booking (refused, or a no-show)
            world.visits.remove(visit)
            self.counters["visit_without_booking"] += 1
            return False
        if door in self._released_doors:  # the shop's door during opening hours
            return True
        card = people.card_for(world, visit)
        if card is None or not self._badge_in(door, card):
            world.visits.remove(visit)  # turned away at the door
            return False
        return True

    def _door_node(self, door_id: str) -> tuple[EdgeNode, MockFactory]:
        for node_id, edge in self.nodes.items():
            if door_id in edge.node.doors:
                return edge, self.factories[node_id]
        raise KeyError(door_id)

    def _badge_in(self, door_id: str, card: str | int) -> bool:
        """Present a card to the door's reader with real Wiegand timing; True if the door admitted it."""
        edge, factory = self._door_node(door_id)
        pins = edge.profile.pins
        controller = edge.controllers[door_id]
        with self._reader_lock:  # one card at a time at a reader: two frames must not run together
            before = controller.counters["granted"], controller.counters["denied"] + controller.counters["denied_locked_out"]
            card = int(card)
            bits = 26 if card < 1 << 24 else 34  # the reader's formats; wider: ValueError before any pulse
            send_frame(factory, pins["wiegand_d0"], pins["wiegand_d1"], encode_frame(card, bits), interval_s=0.0005)
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline:
                now = controller.counters["granted"], controller.counters["denied"] + controller.counters["denied_locked_out"]
                if now != before:
                    break
                time.sleep(0.002)
            granted = controller.counters["granted"] > before[0]
        self.counters["badge_in" if granted else "badge_refused"] += 1
        return granted

    # -- a person of flesh and blood ----------------------------------------------------
    def present_badge(self, door_id: str, card_number: str, *, stay: timedelta = timedelta(minutes=45)) -> bool:
        """Tap a card at a door (``station demo``); if the door opens, the person walks in
        and stays ``stay`` (the room's PIR, CO2 and door then tell the collector)."""
        self._door_node(door_id)  # KeyError: no such door here
        granted = self._badge_in(door_id, card_number)
        if granted:
            _, door = self.inventory.door(door_id)
            now = self.clock.now()
            # Through the door at once, while the strike is released (at 10× its 5 s are half
            # a real second; the next step, or a wait for the world's lock, may come later:
            # the node would see a forced door).
            self._open_door(door_id, now)
            with self._world_lock:
                visit = Visit(now, now + stay, 1)
                self._badged.add((door.space, visit))
                self.worlds[door.space].visits.append(visit)
        return granted

    def _machine_amps(self, node_id: str) -> float:
        """A powered machine works (3 A) until its user leaves it idle (``idle_machines``)."""
        edge = self.nodes.get(node_id)
        if edge is None or edge.machine is None or not edge.machine.powered or node_id in self.idle_machines:
            return 0.02
        return 3.0

    def present_machine_badge(self, machine_id: str, card_number: str) -> bool:
        """Tap a card at a machine's reader (``station demo``); True if its relay is then on."""
        node_id = next((n for n, e in self.nodes.items() if machine_id in e.node.machines), None)
        if node_id is None:
            raise KeyError(machine_id)
        edge, factory = self.nodes[node_id], self.factories[node_id]
        with self._reader_lock:
            send_frame(factory, edge.profile.pins["wiegand_d0"], edge.profile.pins["wiegand_d1"],
                       encode_frame(int(card_number), 26), interval_s=0.0005)
            time.sleep(0.1)  # the frame closes after 30 ms of silence here
        self.counters["machine_badge"] += 1
        return edge.machine.powered

    # -- the people's own time: bookings ahead, staff opening the shop --------------------
    def _people_loop(self) -> None:
        people = self.people_of_api
        while not self._stop.is_set():
            now = self.clock.now()
            try:
                with self._world_lock:
                    people.book_upcoming(self.worlds, now)
                self._staff_doors(now)
            except Exception:  # the API restarting: try again next round
                log.exception("simulated people: round failed")
            if self._stop.wait(self.PEOPLE_EVERY_S):
                return

    def _staff_doors(self, now: datetime) -> None:
        """Staff release the ticket office's and the shop's doors while they are open."""
        for site in self.sites:
            for door in site.doors:
                _, space = self.inventory.space(door.space)
                if space.kind not in (SpaceKind.ticket_office, SpaceKind.shop):
                    continue
                hours = self.inventory.opening_hours(space.id)
                local = now.astimezone(ZoneInfo(site.timezone))
                open_now = hours.is_open(local.weekday(), local.time())
                if open_now and door.id not in self._released_doors:
                    if self.people_of_api.staff_door(door.id, "release"):
                        self._released_doors.add(door.id)
                elif not open_now and door.id in self._released_doors:
                    if self.people_of_api.staff_door(door.id, "normal"):
                        self._released_doors.discard(door.id)

    def _exit(self, door_id: str) -> None:
        edge, factory = self._door_node(door_id)
        button = factory.pin(edge.profile.pins["exit_button"])
        button.drive_low()
        button.drive_high()

    def _open_door(self, door_id: str, now: datetime) -> None:
        if door_id not in self._door_close_at:
            self.door_pin(door_id).drive_high()
        self._door_close_at[door_id] = now + timedelta(seconds=self.DOOR_OPEN_S)
