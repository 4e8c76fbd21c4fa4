"""`station demo`: the whole system on one machine, on embedded defaults.

A local Mosquitto (the project's development config), the API with its board, the
collector, and the simulated La Station on mock pins with an accelerated clock — whose
people are members of the API: they book through it and badge at doors that decide
from the lists the API signs and publishes. A person at the board can log in as the
printed member, book a room, tap their badge at its door ("Présenter mon badge") and
watch the door open, the booking check in and the room turn occupied.

Stopping (Ctrl-C or SIGTERM) takes a few seconds: the simulator, the collector and the
API stop first, the broker last, and the working directory — keys included — is removed.
"""

from __future__ import annotations

import logging
import random
import secrets
import shutil
import signal
import socket
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from station.broker.dev import DevBroker
from station.clock import AcceleratedClock, weekday_morning
from station.inventory import Inventory
from station.settings import MqttSettings

log = logging.getLogger("lastation.demo")
DEMO_ADMIN = "admin@la-station.demo"
DEMO_MEMBER = "camille@la-station.demo"
#: A speed at which a person can follow a booking: an hour lasts 6 minutes, a booking
#: nobody badges into is released 90 s after its start (15 simulated minutes), a login
#: (12 h) lasts 72 minutes.
DEFAULT_SPEED = 10.0


def demo_start(inventory: Inventory, today: datetime | None = None) -> datetime:
    """09:30 local on the latest weekday, so the simulated building is busy from the start."""
    return weekday_morning(inventory.sites[0].timezone, today)


class DemoLink:
    """What the demo lends the API (:class:`api.demo.DemoHooks`): the simulator's hands."""

    def __init__(self):
        self.simulator = None
        self.people = None

    def present_badge(self, door: str, card_number: str) -> None:
        threading.Thread(target=self.simulator.present_badge, args=(door, card_number), daemon=True).start()

    def present_machine_badge(self, machine: str, card_number: str) -> None:
        if not any(machine in e.node.machines for e in self.simulator.nodes.values()):
            raise KeyError(machine)
        threading.Thread(target=self.simulator.present_machine_badge, args=(machine, card_number),
                         daemon=True).start()

    def cards_of(self, email: str) -> list[str]:
        return self.people.cards_of(email) if self.people else []

    def stop_node(self, node_id: str) -> None:
        node = self.simulator.nodes[node_id]  # KeyError: no such node
        # The node stays in the simulator (its mock pins still answer the simulated people;
        # a stopped node hears nothing) and is stopped again, harmlessly, with the demo.
        threading.Thread(target=node.stop, name=f"demo-stop-{node_id}", daemon=True).start()


class PortTaken(RuntimeError):
    """A port the demo needs is in use (another demo, a service already on it)."""


def ports_free(host: str, port: int, mqtt_port: int | None) -> None:
    """Raise :class:`PortTaken` naming the option to change when a port is in use."""
    for number, option in ((port, "--port"), (mqtt_port, "--mqtt-port")):
        if number is None:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn and Mosquitto bind
            try:
                probe.bind((host, number))
            except OSError as exc:
                raise PortTaken(f"{host}:{number} is already in use ({exc.strerror}): another demo, or another "
                                f"service, is on it. Stop it, or choose another port: station demo {option} "
                                f"{number + 1} (make demo DEMO_ARGS='{option} {number + 1}').") from None


def run_demo(inventory_path: Path, *, port: int = 8000, mqtt_port: int | None = None, speed: float = DEFAULT_SPEED,
             duration_s: float | None = None, host: str = "127.0.0.1", truth_csv: Path | None = None) -> None:
    import uvicorn

    from api.app import create_app
    from api.settings import ApiSettings
    from collector.service import Collector
    from edge.simulator import ApiPeople, BuildingSimulator
    from station.access import generate_key_set
    from station.inventory import load_inventory

    ports_free(host, port, mqtt_port)  # before anything starts: a clear refusal, nothing to undo
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    inventory = load_inventory(inventory_path)
    clock = AcceleratedClock(demo_start(inventory), speed)
    work = Path(tempfile.mkdtemp(prefix="station-demo-"))
    work.chmod(0o700)
    broker = collector = simulator = server = thread = None
    try:
        broker = DevBroker(work / "mosquitto", mqtt_port).start()
        # One key set for the whole demo, made now and gone with it: the API signs with it,
        # the simulated doors are given its public and HMAC keys, as an installer would.
        keys = generate_key_set(work / "keys")
        admin_password, member_password = secrets.token_urlsafe(12), secrets.token_urlsafe(9)
        collector = Collector(inventory, MqttSettings(port=broker.port, client_id="collector"), clock=clock,
                              state_dir=work / "collector", engine_process=True).start()
        link = DemoLink()
        settings = ApiSettings(inventory=inventory_path, mqtt=MqttSettings(port=broker.port, client_id="api"),
                               environment="development", database_url=f"sqlite:///{work / 'api.sqlite'}",
                               signing_key_file=keys.private, site_key_file=keys.hmac, admin_email=DEMO_ADMIN,
                               admin_password=admin_password)
        app = create_app(settings, clock=clock, history=collector.history, demo=link)
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
        server.install_signal_handlers = lambda: None  # ours, above: one way to stop everything
        thread = threading.Thread(target=server.run, name="api", daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not server.started:
            raise RuntimeError(f"the API did not start on {host}:{port} (is the port taken?)")
        people = ApiPeople(f"http://{host}:{port}", DEMO_ADMIN, admin_password, inventory, rng=random.Random(7),
                           demo_email=DEMO_MEMBER, demo_password=member_password)
        simulator = BuildingSimulator(inventory, MqttSettings(port=broker.port), clock=clock, truth_csv=truth_csv,
                                      keys_dir=work / "keys", people=people).start()
        link.simulator, link.people = simulator, people
        tz = ZoneInfo(inventory.sites[0].timezone)
        print(f"La Station demo: broker mqtt://127.0.0.1:{broker.port}, simulated clock at {speed:g}× "
              f"from {clock.now().astimezone(tz):%A %H:%M}", flush=True)
        print(f"Board: http://{host}:{port}/   Staff: http://{host}:{port}/staff/   API: http://{host}:{port}/docs"
              "   (Ctrl-C to stop)", flush=True)
        print(f"Staff login for this run: {DEMO_ADMIN} / {admin_password}", flush=True)
        print(f"Member login for this run: {DEMO_MEMBER} / {member_password} (badge {people.cards_of(DEMO_MEMBER)[0]})",
              flush=True)
        print(f"At {speed:g}×: an hour lasts {60 / speed:g} min; a booking nobody badges into is released "
              f"{15 * 60 / speed:.0f} s after its start; a login lasts {12 * 60 / speed:.0f} min.", flush=True)
        # In short waits: a signal the kernel hands to another thread runs our handler only
        # when the main thread next wakes (a wait without end then never ended; 1 demo stop
        # in 4 hung under load).
        until = None if duration_s is None else time.monotonic() + duration_s
        while not stop.wait(0.2) and (until is None or time.monotonic() < until):
            pass
    finally:
        if server is not None:
            server.should_exit = True
        if simulator is not None:
            simulator.stop()
        if thread is not None:
            thread.join(5)
        if collector is not None:
            collector.stop()
        if broker is not None:
            broker.close()
        shutil.rmtree(work, ignore_errors=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        print("La Station demo stopped.", flush=True)
