"""Strings a node may send (reason, version, config hash) reach the history as sent: no
line-protocol injection, no point refused for a character JSON allows."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from station.contract import topics

SITE, NODE, SPACE = "la-station", "ls-salle-salle-aiguillage", "salle-aiguillage"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
REASONS = ["line\nevent,kind=motion,node=x seq=1i,count=1i 0", "trailing\\", '"quoted" \\"', "nul\x00byte",
           "cr\r\nlf", "porte 🚪 é", "x=1,y=2 z", "\\\n\\", "\t", "\u2028\u2029", " "]


@pytest.fixture()
def collector(unconnected_collector):
    return unconnected_collector


def test_every_string_json_allows_is_stored_as_sent(collector, request):
    for k, reason in enumerate(REASONS):
        payload = json.dumps({"v": 1, "ts": (T0 + timedelta(seconds=k)).isoformat(), "id": f"evt-strings-{k:04d}",
                              "seq": k, "node": NODE, "kind": "motion", "space": SPACE, "reason": reason})
        collector.handle(topics.node_events(SITE, NODE), payload.encode())
    status = {"v": 1, "ts": T0.isoformat(), "node": NODE, "state": "online", "version": REASONS[0] + "\\",
              "config_hash": "a" * 8000 + '"\\'}
    collector.handle(topics.node_status(SITE, NODE), json.dumps(status).encode())
    collector.store.run_pending()
    assert sum(collector.rejected.values()) == 0
    end, hour = T0 + timedelta(hours=1), timedelta(hours=1)
    assert [v for _, v in collector.history.series(None, "event", "count", T0, end, hour, "count")] == [len(REASONS)]
    assert [v for _, v in collector.history.series(None, "node_status", "online", T0, end, hour, "count")] == [1]
    if "influxdb" in request.node.callspec.id:
        server, bucket = request.getfixturevalue("influxdb"), collector.history.database
        rows = server.query('SELECT "reason" FROM "event" ORDER BY time', db=bucket)[0]["values"]
        assert [r[1] for r in rows] == REASONS
        [[_, version, config_hash]] = server.query('SELECT "version", "config_hash" FROM "node_status"',
                                                  db=bucket)[0]["values"]
        assert (version, config_hash) == (status["version"], status["config_hash"])
