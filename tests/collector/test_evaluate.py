"""`station occupancy-eval`: both formats, the scores, and readable errors.

The public UCI "Occupancy Detection" files are not committed (third-party data); the
figures measured on them are in collector/README.md. These tests score files in the same
formats written from the simulator, for days the engine was not tuned on, and replay the
lamp situations the public data taught the engine.
"""

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from typer.testing import CliRunner

from collector.evaluate import EvalError, Row, evaluate_csv, evaluate_rows, read_rows
from lastation.cli import app
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
    assert set(scores) >= {"accuracy", "balanced_accuracy", "always_empty_accuracy", "n", "brier", "reliability"}
    assert scores["n"] == 2880
    assert 0 < scores["always_empty_accuracy"] < 1
    assert 0 <= scores["brier"] < 0.25  # better than a constant 0.5
    assert sum(b["n"] for b in scores["reliability"]) == 2880
    assert "people_mae" not in scores  # the UCI format has no headcount


def test_co2_alone_beats_the_always_empty_baseline(labelled, inventory):
    _, space = inventory.space(ROOM)
    scores = evaluate_csv(labelled, signals="co2", volume_m3=space.volume_m3, ventilation_ach=space.ventilation_ach)
    assert scores["accuracy"] >= scores["always_empty_accuracy"] + 0.1
    assert scores["balanced_accuracy"] >= 0.85


def minutes(start: datetime, light_co2_label) -> list:
    return [Row(start + timedelta(minutes=k), label, co2=co2, light=light)
            for k, (light, co2, label) in enumerate(light_co2_label)]


T0 = datetime(2015, 2, 8, 12, 0, tzinfo=timezone.utc)


def test_a_step_of_daylight_in_an_empty_room_is_not_lamps_for_long():
    """Sunlight jumping by 250 lux while the air stays outdoor-fresh: at most a few
    minutes "occupied", then the flat CO2 outweighs the lamps (left on, or the sun)."""
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
    assert rows[0].at.isoformat() == "2026-03-09T00:00:00+00:00"
    assert all(b.at > a.at for a, b in zip(rows, rows[1:]))
    assert {r.occupied for r in rows} == {0, 1}
    assert all(r.co2 is not None and r.light is not None and r.people is None for r in rows)


COLUMNS = """\
people,ignored,motion,time,co2_ppm,light_lux
0,x,0,2026-03-02T08:00:00Z,430,5
0,x,0,2026-03-02T08:00:30Z,431,5
2,x,1,2026-03-02T08:01:00Z,,420
2,x,2,2026-03-02T08:05:00+01:00,470,421
"""


def test_columns_format_reads_named_columns_in_any_order_with_gaps_and_empty_cells(tmp_path):
    path = tmp_path / "room.csv"
    path.write_text(COLUMNS)
    rows = read_rows(path, "columns")
    assert [r.at.isoformat() for r in rows] == ["2026-03-02T07:05:00+00:00", "2026-03-02T08:00:00+00:00",
                                               "2026-03-02T08:00:30+00:00", "2026-03-02T08:01:00+00:00"]
    first = rows[0]
    assert (first.people, first.occupied, first.co2, first.light, first.motion, first.door) == (2, 1, 470, 421, 1, None)
    assert rows[-1].co2 is None  # an empty cell is a missing reading
    scores = evaluate_csv(path, "columns", signals="all")
    assert scores["n"] == 4 and scores["signals"] == "co2,light,motion"
    assert {"people_mae", "people_mae_always_zero"} <= set(scores)
    assert scores["people_mae_always_zero"] == 1.0  # (2 + 0 + 0 + 2) / 4


def test_a_simulated_30_second_recording_with_pirs_and_headcount_scores_through_the_cli(tmp_path):
    from edge.simulator.recording import recording, small_office, write_columns

    path = tmp_path / "office.csv"
    samples = recording(small_office(), "office", date(2026, 3, 2), 3, seed=5, interval_s=30)
    assert write_columns(path, samples, with_door=False) == 3 * 24 * 120
    result = CliRunner().invoke(app, ["occupancy-eval", str(path), "--format", "columns", "--signals", "co2,motion",
                                      "--volume", "75"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output.strip().splitlines()[-1])
    assert scores["signals"] == "co2,motion"
    assert scores["accuracy"] > scores["always_empty_accuracy"]
    assert scores["people_mae"] < scores["people_mae_always_zero"]


@pytest.mark.parametrize("text, args, message", [
    ("occupied,co2_ppm\n0,400\n", [], ":1: the header needs a 'time' column"),
    ("time,co2_ppm\n2026-03-02T08:00:00,400\n", [], ":1: the header needs a truth column"),
    ("time,occupied,co2_ppm\n2026-03-02T08:00:00,2,400\n", [], ":2: occupied must be 0 or 1"),
    ("time,occupied,door\n2026-03-02T08:00:00,1,3\n", [], ":2: motion and door must be 0 or 1"),
    ("time,people,co2_ppm\n2026-03-02T08:00:00,-1,400\n", [], ":2: people must be"),
    ("time,occupied,co2_ppm\nyesterday,1,400\n", [], ":2: Invalid isoformat"),
    ("time,occupied,co2_ppm\n2026-03-02T08:00:00,1,400\n", ["--signals", "co2,light"], "the file has no such"),
    ("time,occupied,co2_ppm\n2026-03-02T08:00:00,1,400\n", ["--signals", "smell"], "--signals takes all or"),
    ("time,occupied,co2_ppm\n2026-03-02T08:00:00,1,400\n", ["--format", "xls"], "--format must be one of"),
])
def test_malformed_columns_file_names_file_line_and_reason(tmp_path, text, args, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    fmt = args[args.index("--format") + 1] if "--format" in args else "columns"
    result = CliRunner().invoke(app, ["occupancy-eval", str(path), "--format", "columns", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    with pytest.raises(EvalError, match=message.replace("(", r"\(")):
        rows = read_rows(path, fmt)
        evaluate_rows(rows, signals=args[args.index("--signals") + 1] if "--signals" in args else "all")


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
