"""The API killed (SIGKILL, no goodbye) while a door's events pour in, then started again on
the same broker session: every event the broker took is audited exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import paho.mqtt.client as paho
import pytest
from sqlalchemy import create_engine, text

from station.access import generate_key_set
from station.broker.dev import free_port
from station.contract import EventKind, NodeEvent
from tests.conftest import wait_until

pytestmark = pytest.mark.mosquitto
NODE, DOOR, ROOM = "ls-porte-salle-aiguillage", "porte-salle-aiguillage", "salle-aiguillage"
EVENTS = f"station/v1/la-station/nodes/{NODE}/events"
ROOT = Path(__file__).resolve().parents[2]
RUN = ("import sys, uvicorn; from api.app import create_app; "
       "uvicorn.run(create_app(), host='127.0.0.1', port=int(sys.argv[1]), log_level='warning')")


def start_api(env: dict, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", RUN, str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the API did not start: {proc.stderr.read().decode()[-3000:]}")
        time.sleep(0.1)


def test_every_event_is_audited_once_across_a_kill_and_a_restart(broker, database_url, tmp_path):
    keys = generate_key_set(tmp_path / "keys")
    env = {**os.environ, "STATION_ENVIRONMENT": "production", "STATION_DATABASE_URL": database_url,
           "STATION_SIGNING_KEY_FILE": str(keys.private), "STATION_SITE_KEY_FILE": str(keys.hmac),
           "STATION_ADMIN_EMAIL": "admin@la-station.test", "STATION_ADMIN_PASSWORD": "admin-password-123",
           "STATION_MQTT_PORT": str(broker.port), "STATION_MQTT_CLIENT_ID": "api-killed"}
    engine = create_engine(database_url)

    def audited() -> tuple[int, int]:
        with engine.connect() as conn:
            return tuple(conn.execute(text("SELECT count(*), count(DISTINCT event_id) FROM audit "
                                           "WHERE event_id LIKE 'evt-kill-%'")).one())
    port = free_port()
    api = start_api(env, port)
    node = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=NODE, protocol=paho.MQTTv5)
    node.connect("127.0.0.1", broker.port)
    node.loop_start()
    total = 400
    try:
        sent = []
        for n in range(total):
            event = NodeEvent(ts=datetime.now(timezone.utc), id=f"evt-kill-{n:05d}", seq=n + 1, node=NODE,
                              kind=EventKind.access_denied, door=DOOR, space=ROOM, reason="unknown_card",
                              credential_hash=f"{n:064x}")
            sent.append(node.publish(EVENTS, event.to_json(), qos=1))
            if n == 40:
                wait_until(lambda: audited()[0] > 0, timeout=10)
        for info in sent:
            info.wait_for_publish(10)  # the broker took every one (PUBACK)
        done = audited()[0]
        assert done < total, "the API was too fast for this test: nothing left in flight"
        api.send_signal(signal.SIGKILL)
        api.wait(10)
        api = start_api(env, port)
        wait_until(lambda: audited()[0] >= total, timeout=60)
        time.sleep(1.5)  # redeliveries, if any, would land now
        assert audited() == (total, total)
    finally:
        node.loop_stop()
        node.disconnect()
        api.kill()
        api.wait(10)
        engine.dispose()
