"""The database: engine, Alembic migrations at start, sessions, and the inventory seed."""

from __future__ import annotations

import hashlib
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from station.inventory import Inventory

from .machines import MachineRow
from .models import DoorRow, SiteRow, SpaceRow

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def private_sqlite_file(path: str | None) -> None:
    """Create a SQLite database file (and its folder) readable by its owner only, before
    SQLite does; its -wal and -shm files take the same mode."""
    if not path or path == ":memory:":
        return
    file = Path(path)
    if not file.parent.exists():
        file.parent.mkdir(parents=True, mode=0o700)
    if not file.exists():
        os.close(os.open(file, os.O_WRONLY | os.O_CREAT, 0o600))


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for PostgreSQL's advisory locks."""
    return int.from_bytes(hashlib.sha256(f"la-station:{name}".encode()).digest()[:8], "big", signed=True)


class Database:
    """One engine per app; ``session()`` is a unit of work that commits or rolls back."""

    def __init__(self, url: str):
        self.url = url
        sqlite = url.startswith("sqlite")
        if sqlite:
            private_sqlite_file(make_url(url).database)
        # hide_parameters: a failed statement is logged without its values (password
        # hashes, card hashes, e-mails never reach a log).
        self.engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30} if sqlite else {},
                                    pool_pre_ping=not sqlite, hide_parameters=True)
        if sqlite:
            @event.listens_for(self.engine, "connect")
            def _pragmas(dbapi_conn, _):
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA journal_mode=WAL")
                # Deleted rows are overwritten, not left in free pages: retention and
                # erasure remove personal data from the file itself (issue 19).
                cur.execute("PRAGMA secure_delete=ON")
                cur.close()
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def close(self) -> None:
        """Close the pooled connections: a stopped API holds no database file or socket."""
        self.engine.dispose()

    def exclusive(self, conn, name: str) -> None:
        """Hold PostgreSQL's transaction-level advisory lock ``name`` until ``conn``'s
        (a Session's or Connection's) transaction ends: several API instances on one
        database take turns (migrations, the seed, a door's grant list). SQLite: nothing
        (one process writes at a time anyway)."""
        if self.postgresql:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(name)})

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (one instance at a time)."""
        cfg = alembic_config(self.url)
        with self.engine.begin() as conn:
            self.exclusive(conn, "migrate")
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def seed(self, inventory: Inventory) -> None:
        """Copy sites, spaces, doors and machines from the inventory (insert or update)."""
        with self.session() as s:
            self.exclusive(s, "seed")
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
            for site, machine in inventory.machines():  # service state kept: only what the inventory says
                row = s.get(MachineRow, machine.id)
                if row is None:
                    s.add(MachineRow(id=machine.id, site_id=site.id, space_id=machine.space, name=machine.name,
                                     out_of_order=False))
                else:
                    row.site_id, row.space_id, row.name = site.id, machine.space, machine.name

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
