"""Writing to InfluxDB: line protocol read back by a real InfluxDB, the spool, `station influx setup`."""

import itertools
from datetime import datetime, timezone

from typer.testing import CliRunner

from collector.influx import InfluxSettings, InfluxWriter, line
from collector.schema import Point
from collector.spool import Spool
from station.cli import app
from tests.utils.influx_v2_api import InfluxV2Api

T0 = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=timezone.utc)
_n = itertools.count()


def test_line_protocol_escapes_tags_and_strings_and_types_fields():
    p = Point("event", {"site": "la station", "node": "n,1", "door": "", "kind": "a=b"},
              {"seq": 3, "count": 1, "id": 'x"y\\z', "reason": "ok"}, T0)
    assert line(p) == ('event,kind=a\\=b,node=n\\,1,site=la\\ station seq=3i,count=1i,id="x\\"y\\\\z",reason="ok" '
                       '1772442000123456000')


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


def test_batch_influxdb_refuses_for_good_is_set_aside_not_retried_forever(tmp_path, influxdb):
    bucket = influxdb.create_bucket(f"refused_{next(_n)}")
    writer = InfluxWriter(InfluxSettings(url=influxdb.url, bucket=bucket), tmp_path / "spool")
    writer.write([Point("telemetry", {"space": "s"}, {"co2_ppm": 500.0}, T0)])
    writer.write([Point("telemetry", {"space": "s"}, {"co2_ppm": "five hundred"}, T0.replace(second=1))])  # type clash
    assert writer.rejected_batches == 1 and len(writer.spool) == 0
    assert len(list((tmp_path / "spool" / "rejected").iterdir())) == 1
    writer.close()


def test_influx_setup_creates_the_database_and_is_idempotent(influxdb):
    name = f"setup_{next(_n)}"
    for _ in range(2):
        result = CliRunner().invoke(app, ["influx", "setup", "--url", influxdb.url, "--influx-bucket", name])
        assert result.exit_code == 0, result.output
        assert f"database '{name}' ready" in result.output
    databases = [v[0] for v in influxdb.query("SHOW DATABASES", db=None)[0]["values"]]
    assert name in databases


def test_influx_setup_on_a_server_that_is_not_influxdb_fails_with_a_message():
    result = CliRunner().invoke(app, ["influx", "setup", "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 1 and "http://127.0.0.1:9" in result.output


def test_influx_setup_on_2x_creates_bucket_and_dbrp_mapping_once(monkeypatch):
    """The 2.x path against a stand-in of the documented v2 API (no 2.x server installs here)."""
    monkeypatch.setenv("STATION_INFLUX_TOKEN", "setup-token")
    with InfluxV2Api() as api:
        args = ["influx", "setup", "--url", api.url, "--influx-bucket", "gare", "--retention-days", "400"]
        first = CliRunner().invoke(app, args)
        assert first.exit_code == 0, first.output
        assert "created bucket 'gare'" in first.output and "created DBRP mapping gare/autogen" in first.output
        [bucket] = api.buckets
        assert bucket["name"] == "gare" and bucket["orgID"] == api.orgs[0]["id"]
        assert bucket["retentionRules"] == [{"type": "expire", "everySeconds": 400 * 86400}]
        [dbrp] = api.dbrps
        assert (dbrp["database"], dbrp["retention_policy"], dbrp["bucketID"], dbrp["default"]) == \
            ("gare", "autogen", bucket["id"], True)
        again = CliRunner().invoke(app, args)
        assert again.exit_code == 0, again.output
        assert "bucket 'gare' exists" in again.output and "DBRP mapping gare/autogen exists" in again.output
        assert len(api.buckets) == 1 and len(api.dbrps) == 1


def test_influx_setup_on_2x_says_what_is_wrong(monkeypatch):
    with InfluxV2Api() as api:
        monkeypatch.setenv("STATION_INFLUX_TOKEN", "wrong")
        refused = CliRunner().invoke(app, ["influx", "setup", "--url", api.url])
        assert refused.exit_code == 1 and "401" in refused.output and api.buckets == []
        monkeypatch.setenv("STATION_INFLUX_TOKEN", "setup-token")
        no_org = CliRunner().invoke(app, ["influx", "setup", "--url", api.url, "--influx-org", "ailleurs"])
        assert no_org.exit_code == 1 and "no organisation 'ailleurs'" in no_org.output


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
