"""Room status changes fanned out to Server-Sent-Event clients.

``StatusHub.broadcast`` may be called from any thread (MQTT, sweeper, request
handlers); each connected client has an asyncio queue on the server's event loop.
A client too slow to keep up loses its oldest events, never blocks the others.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable

from fastapi.responses import StreamingResponse
from fastapi.concurrency import run_in_threadpool


class StatusHub:
    def __init__(self, queue_size: int = 256):
        self.queue_size = queue_size
        self._clients: dict[asyncio.Queue, asyncio.AbstractEventLoop] = {}
        self._lock = threading.Lock()
        self.sent = 0

    @property
    def clients(self) -> int:
        return len(self._clients)

    def connect(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(self.queue_size)
        with self._lock:
            self._clients[queue] = asyncio.get_running_loop()
        return queue

    def disconnect(self, queue: asyncio.Queue) -> None:
        with self._lock:
            self._clients.pop(queue, None)

    def close(self) -> None:
        """End every stream (the API is stopping): clients reconnect to the next instance."""
        self._deliver(None)
        with self._lock:
            self._clients = {}

    def broadcast(self, event: str, data: dict) -> None:
        frame = f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n"
        self._deliver(frame)
        self.sent += 1

    def _deliver(self, frame: str | None) -> None:
        """One wake-up per event loop (not per client), then every queue of that loop."""
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Queue]] = {}
        with self._lock:
            for queue, loop in self._clients.items():
                by_loop.setdefault(loop, []).append(queue)
        for loop, queues in by_loop.items():
            try:
                loop.call_soon_threadsafe(_put_all, queues, frame)
            except RuntimeError:  # that loop is closed: its clients are gone
                with self._lock:
                    self._clients = {q: lp for q, lp in self._clients.items() if lp is not loop}


def _put_all(queues: list[asyncio.Queue], frame: str | None) -> None:
    for queue in queues:
        _put(queue, frame)


def _put(queue: asyncio.Queue, frame: str | None) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(frame)


HEARTBEAT_S = 15.0


def event_stream(hub: StatusHub, request, allowed: Callable[[], bool] | None = None) -> StreamingResponse:
    """A hub's frames as Server-Sent Events to one client: ``hello`` first, a comment every
    ``HEARTBEAT_S`` of silence (and a check that the client is still there), until the
    client goes or the hub closes (the API is stopping). ``allowed`` (run in a worker
    thread before every frame and heartbeat) ends the stream once it says False: a
    session revoked or no longer entitled hears nothing more."""
    queue = hub.connect()

    async def events():
        try:
            yield "retry: 2000\nevent: hello\ndata: {}\n\n"
            while True:
                try:
                    frame = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
                except asyncio.TimeoutError:
                    if await request.is_disconnected():
                        break
                    frame = ": keep-alive\n\n"
                if frame is None:  # the API is stopping
                    break
                if allowed is not None and not await run_in_threadpool(allowed):
                    break
                yield frame
        finally:
            hub.disconnect(queue)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
