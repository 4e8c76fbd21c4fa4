"""`station privacy report`: per store, what is held, the oldest row, its horizon — read from
the real stores (the API's SQLite database, the collector's history and dead letters, a
node's outbox)."""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta, timezone

from api.app import create_app
from api.db.models import AuditEntry
from api.settings import ApiSettings
from collector.deadletter import DeadLetters
from edge.outbox import Outbox
from lastation.cli import app
from station.history import Point, SqliteHistory
from station.settings import MqttSettings
from tests.utils.cli import invoke


def test_report_names_every_store_its_rows_and_the_oldest(tmp_path):
    url = f"sqlite:///{tmp_path / 'api.db'}"
    now = datetime.now(timezone.utc)
    old = now - timedelta(days=120)
    api = create_app(ApiSettings(environment="development", database_url=url, mqtt=MqttSettings(enabled=False),
                                 site_key=secrets.token_hex(32)), background=False)
    with api.state.runtime.db.session() as s:
        s.add(AuditEntry(ts=old, action="access_granted", actor="node:n", event_id="e1", detail={}))
        s.add(AuditEntry(ts=now, action="access_denied", actor="node:n", event_id="e2", detail={}))
    api.state.runtime.db.engine.dispose()
    state = tmp_path / "collector"
    history = SqliteHistory(state / "history.sqlite")
    history.write([Point("event", {"kind": "access_granted", "door": "d"}, {"count": 1, "seq": 1, "id": "e1"}, old),
                   Point("occupancy", {"space": "s"}, {"occupied": 1}, old - timedelta(days=1))])
    history.close()
    letters = DeadLetters(state / "dead-letters.sqlite")
    letters.add("t", "nodes/events", "bad_json", "x", b"{", received_at=old, sender="n")
    letters.close()
    node = tmp_path / "node"
    box = Outbox(node / "outbox.sqlite3")
    box.append("event", "t", lambda seq: f'{{"ts": "{old.isoformat()}"}}'.encode())
    box.close()

    result = invoke(app, ["privacy", "report", "--json", "--edge-data-dir", str(node)],
                    env={"STATION_DATABASE_URL": url, "STATION_STATE_DIR": str(state)})

    assert result.exit_code == 0, result.output
    rows = {(r["store"], r["what"]): r for r in map(json.loads, result.output.splitlines())}
    access = rows[("database", "audit access events")]
    assert access["rows"] == 2 and access["past_horizon"] == 1 and access["horizon_days"] == 92
    assert datetime.fromisoformat(access["oldest"]) == old
    events = next(r for (store, what), r in rows.items() if store == "history (SQLite)" and "person" in what)
    assert events["rows"] == 1 and datetime.fromisoformat(events["oldest"]) == old
    assert rows[("history (SQLite)", "occupancy")]["horizon_days"] is None  # no person: kept
    dl = rows[("collector dead letters", "refused messages (excerpts)")]
    assert dl["rows"] == 1 and datetime.fromisoformat(dl["oldest"]) == old
    outbox = rows[(f"edge outbox {node / 'outbox.sqlite3'}", "undelivered events (card hashes)")]
    assert outbox["rows"] == 1 and datetime.fromisoformat(outbox["oldest"]) == old

    text = invoke(app, ["privacy", "report", "--no-collector"], env={"STATION_DATABASE_URL": url})
    assert text.exit_code == 0 and "audit access events" in text.output and "1 past it" in text.output


def test_forget_card_deletes_the_collectors_dead_letters_holding_the_hash(tmp_path):
    state = tmp_path / "collector"
    gone, kept = "ab" * 32, "cd" * 32
    letters = DeadLetters(state / "dead-letters.sqlite")
    letters.add("t", "nodes/events", "bad_json", "x", f'{{"credential_hash": "{gone}"'.encode(), sender="n")
    letters.add("t", "nodes/events", "bad_json", "y", f'{{"credential_hash": "{kept}"'.encode(), sender="n")
    letters.close()
    assert invoke(app, ["privacy", "forget-card", "nothex"]).exit_code == 2
    result = invoke(app, ["privacy", "forget-card", gone, "--state-dir", str(state)])
    assert result.exit_code == 0 and "deleted: 1" in result.output, result.output
    letters = DeadLetters(state / "dead-letters.sqlite")
    assert [letter.detail for letter in letters.latest()] == ["y"] and letters.rows == 1
    letters.close()
    assert gone.encode() not in (state / "dead-letters.sqlite").read_bytes()
