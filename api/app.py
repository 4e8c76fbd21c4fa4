"""The API application, built by a factory so that tests build it small::

    app = create_app(ApiSettings(mqtt_port=port))

Building the app migrates the database (Alembic), seeds sites, spaces and doors from
the inventory, loads the keys (refusing insecure defaults outside development) and
creates the first administrator when asked. Starting it (lifespan) connects to MQTT
and starts the sweeper.
"""

from __future__ import annotations

import logging
import tempfile
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import select

from station import __version__
from station.clock import Clock
from station.inventory import load_inventory

from .db import Database
from .db.models import Member, MemberStatus, Role
from .keys import InsecureSettings, load_keys
from .routers import audit, auth, board_page, bookings, doors, health, members, rooms, stream
from .routers import history as history_router
from .security import LoginThrottle, hash_password
from .service import Station
from .settings import ApiSettings

log = logging.getLogger(__name__)


def database_url(settings: ApiSettings) -> str:
    if settings.database_url:
        return settings.database_url
    if not settings.development:
        raise InsecureSettings("STATION_DATABASE_URL is required outside development")
    path = Path(tempfile.mkdtemp(prefix="station-api-")) / "station.db"
    log.warning("development mode: throw-away database %s", path)
    return f"sqlite:///{path}"


def bootstrap_admin(db: Database, settings: ApiSettings, now) -> None:
    if not (settings.admin_email and settings.admin_password):
        return
    with db.session() as s:
        email = settings.admin_email.strip().lower()
        if s.execute(select(Member.id).where(Member.email == email)).first() is None:
            s.add(Member(email=email, name="Administrator", role=Role.admin.value, status=MemberStatus.active.value,
                         password_hash=hash_password(settings.admin_password), created_at=now))


def open_history(settings: ApiSettings):
    """The collector's history store, if the settings name one."""
    from collector.history import InfluxHistory, SqliteHistory

    if settings.history_influx_url:
        return InfluxHistory(settings.history_influx_url, settings.history_influx_database,
                             token=settings.history_influx_token)
    if settings.history_sqlite:
        return SqliteHistory(settings.history_sqlite)
    return None


def create_app(settings: ApiSettings | None = None, *, clock: Clock | None = None,
               background: bool = True, history=None) -> FastAPI:
    """``background=False`` builds the app without MQTT and sweeper (tests drive them);
    ``history`` is a :class:`collector.history.History` (else from the settings, else none)."""
    settings = settings or ApiSettings()
    if settings.environment is None:
        log.warning("STATION_ENVIRONMENT is not set: development mode (set it to production in a deployment)")
    clock = clock or Clock()
    inventory = load_inventory(settings.inventory)
    keys = load_keys(settings)
    db = Database(database_url(settings))
    db.migrate()
    db.seed(inventory)
    bootstrap_admin(db, settings, clock.now())
    station = Station(settings, inventory, db, keys, clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        station.start(mqtt=settings.mqtt_enabled and background, sweeper=background)
        try:
            yield
        finally:
            station.stop()
            if history is None and app.state.history is not None:
                app.state.history.close()  # we opened it; a history passed in belongs to the caller

    app = FastAPI(title="La Station API", version=__version__, lifespan=lifespan,
                  description="Rooms free now, bookings, badges and door grants of La Station.")
    app.state.settings = settings
    app.state.inventory = inventory
    app.state.station = station
    app.state.clock = clock
    app.state.history = history if history is not None else open_history(settings)
    app.state.throttle = LoginThrottle(settings.login_max_failures, timedelta(seconds=settings.login_window_s))
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "web"), name="static")
    for module in (health, auth, rooms, history_router, stream, bookings, members, doors, audit, board_page):
        app.include_router(module.router)
    return app
