"""`station dashboards provision` against a local server implementing Grafana's HTTP API."""

import pytest
from typer.testing import CliRunner

from lastation.cli import app
from station.dashboards.alerts import FOLDER_UID, RULES
from station.dashboards.boards import all_boards
from station.dashboards.panels import DATASOURCE_UID
from tests.dashboards.grafana_server import FakeGrafana


@pytest.fixture()
def grafana():
    server = FakeGrafana()
    yield server
    server.close()


def _provision(grafana, token="test-token"):
    return CliRunner().invoke(app, ["dashboards", "provision", "--grafana-url", grafana.url, "--token", token,
                                    "--influx-url", "http://influxdb:8086", "--influx-db", "station"])


def test_first_run_creates_everything_in_order(grafana):
    result = _provision(grafana)
    assert result.exit_code == 0, result.output
    writes = [(m, p) for m, p, _ in grafana.requests if m != "GET"]
    boards, rules = all_boards(), RULES
    assert writes == ([("POST", "/api/datasources"), ("POST", "/api/folders")]
                      + [("POST", "/api/dashboards/db")] * len(boards)
                      + [("POST", "/api/v1/provisioning/alert-rules")] * len(rules))
    ds = grafana.datasources[DATASOURCE_UID]
    assert ds["type"] == "influxdb" and ds["jsonData"]["version"] == "InfluxQL"
    assert ds["url"] == "http://influxdb:8086" and ds["jsonData"]["dbName"] == "station"
    assert {d["meta"]["folderUid"] for d in grafana.dashboards.values()} == {FOLDER_UID}
    assert set(grafana.dashboards) == {b["uid"] for b in boards.values()}
    assert set(grafana.rules) == {r.uid for r in rules}
    sent_board = next(b for m, p, b in grafana.requests if p == "/api/dashboards/db")
    assert sent_board["overwrite"] is True and sent_board["dashboard"]["uid"] == "la-station-overview"
    assert "created: dashboard la-station-fleet" in result.output


def test_second_run_changes_nothing(grafana):
    assert _provision(grafana).exit_code == 0
    grafana.requests.clear()
    result = _provision(grafana)
    assert result.exit_code == 0, result.output
    assert {m for m, _, _ in grafana.requests} == {"GET"}
    assert "nothing to do" in result.output


def test_a_dashboard_changed_in_grafana_is_put_back(grafana):
    assert _provision(grafana).exit_code == 0
    grafana.dashboards["la-station-fleet"]["dashboard"]["title"] = "edited by hand"
    grafana.requests.clear()
    result = _provision(grafana)
    assert [(m, p) for m, p, _ in grafana.requests if m != "GET"] == [("POST", "/api/dashboards/db")]
    assert grafana.dashboards["la-station-fleet"]["dashboard"]["title"] == "La Station — node fleet"
    assert "updated: dashboard la-station-fleet" in result.output


def test_wrong_token_fails_with_a_clear_message(grafana):
    result = _provision(grafana, token="wrong")
    assert result.exit_code == 1
    assert "Grafana refused" in result.output and "401" in result.output
