"""The API served over real HTTP by uvicorn in a thread, for tests that cross processes' paths
(the simulator's people, browsers): ``with ApiServer(settings, clock=clock) as api: api.url``."""

from __future__ import annotations

import threading
import time

import uvicorn

from api.app import create_app
from station.broker.dev import free_port


class ApiServer:
    def __init__(self, settings, *, clock=None, history=None, demo=None):
        self.port = free_port()
        self.app = create_app(settings, clock=clock, history=history, demo=demo)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.server.install_signal_handlers = lambda: None
        self.thread = threading.Thread(target=self.server.run, name="test-api", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def runtime(self):
        return self.app.state.runtime

    def start(self) -> "ApiServer":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the API did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def __enter__(self) -> "ApiServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
