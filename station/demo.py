"""`station demo`: the whole system on one machine, on embedded defaults.

A local Mosquitto (the project's development config), the simulated La Station on mock
pins with an accelerated clock, the collector, and the API with its board page.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
import threading
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from station.broker.dev import DevBroker
from station.clock import AcceleratedClock
from station.inventory import Inventory
from station.mqtt import MqttSettings

log = logging.getLogger("station.demo")
DEMO_ADMIN = "admin@la-station.demo"


def demo_start(inventory: Inventory, today: datetime | None = None) -> datetime:
    """09:30 local on the latest weekday, so the simulated building is busy from the start."""
    tz = ZoneInfo(inventory.sites[0].timezone)
    day = (today or datetime.now(tz)).astimezone(tz).date()
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return datetime.combine(day, time(9, 30), tzinfo=tz)


def run_demo(inventory_path: Path, *, port: int = 8000, mqtt_port: int | None = None, speed: float = 60.0,
             duration_s: float | None = None, host: str = "127.0.0.1", truth_csv: Path | None = None) -> None:
    import uvicorn

    from api.app import create_app
    from api.settings import ApiSettings
    from collector.service import Collector
    from edge.simulator import BuildingSimulator
    from station.inventory import load_inventory

    from edge.keys import generate_dev_keys

    inventory = load_inventory(inventory_path)
    clock = AcceleratedClock(demo_start(inventory), speed)
    with tempfile.TemporaryDirectory(prefix="station-demo-") as workdir, DevBroker(Path(workdir), mqtt_port) as broker:
        work = Path(workdir)
        mqtt = MqttSettings(port=broker.port)
        # One development key set for the whole demo, made now and gone with it: the API
        # and the simulator sign grant lists with it, the simulated doors verify them.
        keys = generate_dev_keys(work / "keys")
        admin_password = secrets.token_urlsafe(12)
        collector = Collector(inventory, mqtt, clock=clock, state_dir=work / "collector").start()
        # The simulator signs the grant lists of its simulated members' planned visits, so
        # the API computes lists without publishing them (both would own the same doors).
        simulator = BuildingSimulator(inventory, mqtt, clock=clock, truth_csv=truth_csv,
                                      keys_dir=work / "keys").start()
        settings = ApiSettings(inventory=inventory_path, mqtt_port=broker.port, environment="development",
                               database_url=f"sqlite:///{work / 'api.sqlite'}", signing_key_file=keys["private"],
                               site_key_file=keys["hmac"], admin_email=DEMO_ADMIN, admin_password=admin_password,
                               publish_grants=False)
        app = create_app(settings, clock=clock, history=collector.history)
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
        if duration_s:
            timer = threading.Timer(duration_s, lambda: setattr(server, "should_exit", True))
            timer.daemon = True
            timer.start()
        print(f"La Station demo: broker mqtt://127.0.0.1:{broker.port}, simulated clock at {speed:g}× "
              f"from {clock.now().astimezone(ZoneInfo(inventory.sites[0].timezone)):%A %H:%M}", flush=True)
        print(f"Board: http://{host}:{port}/   API: http://{host}:{port}/api/v1/rooms   "
              f"Docs: http://{host}:{port}/docs   (Ctrl-C to stop)", flush=True)
        print(f"Staff login for this run: {DEMO_ADMIN} / {admin_password}", flush=True)
        try:
            server.run()
        except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C once it has shut down
            pass
        finally:
            simulator.stop()
            collector.stop()
            print("La Station demo stopped.", flush=True)
