"""Every panel, variable and alert query, macros expanded, on a real InfluxDB holding a simulated day.

InfluxDB here is Debian's 1.6 behind nginx (tests/utils/influx.py); the day is written
by the collector's own point maker and InfluxDB writer, as in production.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest

from collector.influx import InfluxSettings, InfluxWriter
from station.dashboards.alerts import RULES
from station.dashboards.queries import board_queries, expand
from tests.dashboards.simulated_day import simulate_day

DB = "dashboards"
DAY = date(2026, 11, 19)  # a Thursday
VARIABLES = {"site": "la-station", "space": "salle-correspondance"}
PLAUSIBLE = {  # what a value of each field (or its aggregate) may be
    "co2_ppm": (380, 5000), "temperature_c": (10, 35), "humidity_pct": (10, 90), "light_lux": (0, 2000),
    "people_estimate": (0, 300), "occupied": (0, 1), "reserved": (0, 1), "online": (0, 1),
    "outbox_depth": (0, 100), "uptime_s": (0, 86400 * 2), "version": None, "faults": (1, 10_000),
    "count": (0, 100_000),  # fill(0) buckets count zero
    "duration_s": (0, 24),  # summed and divided by 3600: hours of power a machine, at most a day's
}


@pytest.fixture(scope="module")
def day(influxdb, inventory, tmp_path_factory):
    simulated = simulate_day(inventory, DAY)
    influxdb.create_bucket(DB)
    writer = InfluxWriter(InfluxSettings(url=influxdb.url, bucket=DB), tmp_path_factory.mktemp("spool"))
    try:
        points = simulated.points
        for k in range(0, len(points), 5000):
            writer.write(points[k:k + 5000])
        assert len(writer.spool) == 0 and writer.rejected_batches == 0
    finally:
        writer.close()
    return simulated


def _values(series: list[dict]) -> list:
    return [v for s in series for row in s["values"] for v in row[1:] if v is not None]


def _field_of(where: str, influxql: str) -> str | None:
    """The one field a single-aggregate query reads (None for several, checked elsewhere)."""
    named = [name for name in PLAUSIBLE if f'("{name}")' in influxql]
    return named[0] if len(named) == 1 else None


@pytest.mark.parametrize("query", board_queries(), ids=lambda q: q.where)
def test_board_query_returns_plausible_series(influxdb, day, query):
    q = expand(query.influxql, start=day.start, end=day.end, variables=VARIABLES)
    series = influxdb.query(q, db=DB)
    values = _values(series)
    assert values, f"{query.where}: no data for {q}"
    field = _field_of(query.where, query.influxql)
    if field and PLAUSIBLE.get(field) and not query.influxql.startswith("SHOW"):
        low, high = PLAUSIBLE[field]
        numbers = [v for v in values if isinstance(v, (int, float))]
        assert numbers, query.where
        assert all(math.isfinite(v) for v in numbers)
        assert low <= min(numbers) and max(numbers) <= high, f"{query.where}: {min(numbers)}..{max(numbers)}"


def _last_by_series(series: list[dict]) -> dict[tuple, float]:
    out = {}
    for s in series:
        vals = [row[1] for row in s["values"] if row[1] is not None]
        if vals:
            out[tuple(sorted(s.get("tags", {}).items()))] = vals[-1]
    return out


def _evaluate(influxdb, rule_uid: str, end) -> dict[str, dict[tuple, float]]:
    rule = next(r for r in RULES if r.uid == rule_uid)
    return {q.ref: _last_by_series(influxdb.query(
        expand(q.influxql, start=end - timedelta(seconds=q.window_s), end=end, variables={}), db=DB))
        for q in rule.queries}


def test_alert_door_forced_fires_after_the_forced_door(influxdb, day):
    result = _evaluate(influxdb, "door-forced", day.incidents.forced + timedelta(seconds=30))["A"]
    assert any(dict(k)["door"] == day.incidents.door and v > 0 for k, v in result.items())
    quiet = _evaluate(influxdb, "door-forced", day.incidents.forced - timedelta(minutes=10))["A"]
    assert not quiet


def test_alert_held_open_and_fire_release(influxdb, day):
    held = _evaluate(influxdb, "door-held-open", day.incidents.held_open + timedelta(minutes=1))["A"]
    assert [v for k, v in held.items() if dict(k)["door"] == day.incidents.door] == [1]
    fire = _evaluate(influxdb, "fire-release", day.incidents.fire + timedelta(seconds=30))["A"]
    assert len(fire) >= 3 and all(v == 1 for v in fire.values())


def test_alert_denied_burst_counts_five_or_more_within_a_minute(influxdb, day):
    burst = _evaluate(influxdb, "badges-denied-burst", day.incidents.denied_burst + timedelta(seconds=40))["A"]
    assert max(burst.values()) >= 5
    later = _evaluate(influxdb, "badges-denied-burst", day.incidents.denied_burst + timedelta(minutes=3))["A"]
    assert max(later.values(), default=0) < 5


def test_alert_node_offline_sees_the_node_that_went_down(influxdb, day):
    down = _evaluate(influxdb, "node-offline", day.incidents.offline_from + timedelta(minutes=10))["A"]
    offline = {dict(k)["node"] for k, v in down.items() if v < 1}
    assert offline == {day.incidents.offline_node}


def test_alert_co2_in_an_occupied_space(influxdb, day):
    peak = influxdb.query('SELECT max("co2_ppm"), "space" FROM "telemetry"', db=DB)[0]["values"][0]
    from station.history import from_ns

    at = from_ns(int(peak[0]))
    result = _evaluate(influxdb, "co2-high-occupied", at)
    firing = [k for k, co2 in result["A"].items() if co2 > 1000 and result["B"].get(k, 0) > 0]
    assert firing, f"peak {peak[1]} ppm in {peak[2]} did not fire"


def test_machine_hours_are_the_nodes_on_time_per_machine_and_site(influxdb, day, inventory):
    query = next(q for q in board_queries() if q.where == "machines: Machine hours by site [A]")
    series = influxdb.query(expand(query.influxql, start=day.start, end=day.end, variables=VARIABLES), db=DB)
    hours = {(s["tags"]["site"], s["tags"]["machine"]): (s["values"][0][1], s["values"][0][2]) for s in series}
    assert set(hours) == {(site.id, m.id) for site, m in inventory.machines()}
    for k, (site, machine) in enumerate(inventory.machines()):  # simulated_day: 20 + 7k and 45 minutes
        assert hours[(site.id, machine.id)] == (pytest.approx((20 + 7 * k + 45) / 60), 2), machine.id
