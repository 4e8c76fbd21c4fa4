"""The schema: Alembic migrations match the models; the audit log is append-only."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from api.db import AuditEntry, Base, Database


def test_migrations_match_the_models(database_url, inventory):
    db = Database(database_url)
    db.migrate()
    db.migrate()  # idempotent
    db.seed(inventory)
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    db.dispose()


def test_audit_entries_cannot_be_changed_or_deleted(app, client, people):
    people.create()  # enrolling a member is audited
    db = app.state.runtime.db
    with pytest.raises(PermissionError):
        with db.session() as s:
            entry = s.execute(select(AuditEntry).limit(1)).scalar_one()
            entry.action = "nothing_happened"
    with pytest.raises(PermissionError):
        with db.session() as s:
            s.delete(s.execute(select(AuditEntry).limit(1)).scalar_one())
