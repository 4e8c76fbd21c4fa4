"""`station occupancy-eval`: score the live occupancy engine on labelled room readings.

Input: the common public format of one room's 1-minute readings (the UCI "Occupancy
Detection" data set uses it)::

    "date","Temperature","Humidity","Light","CO2","HumidityRatio","Occupancy"
    "1","2015-02-04 17:51:00",23.18,27.272,426,721.25,0.00479298817650529,1

— a header of seven names, then rows of eight values, the first being the quoted row
number. Times without a zone are read as UTC (only their differences matter).

Each row goes through the same :class:`~collector.engine.OccupancyEngine` the collector
runs live, for a space with no motion or door signal (air only): the CO2 mass balance
with the room's ``volume`` and ``ach`` and, with ``--signals co2,light`` or ``all``,
lamps switched on or off. ``all`` means every signal the engine uses (CO2 and light);
temperature and humidity are read but do not enter the judgement.

Output: ``accuracy``, ``balanced_accuracy``, ``always_empty_accuracy`` (the score of
guessing "vacant" every minute — the baseline every figure is to be read against), ``n``.
"""

from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path

from station.inventory import Inventory

from .engine import EngineSettings, OccupancyEngine

HEADER = ["date", "Temperature", "Humidity", "Light", "CO2", "HumidityRatio", "Occupancy"]
SIGNALS = {"co2": ("co2",), "co2,light": ("co2", "light"), "all": ("co2", "light")}


class EvalError(ValueError):
    """A file that is not in the expected format; the message names the file and line."""


def read_rows(path: Path) -> list[tuple[datetime, float, float, int]]:
    """(time, light lux, CO2 ppm, occupied 0/1) per row, in file order."""
    try:
        handle = open(path, newline="")
    except OSError as exc:
        raise EvalError(f"{path}: {exc.strerror}") from None
    rows = []
    with handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or [h.strip() for h in header] != HEADER:
            raise EvalError(f"{path}:1: header must be {','.join(HEADER)}")
        for line_no, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) == len(HEADER) + 1:
                row = row[1:]  # the quoted row number
            if len(row) != len(HEADER):
                raise EvalError(f"{path}:{line_no}: {len(row)} values, expected {len(HEADER)} (or a row number first)")
            try:
                at = datetime.fromisoformat(row[0].strip())
                light, co2, label = float(row[3]), float(row[4]), int(float(row[6]))
            except ValueError as exc:
                raise EvalError(f"{path}:{line_no}: {exc}") from None
            if label not in (0, 1):
                raise EvalError(f"{path}:{line_no}: Occupancy must be 0 or 1, not {row[6]!r}")
            rows.append((at if at.tzinfo else at.replace(tzinfo=timezone.utc), light, co2, label))
    if not rows:
        raise EvalError(f"{path}: no readings")
    return rows


def _one_room(volume_m3: float, ventilation_ach: float) -> Inventory:
    return Inventory.model_validate({"sites": [{
        "id": "eval", "name": "Evaluation", "kind": "main", "town": "-", "timezone": "UTC",
        "opening_hours": {}, "spaces": [{"id": "room", "name": "Room", "kind": "meeting", "capacity": 2000,
                                          "area_m2": max(1.0, volume_m3 / 2.5), "volume_m3": volume_m3,
                                          "ventilation_ach": ventilation_ach}]}]})


def evaluate_rows(rows, *, signals: str = "all", volume_m3: float = 25.0, ventilation_ach: float = 2.0,
                  settings: EngineSettings | None = None) -> dict:
    if signals not in SIGNALS:
        raise EvalError(f"--signals must be one of {', '.join(SIGNALS)}, not {signals!r}")
    use = SIGNALS[signals]
    engine = OccupancyEngine(_one_room(volume_m3, ventilation_ach), settings)
    state = engine.spaces["room"]
    tp = tn = fp = fn = 0
    for at, light, co2, label in rows:
        engine.add_reading(state, at, co2 if "co2" in use else None, light if "light" in use else None)
        engine.judge(state, at, check_alive=False)
        guess = bool(state.occupied)
        tp += guess and label == 1
        tn += (not guess) and label == 0
        fp += guess and label == 0
        fn += (not guess) and label == 1
    n = tp + tn + fp + fn
    tpr = tp / (tp + fn) if tp + fn else 1.0
    tnr = tn / (tn + fp) if tn + fp else 1.0
    return {"accuracy": round((tp + tn) / n, 4), "balanced_accuracy": round((tpr + tnr) / 2, 4),
            "always_empty_accuracy": round((tn + fp) / n, 4), "n": n, "signals": signals}


def evaluate_csv(path: Path, **kw) -> dict:
    return evaluate_rows(read_rows(Path(path)), **kw)
