"""The API application, built by a factory so that tests build it small::

    app = create_app(ApiSettings(mqtt_port=port))
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from station import __version__
from station.clock import Clock
from station.inventory import load_inventory

from .board import RoomBoard
from .routers import board_page, health, rooms
from .settings import ApiSettings


def create_app(settings: ApiSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or ApiSettings()
    inventory = load_inventory(settings.inventory)
    board = RoomBoard(inventory, clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if settings.mqtt_enabled:
            board.connect(settings.mqtt(), settings.mqtt_client_id)
        try:
            yield
        finally:
            board.close()

    app = FastAPI(title="La Station API", version=__version__, lifespan=lifespan,
                  description="Rooms free now, bookings, badges and door grants of La Station.")
    app.state.settings = settings
    app.state.inventory = inventory
    app.state.board = board
    app.state.clock = board.clock
    app.include_router(health.router)
    app.include_router(rooms.router)
    app.include_router(board_page.router)
    return app
