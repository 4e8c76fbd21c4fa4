"""The database: engine, Alembic migrations at start, sessions, and the inventory seed."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from station.inventory import Inventory

from .models import DoorRow, SiteRow, SpaceRow

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


class Database:
    """One engine per app; ``session()`` is a unit of work that commits or rolls back."""

    def __init__(self, url: str):
        self.url = url
        sqlite = url.startswith("sqlite")
        self.engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30} if sqlite else {},
                                    pool_pre_ping=not sqlite)
        if sqlite:
            @event.listens_for(self.engine, "connect")
            def _pragmas(dbapi_conn, _):
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA journal_mode=WAL")
                cur.close()
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        cfg = alembic_config(self.url)
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def seed(self, inventory: Inventory) -> None:
        """Copy sites, spaces and doors from the inventory (insert or update)."""
        with self.session() as s:
            for site in inventory.sites:
                s.merge(SiteRow(id=site.id, name=site.name, timezone=site.timezone))
            s.flush()
            for site, space in inventory.spaces():
                s.merge(SpaceRow(id=space.id, site_id=site.id, name=space.name, kind=space.kind.value,
                                 capacity=space.capacity, bookable=space.bookable,
                                 max_booking_minutes=space.max_booking_minutes))
            s.flush()
            for site, door in inventory.doors():
                s.merge(DoorRow(id=door.id, site_id=site.id, space_id=door.space, name=door.name))

    @contextmanager
    def session(self) -> Iterator[Session]:
        s = self.sessions()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def dispose(self) -> None:
        self.engine.dispose()
