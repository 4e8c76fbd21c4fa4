"""Writing to InfluxDB: line protocol read back by a real InfluxDB, the spool, `station influx setup`."""

import itertools
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.influx import InfluxSettings, InfluxWriter, line
from station.history import Point, PointRejected
from collector.spool import Spool
from lastation.cli import app
from tests.utils.cli import flat, invoke
from tests.utils.influx_v2_api import InfluxV2Api

T0 = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=timezone.utc)
_n = itertools.count()


def test_line_protocol_escapes_tags_and_strings_and_types_fields():
    p = Point("event", {"site": "la station", "node": "n,1", "door": "", "kind": "a=b"},
              {"seq": 3, "count": 1, "id": 'x"y\\z', "reason": "ok"}, T0)
    assert line(p) == ('event,kind=a\\=b,node=n\\,1,site=la\\ station seq=3i,count=1i,id="x\\"y\\\\z",reason="ok" '
                       '1772442000123456000')


def reference_line(point: Point) -> str:
    """Line protocol spelled out from InfluxDB's reference, for the cached builder to match."""
    def key(text):
        return text.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")

    def value(v):
        if isinstance(v, bool) or isinstance(v, int):
            return f"{int(v)}i"
        if isinstance(v, float):
            return repr(v)
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    head = point.measurement.replace(",", "\\,").replace(" ", "\\ ")
    head += "".join(f",{key(k)}={key(v)}" for k, v in sorted(point.tags.items()) if v)
    fields = ",".join(f"{key(k)}={value(v)}" for k, v in point.fields.items())
    delta = point.time - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return f"{head} {fields} {delta // timedelta(microseconds=1) * 1000}"


_text = st.text(st.sampled_from("ab-, =\\\"é"), min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["telemetry", "event", "m x,y"]),
                          st.dictionaries(st.sampled_from(["site", "space", "node", "a b", "k=v"]),
                                          st.one_of(st.just(""), _text), max_size=4),
                          st.dictionaries(_text, st.one_of(st.integers(-2**63, 2**63 - 1), st.booleans(),
                                                           st.floats(allow_nan=False, allow_infinity=False),
                                                           _text), min_size=1, max_size=4),
                          st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1))),
                min_size=1, max_size=5))
def test_line_protocol_with_remembered_heads_is_the_reference_line_protocol(rows):
    """The same tag sets again and again (the builder remembers their heads), and new ones."""
    for _ in range(2):
        for measurement, tags, fields, at in rows:
            point = Point(measurement, tags, fields, at.replace(tzinfo=timezone.utc))
            assert line(point) == reference_line(point)


def test_points_written_through_nginx_come_back_with_their_types(influxdb, tmp_path):
    bucket = influxdb.create_bucket(f"types_{next(_n)}")
    writer = InfluxWriter(InfluxSettings(url=influxdb.url, bucket=bucket), tmp_path / "spool")
    writer.write([Point("event", {"site": "la-station", "node": "ls-x", "kind": "motion", "space": "salle a"},
                        {"seq": 7, "count": 1, "id": 'evt "quoted"'}, T0),
                  Point("telemetry", {"site": "la-station", "space": "salle-a", "node": "ls-x"},
                        {"co2_ppm": 612.5, "faults": 0}, T0)])
    writer.close()
    [event] = influxdb.query('SELECT * FROM "event"', db=bucket)
    row = dict(zip(event["columns"], event["values"][0]))
    assert row["time"] == 1772442000123456000  # nanoseconds kept through the translation
    assert (row["seq"], row["id"], row["space"]) == (7, 'evt "quoted"', "salle a")
    keys = influxdb.query('SHOW FIELD KEYS FROM "telemetry"', db=bucket)[0]["values"]
    assert dict(map(tuple, keys)) == {"co2_ppm": "float", "faults": "integer"}


def test_spool_keeps_batches_in_order_across_a_restart(tmp_path):
    spool = Spool(tmp_path)
    for k in range(3):
        spool.push(f"batch {k}".encode())
    (tmp_path / "000000000099.tmp").write_bytes(b"half-written")  # a crash mid-write
    reopened = Spool(tmp_path)
    assert len(reopened) == 3 and not list(tmp_path.glob("*.tmp"))
    path, data = reopened.oldest()
    assert data == b"batch 0"
    reopened.pop(path)
    assert reopened.oldest()[1] == b"batch 1"
    assert reopened.push(b"batch 3").name == "000000000003.lp"


def test_writer_spools_when_influxdb_is_unreachable_and_replays_in_order(tmp_path, influxdb):
    bucket = influxdb.create_bucket(f"replay_{next(_n)}")
    dead = InfluxSettings(url="http://127.0.0.1:9", bucket=bucket, retries=0, replay_every_s=3600)
    writer = InfluxWriter(dead, tmp_path / "spool")
    for k in range(3):
        writer.write([Point("telemetry", {"space": "s"}, {"co2_ppm": 500.0 + k}, T0.replace(second=k))])
    assert len(writer.spool) == 3 and writer.written_batches == 0
    writer.close()
    alive = InfluxWriter(InfluxSettings(url=influxdb.url, bucket=bucket), tmp_path / "spool")  # a restart
    assert alive.drain(10)
    values = influxdb.query('SELECT co2_ppm FROM telemetry', db=bucket)[0]["values"]
    assert [v[1] for v in values] == [500.0, 501.0, 502.0]
    alive.close()


def test_points_influxdb_refuses_are_named_and_the_type_conflict_remembered(tmp_path, influxdb):
    bucket = influxdb.create_bucket(f"refused_{next(_n)}")
    writer = InfluxWriter(InfluxSettings(url=influxdb.url, bucket=bucket), tmp_path / "spool")
    writer.write([Point("telemetry", {"space": "s"}, {"co2_ppm": 500.0}, T0)])
    clash = Point("telemetry", {"space": "s"}, {"co2_ppm": "five hundred"}, T0.replace(second=1))
    fine = Point("telemetry", {"space": "t"}, {"co2_ppm": 600.0}, T0.replace(second=1))
    with pytest.raises(PointRejected, match="field type conflict") as refused:
        writer.write([fine, clash])
    assert refused.value.indexes == {1} and writer.rejected_batches == 1 and len(writer.spool) == 0
    # Remembered: the next clash is named before any request (no second refusal from InfluxDB).
    with pytest.raises(PointRejected) as again:
        writer.write([clash, fine])
    assert again.value.indexes == {0} and writer.rejected_batches == 1
    # What InfluxDB could never read is named before sending too.
    with pytest.raises(PointRejected, match="no such number") as nan:
        writer.write([fine, Point("telemetry", {"space": "s"}, {"temperature_c": float("inf")}, T0)])
    assert nan.value.indexes == {1}
    writer.close()


def test_a_spooled_batch_with_a_refused_line_keeps_its_good_lines(tmp_path, influxdb):
    bucket = influxdb.create_bucket(f"spool_refused_{next(_n)}")
    first = InfluxWriter(InfluxSettings(url=influxdb.url, bucket=bucket), tmp_path / "first-spool")
    first.write([Point("telemetry", {"space": "s"}, {"co2_ppm": 500.0}, T0)])  # co2_ppm is a float now
    first.close()
    dead = InfluxWriter(InfluxSettings(url="http://127.0.0.1:9", bucket=bucket, retries=0, replay_every_s=3600),
                        tmp_path / "spool")
    dead.write([Point("telemetry", {"space": "s"}, {"co2_ppm": 501.0 + k if k != 2 else "oops"},
                      T0.replace(second=k + 1)) for k in range(5)])  # spooled, acknowledged: stored
    dead.close()
    refused: list = []
    alive = InfluxWriter(InfluxSettings(url=influxdb.url, bucket=bucket), tmp_path / "spool",
                         on_rejected=refused.extend)
    assert alive.drain(10) and len(alive.spool) == 0
    values = influxdb.query("SELECT co2_ppm FROM telemetry", db=bucket)[0]["values"]
    assert [v[1] for v in values] == [500.0, 501.0, 502.0, 504.0, 505.0]
    [(line_, detail)] = refused
    assert b'co2_ppm="oops"' in line_ and "field type conflict" in detail
    assert alive.rejected_lines == 1
    alive.close()


def test_influx_setup_creates_the_database_and_is_idempotent(influxdb):
    name = f"setup_{next(_n)}"
    for _ in range(2):
        result = invoke(app, ["influx", "setup", "--url", influxdb.url, "--influx-bucket", name])
        assert result.exit_code == 0, result.output
        assert f"database '{name}' ready" in flat(result.output)
    databases = [v[0] for v in influxdb.query("SHOW DATABASES", db=None)[0]["values"]]
    assert name in databases


def test_influx_setup_on_a_server_that_is_not_influxdb_fails_with_a_message():
    result = invoke(app, ["influx", "setup", "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 1 and "http://127.0.0.1:9" in flat(result.output)


def test_influx_setup_on_2x_creates_bucket_and_dbrp_mapping_once(monkeypatch):
    """The 2.x path against a stand-in of the documented v2 API (no 2.x server installs here)."""
    monkeypatch.setenv("STATION_INFLUX_TOKEN", "setup-token")
    with InfluxV2Api() as api:
        args = ["influx", "setup", "--url", api.url, "--influx-bucket", "gare", "--retention-days", "400"]
        first = invoke(app, args)
        assert first.exit_code == 0, first.output
        assert "created bucket 'gare'" in flat(first.output) and "created DBRP mapping gare/autogen" in flat(first.output)
        [bucket] = api.buckets
        assert bucket["name"] == "gare" and bucket["orgID"] == api.orgs[0]["id"]
        assert bucket["retentionRules"] == [{"type": "expire", "everySeconds": 400 * 86400}]
        [dbrp] = api.dbrps
        assert (dbrp["database"], dbrp["retention_policy"], dbrp["bucketID"], dbrp["default"]) == \
            ("gare", "autogen", bucket["id"], True)
        again = invoke(app, args)
        assert again.exit_code == 0, again.output
        assert "bucket 'gare' exists" in flat(again.output) and "DBRP mapping gare/autogen exists" in flat(again.output)
        assert len(api.buckets) == 1 and len(api.dbrps) == 1


def test_influx_setup_on_2x_says_what_is_wrong(monkeypatch):
    with InfluxV2Api() as api:
        monkeypatch.setenv("STATION_INFLUX_TOKEN", "wrong")
        refused = invoke(app, ["influx", "setup", "--url", api.url])
        assert refused.exit_code == 1 and "401" in flat(refused.output) and api.buckets == []
        monkeypatch.setenv("STATION_INFLUX_TOKEN", "setup-token")
        no_org = invoke(app, ["influx", "setup", "--url", api.url, "--influx-org", "ailleurs"])
        assert no_org.exit_code == 1 and "no organisation 'ailleurs'" in flat(no_org.output)


def test_a_large_gzipped_batch_goes_through_nginx_in_one_write(influxdb, tmp_path):
    bucket = influxdb.create_bucket(f"large_{next(_n)}")
    writer = InfluxWriter(InfluxSettings(url=influxdb.url, bucket=bucket), tmp_path / "spool")
    from datetime import timedelta

    writer.write([Point("event", {"node": f"ls-n{k % 50}", "kind": "motion"},
                        {"seq": k, "count": 1, "id": f"evt-{k:012d}-abcdefgh"}, T0 + timedelta(microseconds=k))
                  for k in range(20_000)])
    writer.close()
    assert (writer.written_batches, writer.spooled_batches) == (1, 0)
    assert influxdb.count("event", "seq", db=bucket) == 20_000
