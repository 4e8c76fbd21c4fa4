"""The dashboards and alert rules: generated files up to date, structure sound, schema respected."""

import json

import yaml

from station.history import SCHEMA
from station.dashboards.alerts import RULES
from station.dashboards.boards import all_boards
from station.dashboards.build import GRAFANA_DIR, files
from station.dashboards.panels import DATASOURCE_UID
from station.dashboards.queries import board_queries, references, unexpanded_variables


def test_checked_in_grafana_files_match_the_code():
    """Run `station dashboards build` after changing station/dashboards/."""
    expected = files()
    on_disk = {str(p.relative_to(GRAFANA_DIR)): p.read_text() for p in GRAFANA_DIR.rglob("*") if p.is_file()}
    assert sorted(on_disk) == sorted(expected)
    for rel, content in expected.items():
        assert on_disk[rel] == content, f"dashboards/grafana/{rel} is stale: run `station dashboards build`"


def test_uids_are_unique_and_panels_have_unique_ids():
    boards = [json.loads((GRAFANA_DIR / "dashboards" / f).read_text())
              for f in ("overview.json", "space.json", "access.json", "fleet.json", "machines.json")]
    uids = [b["uid"] for b in boards] + [r.uid for r in RULES]
    assert len(uids) == len(set(uids))
    for board in boards:
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), board["uid"]
        for p in board["panels"]:
            assert 0 <= p["gridPos"]["x"] and p["gridPos"]["x"] + p["gridPos"]["w"] <= 24


def test_every_datasource_reference_resolves_to_the_provisioned_one():
    provisioned = yaml.safe_load((GRAFANA_DIR / "provisioning/datasources/la-station.yaml").read_text())
    uids = {ds["uid"] for ds in provisioned["datasources"]}
    assert uids == {DATASOURCE_UID}
    for board in all_boards().values():
        for p in board["panels"]:
            assert p["datasource"]["uid"] in uids
            assert all(t["datasource"]["uid"] in uids for t in p["targets"])
        assert all(v["datasource"]["uid"] in uids for v in board["templating"]["list"])
    alerting = yaml.safe_load((GRAFANA_DIR / "provisioning/alerting/la-station.yaml").read_text())
    for rule in alerting["groups"][0]["rules"]:
        for step in rule["data"]:
            assert step["datasourceUid"] in uids | {"__expr__"}
        refs = {d["refId"] for d in rule["data"]}
        assert rule["condition"] in refs
        for step in rule["data"]:
            if step["model"].get("type") == "reduce":
                assert step["model"]["expression"] in refs


def test_every_variable_used_is_defined():
    for name, board in all_boards().items():
        defined = {v["name"] for v in board["templating"]["list"]}
        for p in board["panels"]:
            for t in p["targets"]:
                assert unexpanded_variables(t["query"]) <= defined, f"{name}: {p['title']}"
        for v in board["templating"]["list"]:
            assert unexpanded_variables(v["query"]) <= defined - {v["name"]}
    for rule in RULES:
        for q in rule.queries:
            assert unexpanded_variables(q.influxql) == set(), rule.uid


def schema_problems(queries) -> list[str]:
    """Every measurement, field and tag a query names that the collector does not write."""
    problems = []
    for where, influxql in queries:
        measurement, fields, names = references(influxql)
        if measurement not in SCHEMA:
            problems.append(f"{where}: unknown measurement {measurement!r}")
            continue
        tags, field_types = SCHEMA[measurement]
        if not fields <= set(field_types):
            problems.append(f"{where}: fields {sorted(fields - set(field_types))} not written")
        if not names <= set(tags) | set(field_types):
            problems.append(f"{where}: {sorted(names - set(tags) - set(field_types))} unknown")
    return problems


def test_every_measurement_field_and_tag_is_one_the_collector_writes():
    assert schema_problems((q.where, q.influxql) for q in board_queries()) == []


def test_the_schema_check_catches_a_renamed_field_a_tag_and_a_measurement():
    problems = schema_problems([
        ("renamed field", 'SELECT mean("co2") FROM "telemetry" WHERE $timeFilter'),
        ("unknown tag", 'SELECT mean("co2_ppm") FROM "telemetry" WHERE "room" = \'x\' AND $timeFilter'),
        ("unknown measurement", 'SELECT mean("co2_ppm") FROM "telemetrie" WHERE $timeFilter')])
    assert [p.split(":")[0] for p in problems] == ["renamed field", "unknown tag", "unknown measurement"]


def test_alert_rules_cover_what_staff_asked_for():
    by_uid = {r.uid: r for r in RULES}
    assert by_uid["co2-high-occupied"].for_ == "10m" and "1000" in by_uid["co2-high-occupied"].condition
    assert by_uid["node-offline"].for_ == "2m"
    assert ">= 5" in by_uid["badges-denied-burst"].condition
    assert by_uid["badges-denied-burst"].queries[0].window_s == 60
    assert {"door-forced", "door-held-open", "fire-release"} <= set(by_uid)
