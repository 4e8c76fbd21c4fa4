"""``GET /api/v1/rooms`` throughput and SSE fan-out, against baselines measured in the same run.

1. **Rooms.** The API (full La Station inventory, SQLite, every room with an occupancy
   snapshot and a few bookings) is served by uvicorn in a child process; this process
   sends ``GET /api/v1/rooms`` from ``--clients`` keep-alive connections for
   ``--seconds``. Baseline: a bare async FastAPI endpoint returning the same JSON
   document as ready bytes, served the same way — the floor for this response.
   Reported: requests per second, p99, and the ratio (target ≥ 0.5), for anonymous
   requests (the board: served from a list kept at most 1 s and dropped on any change)
   and for a logged-in member (``member_*``: token checked in the database on every
   request, then a personalised copy of the public list serialised).
2. **SSE fan-out.** ``--sse`` clients hold ``GET /api/v1/stream`` open; an occupancy
   change is published on a real Mosquitto (as the collector does); the delay from the
   publish to each client's ``room`` event is measured, over ``--changes`` changes.

Prints one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from station.broker.dev import DevBroker, free_port, wait_for_port  # noqa: E402

NOW = datetime(2026, 6, 10, 8, 0, tzinfo=timezone.utc)  # a Wednesday, 10:00 in Saint-Omer
MEMBER_TOKEN = "st_bench-member-token"  # a throw-away database in a temporary directory


# ---------------------------------------------------------------------------- servers
def serve(kind: str, port: int, mqtt_port: int, workdir: str) -> None:
    """Child process: the API (``app``) or the bare baseline (``bare``)."""
    import uvicorn

    if kind == "bare":
        from fastapi import FastAPI, Response

        body = Path(workdir, "rooms.json").read_bytes()
        app = FastAPI()

        @app.get("/api/v1/rooms")
        async def rooms() -> Response:  # the floor: FastAPI handing out ready bytes
            return Response(body, media_type="application/json")
    else:
        app = build_api(port, mqtt_port, workdir)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1)


def build_api(port: int, mqtt_port: int, workdir: str):
    from api.app import create_app
    from api.db.models import Booking, Member, Token
    from api.security import digest
    from api.settings import ApiSettings
    from station.clock import Clock
    from station.contract import RoomOccupancy

    class Wednesday(Clock):
        t0 = time.monotonic()

        def now(self):
            return NOW + timedelta(seconds=time.monotonic() - self.t0)

    settings = ApiSettings(environment="development", database_url=f"sqlite:///{workdir}/api.db",
                           mqtt_port=mqtt_port, mqtt_client_id=f"api-bench-{port}")
    app = create_app(settings, clock=Wednesday())
    runtime = app.state.runtime
    with runtime.db.session() as s:
        member = Member(email="m@bench.test", name="M", created_at=NOW)
        s.add(member)
        s.flush()
        s.add(Token(digest=digest(MEMBER_TOKEN), member_id=member.id, kind="login", created_at=NOW,
                    expires_at=NOW + timedelta(days=1)))
        for i, (_, space) in enumerate(runtime.inventory.spaces()):
            if i % 3 == 0:
                s.add(Booking(space_id=space.id, member_id=member.id, start=NOW + timedelta(hours=2),
                              end=NOW + timedelta(hours=3), created_at=NOW))
    for i, (site, space) in enumerate(runtime.inventory.spaces()):
        runtime.occupancy.handle(f"station/v1/{site.id}/rooms/{space.id}/occupancy",
                             RoomOccupancy(ts=NOW, room=space.id, occupied=i % 2 == 0, confidence=0.9,
                                           people_estimate=float(i % 5), co2_ppm=500.0 + i).to_json())
    return app


def start(kind: str, mqtt_port: int, workdir: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--port", str(port),
                             "--mqtt-port", str(mqtt_port), "--workdir", workdir],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port("127.0.0.1", port, 60, proc)
    return proc, port


# ---------------------------------------------------------------------------- load
def load(port: int, clients: int, seconds: float, headers: dict | None = None) -> tuple[float, float]:
    """Requests per second and p99 (ms) of GET /api/v1/rooms from ``clients`` threads."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker():
        mine = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10, headers=headers or {}) as c:
            c.get("/api/v1/rooms").raise_for_status()
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                c.get("/api/v1/rooms").raise_for_status()
                mine.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(mine)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    latencies.sort()
    return len(latencies) / elapsed, latencies[int(0.99 * (len(latencies) - 1))] * 1000


async def fan_out(port: int, mqtt_port: int, n_clients: int, changes: int) -> dict:
    from station.contract import RoomOccupancy
    from station.mqtt import MqttBus, MqttSettings

    room, site = "salle-aiguillage", "la-station"
    received: dict[int, list[float]] = {k: [] for k in range(changes)}
    ready = 0
    current = {"change": -1}

    async def client(session: httpx.AsyncClient):
        nonlocal ready
        async with session.stream("GET", "/api/v1/stream") as r:
            event = None
            async for line in r.aiter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                    if event == "hello":
                        ready += 1
                elif line.startswith("data: ") and event == "room" and json.loads(line[6:])["id"] == room:
                    if current["change"] >= 0:
                        received[current["change"]].append(time.perf_counter())

    limits = httpx.Limits(max_connections=n_clients + 10, max_keepalive_connections=n_clients + 10)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=None, limits=limits) as session:
        tasks = [asyncio.create_task(client(session)) for _ in range(n_clients)]
        deadline = time.perf_counter() + 60
        while ready < n_clients and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        bus = MqttBus("bench-collector", MqttSettings(port=mqtt_port)).start()
        delays = []
        for k in range(changes):
            current["change"] = k
            t0 = time.perf_counter()
            occupied = k % 2 == 1  # the room starts occupied (index 4 is even): flip it
            bus.publish(f"station/v1/{site}/rooms/{room}/occupancy",
                        RoomOccupancy(ts=NOW + timedelta(seconds=k + 1), room=room, occupied=occupied,
                                      confidence=0.9).to_json(), qos=1, retain=True)
            end = time.perf_counter() + 20
            while len(received[k]) < ready and time.perf_counter() < end:
                await asyncio.sleep(0.005)
            delays += [t - t0 for t in received[k]]
            await asyncio.sleep(0.2)
        bus.stop()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    delays.sort()
    expected = ready * changes
    return {"sse_clients": ready, "sse_changes": changes, "sse_delivered": len(delays), "sse_expected": expected,
            "sse_p50_ms": round(delays[len(delays) // 2] * 1000, 1) if delays else None,
            "sse_p99_ms": round(delays[int(0.99 * (len(delays) - 1))] * 1000, 1) if delays else None}


# ---------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", choices=["app", "bare"])
    parser.add_argument("--port", type=int)
    parser.add_argument("--mqtt-port", type=int, default=0)
    parser.add_argument("--workdir")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--sse", type=int, default=500)
    parser.add_argument("--changes", type=int, default=10)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.mqtt_port, args.workdir)
        return
    workdir = tempfile.mkdtemp(prefix="bench-rooms-")
    with DevBroker(Path(workdir) / "mqtt") as broker:
        api, api_port = start("app", broker.port, workdir)
        try:
            document = httpx.get(f"http://127.0.0.1:{api_port}/api/v1/rooms").json()
            Path(workdir, "rooms.json").write_bytes(httpx.get(f"http://127.0.0.1:{api_port}/api/v1/rooms").content)
            bare, bare_port = start("bare", broker.port, workdir)
            try:
                bare_rps, bare_p99 = load(bare_port, args.clients, args.seconds)
            finally:
                bare.terminate()
                bare.wait()
            rps, p99 = load(api_port, args.clients, args.seconds)
            member_rps, member_p99 = load(api_port, args.clients, args.seconds,
                                          {"Authorization": f"Bearer {MEMBER_TOKEN}"})
            sse = asyncio.run(fan_out(api_port, broker.port, args.sse, args.changes))
        finally:
            api.terminate()
            api.wait()
    print(json.dumps({"bench": "api_rooms", "rooms": len(document), "clients": args.clients,
                      "rooms_rps": round(rps, 1), "rooms_p99_ms": round(p99, 1),
                      "bare_rps": round(bare_rps, 1), "bare_p99_ms": round(bare_p99, 1),
                      "ratio": round(rps / bare_rps, 2), "target_ratio": 0.5,
                      "member_rps": round(member_rps, 1), "member_p99_ms": round(member_p99, 1),
                      "member_ratio": round(member_rps / bare_rps, 2), **sse}))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
