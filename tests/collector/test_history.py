"""The history interface: the embedded SQLite file and InfluxDB (InfluxQL) answer alike."""

from datetime import datetime, timedelta, timezone

import pytest

from station.history import HistoryError, SqliteHistory
from station.history import Point

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
SPACE = "salle-aiguillage"


def co2(at: datetime, value: float, space: str = SPACE, node: str = "ls-salle-salle-aiguillage") -> Point:
    return Point("telemetry", {"site": "la-station", "space": space, "node": node}, {"co2_ppm": value}, at)


def readings() -> list[Point]:
    # 09:00–09:19 one reading a minute in our space (value = 500 + minute); another space too.
    points = [co2(T0 + timedelta(minutes=m), 500.0 + m) for m in range(20)]
    points += [co2(T0 + timedelta(minutes=m), 9999.0, space="atelier-bois", node="ls-salle-atelier-bois")
               for m in range(20)]
    return points


def test_series_buckets_the_mean_of_one_space_with_none_for_empty_buckets(history):
    history.write(readings())
    got = history.series(SPACE, "telemetry", "co2_ppm", T0, T0 + timedelta(minutes=30), timedelta(minutes=10))
    assert [at for at, _ in got] == [T0, T0 + timedelta(minutes=10), T0 + timedelta(minutes=20)]
    assert got[0][1] == pytest.approx(504.5) and got[1][1] == pytest.approx(514.5)
    assert got[2][1] is None


def test_series_aggregates_sum_max_count(history):
    history.write(readings())
    end = T0 + timedelta(minutes=20)
    assert history.series(SPACE, "telemetry", "co2_ppm", T0, end, timedelta(minutes=20), "max")[0][1] == 519.0
    assert history.series(SPACE, "telemetry", "co2_ppm", T0, end, timedelta(minutes=20), "count")[0][1] == 20
    total = history.series(SPACE, "telemetry", "co2_ppm", T0, end, timedelta(minutes=20), "sum")[0][1]
    assert total == pytest.approx(sum(500 + m for m in range(20)))


@pytest.mark.parametrize("space", ["o'brien", "x' OR '1'='1", "quote\"d"])
def test_a_space_name_is_a_value_never_part_of_the_query(history, space):
    history.write(readings() + [co2(T0, 42.0, space=space)])
    got = history.series(space, "telemetry", "co2_ppm", T0, T0 + timedelta(minutes=20), timedelta(minutes=20), "count")
    assert got[0][1] == 1  # its own reading, not the 40 of the other spaces


def test_writing_the_same_points_twice_counts_once(history):
    history.write(readings())
    history.write(readings())  # a replay after an outage
    got = history.series(SPACE, "telemetry", "co2_ppm", T0, T0 + timedelta(minutes=20), timedelta(minutes=20), "count")
    assert got[0][1] == 20


def test_buckets_align_on_the_epoch_like_influxql(history):
    history.write(readings())
    got = history.series(SPACE, "telemetry", "co2_ppm", T0 + timedelta(minutes=3), T0 + timedelta(minutes=9),
                         timedelta(minutes=5))
    assert [at for at, _ in got] == [T0, T0 + timedelta(minutes=5)]
    assert got[0][1] == pytest.approx(503.5)  # minutes 3 and 4 only: the range starts at 09:03
    assert got[1][1] == pytest.approx(506.5)  # minutes 5..8


@pytest.mark.parametrize("measurement, field, every, message", [
    ("telemetri", "co2_ppm", timedelta(minutes=1), "unknown measurement"),
    ("telemetry", "co2", timedelta(minutes=1), "has no field 'co2'"),
    ("event", "id", timedelta(minutes=1), "not a number"),
    ("telemetry", "co2_ppm", timedelta(milliseconds=10), "whole number of seconds"),
])
def test_bad_series_query_raises_a_readable_error(tmp_path, measurement, field, every, message):
    history = SqliteHistory(tmp_path / "h.sqlite")
    with pytest.raises(HistoryError, match=message):
        history.series(SPACE, measurement, field, T0, T0 + timedelta(hours=1), every)
    history.close()


def test_range_too_long_for_the_bucket_width_is_refused(tmp_path):
    history = SqliteHistory(tmp_path / "h.sqlite")
    with pytest.raises(HistoryError, match="buckets"):
        history.series(SPACE, "telemetry", "co2_ppm", T0, T0 + timedelta(days=30), timedelta(seconds=1))
    history.close()
