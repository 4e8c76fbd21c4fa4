"""The API application, built by a factory so that tests build it small::

    app = create_app(ApiSettings(mqtt_port=port))

Building the app migrates the database (Alembic), seeds sites, spaces and doors from
the inventory, loads the keys (refusing insecure defaults outside development) and
creates the first administrator when asked. Starting it (lifespan) connects to MQTT
and starts the sweeper.
"""

from __future__ import annotations

import logging
import math
import tempfile
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from station import __version__
from station.clock import Clock
from station.inventory import load_inventory
from station.inventory.plan import load_plan, plan_path

from .db import Database
from .db.models import Member, MemberStatus, Role
from .demo import DemoHooks
from .fields import INPUT_RULES, declare_errors
from .keys import InsecureSettings, load_keys
from .routers import audit, auth, board_page, bookings, demo as demo_router, doors, health, members, rooms, stream
from .routers import calendars, closures, plan as plan_router, schedule
from .routers import demo_staff, nodes, offline_docs, staff, staff_audit, staff_bookings, staff_doors, staff_members
from .routers import privacy as privacy_router, privacy_page, staff_pages
from .routers import machines as machines_router, staff_machines
from .routers import history as history_router
from .messages import language, render
from .runtime import Runtime
from .security import LoginThrottle, hash_password
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
        db.exclusive(s, "bootstrap-admin")  # two instances starting together create one admin
        email = settings.admin_email.strip().lower()
        if s.execute(select(Member.id).where(Member.email == email)).first() is None:
            s.add(Member(email=email, name="Administrator", role=Role.admin, status=MemberStatus.active,
                         password_hash=hash_password(settings.admin_password), created_at=now))


def open_history(settings: ApiSettings):
    """The history store the collector writes, if the settings name one."""
    from station.history import InfluxHistory, SqliteHistory

    if settings.history_influx_url:
        return InfluxHistory(settings.history_influx_url, settings.history_influx_database,
                             token=settings.history_influx_token)
    if settings.history_sqlite:
        return SqliteHistory(settings.history_sqlite)
    return None


def floor_plan(settings: ApiSettings, inventory):
    """The plan the settings name, else the one beside the inventory if any (a bad file
    stops the start with file, line and field)."""
    path = settings.plan or plan_path(settings.inventory)
    if settings.plan is None and not path.exists():
        return None
    return load_plan(path, inventory)


def field_name(loc) -> str:
    """``title`` for ``("body", "title")``, ``spaces[2]`` for ``("body", "spaces", 2)``."""
    name = ""
    for part in loc[1:] or loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


def json_safe(value):
    """``value`` with every infinite or NaN float written as text (``"inf"``, ``"nan"``):
    Python's JSON reader turns ``1e400`` into an infinity and takes ``NaN`` / ``Infinity``,
    and a 422 that echoes such an input must still be JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


async def validation_error(request: Request, exc: RequestValidationError):
    """FastAPI's 422, with the sentences of :mod:`api.fields`' rules from :mod:`api.messages`
    in the request's language, naming the field; inputs JSON cannot hold written as text."""
    lang = language(request.headers.get("accept-language"))
    for error in exc.errors():
        if "input" in error:
            error["input"] = json_safe(error["input"])
        if error.get("type") in INPUT_RULES:
            error["msg"] = render(error["type"], lang, {**error.get("ctx", {}), "field": field_name(error["loc"])})
    return await request_validation_exception_handler(request, exc)


async def database_error(request: Request, exc: DBAPIError):
    """A failed statement: logged by its error class and SQLSTATE only — never its
    parameters nor the server's DETAIL line, which quote the values (a password hash, a
    card hash, an e-mail); the engine hides parameters too (``hide_parameters``)."""
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    log.error("database error on %s %s: %s (SQLSTATE %s)", request.method, request.url.path,
              type(exc.orig).__name__, code)
    return JSONResponse({"detail": "database error"}, status_code=500)


#: What an operation with a login dependency (:mod:`api.deps`, whose schemes the OpenAPI
#: lists as its ``security``) can answer before its handler runs: an invalid or expired
#: token (401), a suspended account or a role that does not allow it (403).
AUTH_ERRORS = {"HTTPBearer": (401, 403), "APIKeyHeader": (401, 403)}


def create_app(settings: ApiSettings | None = None, *, clock: Clock | None = None,
               background: bool = True, history=None, demo: DemoHooks | None = None) -> FastAPI:
    """``background=False`` builds the app without MQTT and sweeper (tests drive them);
    ``history`` is a :class:`station.history.History` (else from the settings, else none);
    ``demo`` are the hooks ``station demo`` lends (the badge-tapping endpoints)."""
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
    own_history = history is None
    runtime = Runtime(settings, inventory, db, keys, clock, history=history if history is not None
                      else open_history(settings), demo=demo)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        runtime.start(mqtt=settings.mqtt.enabled and background, sweeper=background)
        try:
            yield
        finally:
            runtime.stop()
            if own_history and runtime.history is not None:
                runtime.history.close()  # we opened it; a history passed in belongs to the caller

    # /docs and /redoc from assets the app serves itself (fastapi-offline ships Swagger UI
    # and ReDoc): they work on a site's LAN with no internet, where staff need them most.
    app = FastAPIOffline(title="La Station API", version=__version__, lifespan=lifespan, redoc_url=None,
                         static_url=offline_docs.ASSETS,
                         description="Rooms free now, bookings, badges and door grants of La Station.")
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.throttle = LoginThrottle.from_settings(settings)
    app.state.plan = floor_plan(settings, inventory)
    app.state.schedule_bands = {}
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "web"), name="static")
    for module in (health, auth, privacy_router, calendars, plan_router, schedule, rooms, history_router, stream, bookings, closures,
                   members, doors, audit, demo_router, staff, staff_members, staff_bookings, staff_audit, staff_doors,
                   nodes, demo_staff, staff_pages, offline_docs, privacy_page, board_page,
                   staff_machines, machines_router):  # staff first: /machines/usage before /machines/{id}
        app.include_router(module.router)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(DBAPIError, database_error)
    declare_errors(app, AUTH_ERRORS)
    return app
