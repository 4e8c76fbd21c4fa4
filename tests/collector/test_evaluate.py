"""`station occupancy-eval`: the public CSV format, the scores, and readable errors.

The public UCI "Occupancy Detection" files cannot be downloaded here (only package
registries are reachable, and no package ships them) and are not committed (third-party
data); the figures measured on them are in collector/README.md. These tests score files
in the same format written from the simulator, for days the engine was not tuned on, and
replay the two lamp situations the public data taught the engine.
"""

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from typer.testing import CliRunner

from collector.evaluate import EvalError, evaluate_csv, evaluate_rows, read_rows
from station.cli import app
from tests.collector.simday import write_uci_csv

ROOM = "salle-aiguillage"


@pytest.fixture(scope="module")
def labelled(inventory, tmp_path_factory):
    path = tmp_path_factory.mktemp("eval") / "room.csv"
    rows = write_uci_csv(path, inventory, ROOM, [date(2026, 3, 9), date(2026, 3, 10)], seed=11)
    assert rows == 2 * 24 * 60
    return path


def test_occupancy_eval_prints_one_json_object_with_the_scores(labelled, inventory):
    _, space = inventory.space(ROOM)
    result = CliRunner().invoke(app, ["occupancy-eval", str(labelled), "--signals", "co2",
                                      "--volume", str(space.volume_m3), "--ach", str(space.ventilation_ach)])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output.strip().splitlines()[-1])
    assert set(scores) >= {"accuracy", "balanced_accuracy", "always_empty_accuracy", "n"}
    assert scores["n"] == 2880
    assert 0 < scores["always_empty_accuracy"] < 1


def test_co2_alone_beats_the_always_empty_baseline(labelled, inventory):
    _, space = inventory.space(ROOM)
    scores = evaluate_csv(labelled, signals="co2", volume_m3=space.volume_m3, ventilation_ach=space.ventilation_ach)
    assert scores["accuracy"] >= scores["always_empty_accuracy"] + 0.1
    assert scores["balanced_accuracy"] >= 0.85


def minutes(start: datetime, light_co2_label) -> list:
    return [(start + timedelta(minutes=k), light, co2, label) for k, (light, co2, label) in enumerate(light_co2_label)]


T0 = datetime(2015, 2, 8, 12, 0, tzinfo=timezone.utc)


def test_a_step_of_daylight_in_an_empty_room_is_not_lamps_for_long():
    """Sunlight jumping by 250 lux while the air stays outdoor-fresh: occupied at most
    ``lamps_alone`` (15 min) and the ``vacate_dwell`` (5 min), then vacant; a latch kept it
    "occupied" until the next step down."""
    rows = minutes(T0, [(40.0, 430.0, 0)] * 30 + [(290.0, 430.0, 0)] * 120)
    scores = evaluate_rows(rows, signals="co2,light")
    assert scores["accuracy"] >= (150 - 21) / 150


def test_lamps_switched_off_and_falling_co2_mean_the_last_one_left():
    """An office whose real ventilation is slower than assumed: after the lamps go off the
    CO2 decays slowly, which the balance alone reads as people for an hour and more."""
    rising = [(450.0, 600.0 + 10 * k, 1) for k in range(60)]  # lamps on, two or three people
    decay = [(0.0, 420.0 + 780.0 * 0.995 ** k, 0) for k in range(120)]  # lamps off, slow decay
    rows = minutes(T0, [(0.0, 600.0, 0)] * 10 + rising + decay)
    scores = evaluate_rows(rows, signals="co2,light")
    co2_only = evaluate_rows(rows, signals="co2")
    assert scores["accuracy"] >= 0.95
    assert co2_only["accuracy"] < scores["accuracy"]  # the lamps are what tell


def test_rows_keep_their_order_time_light_co2_and_label(labelled):
    rows = read_rows(labelled)
    assert rows[0][0].isoformat() == "2026-03-09T00:00:00+00:00"
    assert all(b[0] > a[0] for a, b in zip(rows, rows[1:]))
    assert {r[3] for r in rows} == {0, 1}


@pytest.mark.parametrize("text, message", [
    ("date,Temperature,CO2\n", ":1: header must be"),
    ('"date","Temperature","Humidity","Light","CO2","HumidityRatio","Occupancy"\n"1","x",1,2,3,4,5,0\n',
     ":2: Invalid isoformat"),
    ('"date","Temperature","Humidity","Light","CO2","HumidityRatio","Occupancy"\n'
     '"1","2015-02-04 17:51:00",23.18,27.272,426,721.25,0.0047,2\n', ":2: Occupancy must be 0 or 1"),
    ('"date","Temperature","Humidity","Light","CO2","HumidityRatio","Occupancy"\n"1","2015-02-04 17:51:00",1\n',
     ":2: 3 values"),
])
def test_malformed_file_names_file_and_line(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(EvalError, match=message):
        read_rows(path)
    result = CliRunner().invoke(app, ["occupancy-eval", str(path)])
    assert result.exit_code == 2 and str(path) in result.output
