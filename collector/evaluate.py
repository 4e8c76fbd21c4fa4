"""`station occupancy-eval`: score the live occupancy engine on any labelled recording of a room.

Two formats (``--format``):

``uci``
    The UCI "Occupancy Detection" files: ``"date","Temperature","Humidity","Light",
    "CO2","HumidityRatio","Occupancy"`` then rows led by a quoted row number.

``columns``
    A CSV with a header of named columns, in any order; other columns are ignored:

    ========= ===================================================== ========
    column    content                                               required
    ========= ===================================================== ========
    time      ISO 8601 (no zone: read as UTC)                       yes
    occupied  truth, 0 or 1                                         one of
    people    truth, a count (occupied = people > 0)                the two
    co2_ppm   CO2 reading                                           no
    light_lux light reading                                         no
    motion    1 if a PIR saw motion during the sample, else 0 (a    no
              count of PIRs or triggers reads as 1 when above 0)
    door      door state at the sample: 0 closed, 1 open            no
    ========= ===================================================== ========

    Any sample interval; gaps are allowed (a gap is time passing without evidence); an
    empty cell is a missing reading.

Each row goes through the same :class:`~collector.engine.OccupancyEngine` the collector
runs live, for one space of ``--volume`` m³ (the engine learns the rest: baseline,
ventilation, lamps, PIR). ``--signals`` chooses which columns the engine may see
(``all``: every one the file has).

Output, the last line one JSON object: ``accuracy``, ``balanced_accuracy``,
``always_empty_accuracy`` (guessing "vacant" every sample — the floor every figure is
read against), ``n``, ``brier`` (mean squared error of P(occupied)), ``reliability``
(per tenth of P(occupied): samples, mean prediction, observed frequency) and, when the
file has ``people``, ``people_mae`` and ``people_mae_always_zero``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from station.inventory import Inventory

from .engine import EngineSettings, OccupancyEngine

UCI_HEADER = ["date", "Temperature", "Humidity", "Light", "CO2", "HumidityRatio", "Occupancy"]
SIGNAL_COLUMNS = {"co2": "co2_ppm", "light": "light_lux", "motion": "motion", "door": "door"}
FORMATS = ("uci", "columns")


class EvalError(ValueError):
    """A file that is not in the expected format; the message names the file and line."""


@dataclass(frozen=True)
class Row:
    at: datetime
    occupied: int
    people: float | None = None
    co2: float | None = None
    light: float | None = None
    motion: int | None = None
    door: int | None = None


def _time(text: str) -> datetime:
    at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return at.astimezone(timezone.utc) if at.tzinfo else at.replace(tzinfo=timezone.utc)


def read_rows(path: Path, fmt: str = "uci") -> list[Row]:
    """The rows of a recording, sorted by time."""
    if fmt not in FORMATS:
        raise EvalError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    try:
        handle = open(path, newline="")
    except OSError as exc:
        raise EvalError(f"{path}: {exc.strerror}") from None
    with handle:
        rows = _read_uci(path, handle) if fmt == "uci" else _read_columns(path, handle)
    if not rows:
        raise EvalError(f"{path}: no readings")
    rows.sort(key=lambda r: r.at)
    return rows


def _read_uci(path: Path, handle) -> list[Row]:
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None or [h.strip() for h in header] != UCI_HEADER:
        raise EvalError(f"{path}:1: header must be {','.join(UCI_HEADER)}")
    rows = []
    for line_no, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) == len(UCI_HEADER) + 1:
            row = row[1:]  # the quoted row number
        if len(row) != len(UCI_HEADER):
            raise EvalError(f"{path}:{line_no}: {len(row)} values, expected {len(UCI_HEADER)} (or a row number first)")
        try:
            at = _time(row[0])
            light, co2, label = float(row[3]), float(row[4]), int(float(row[6]))
        except ValueError as exc:
            raise EvalError(f"{path}:{line_no}: {exc}") from None
        if label not in (0, 1):
            raise EvalError(f"{path}:{line_no}: Occupancy must be 0 or 1, not {row[6]!r}")
        rows.append(Row(at, label, co2=co2, light=light))
    return rows


def _read_columns(path: Path, handle) -> list[Row]:
    reader = csv.reader(handle)
    header = [h.strip() for h in next(reader, None) or []]
    if "time" not in header:
        raise EvalError(f"{path}:1: the header needs a 'time' column (got {','.join(header) or 'nothing'})")
    if "occupied" not in header and "people" not in header:
        raise EvalError(f"{path}:1: the header needs a truth column, 'occupied' or 'people'")
    index = {name: header.index(name) for name in ("time", "occupied", "people", *SIGNAL_COLUMNS.values())
             if name in header}
    rows = []
    for line_no, row in enumerate(reader, start=2):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            raise EvalError(f"{path}:{line_no}: {len(row)} values, the header has {len(header)}")

        def cell(name: str):
            i = index.get(name)
            text = row[i].strip() if i is not None else ""
            return text or None

        try:
            at = _time(cell("time") or "")
            people = cell("people")
            people = None if people is None else float(people)
            occupied = cell("occupied")
            occupied = int(float(occupied)) if occupied is not None else (None if people is None else int(people > 0))
            values = {name: cell(col) for name, col in SIGNAL_COLUMNS.items()}
            co2 = None if values["co2"] is None else float(values["co2"])
            light = None if values["light"] is None else float(values["light"])
            motion = None if values["motion"] is None else int(float(values["motion"]) > 0)  # a count: any
            door = None if values["door"] is None else int(float(values["door"]))
        except ValueError as exc:
            raise EvalError(f"{path}:{line_no}: {exc}") from None
        if occupied not in (0, 1):
            raise EvalError(f"{path}:{line_no}: occupied must be 0 or 1 (or people given), not {occupied!r}")
        if people is not None and people < 0:
            raise EvalError(f"{path}:{line_no}: people must be ≥ 0, not {people:g}")
        if motion not in (None, 0, 1) or door not in (None, 0, 1):
            raise EvalError(f"{path}:{line_no}: motion and door must be 0 or 1")
        rows.append(Row(at, occupied, people, co2, light, motion, door))
    return rows


def parse_signals(signals: str, rows: list[Row]) -> set[str]:
    """``co2``, ``co2,light``, ``co2,light,motion``… or ``all`` (every signal the file has)."""
    available = {name for name in SIGNAL_COLUMNS if any(getattr(r, name) is not None for r in rows)}
    if signals.strip() == "all":
        return available
    chosen = {s.strip() for s in signals.split(",") if s.strip()}
    unknown = chosen - set(SIGNAL_COLUMNS)
    if unknown or not chosen:
        raise EvalError(f"--signals takes all or a list of {', '.join(SIGNAL_COLUMNS)}; not {signals!r}")
    missing = chosen - available
    if missing:
        raise EvalError(f"--signals {','.join(sorted(missing))}: the file has no such readings")
    return chosen


def one_room(volume_m3: float, ventilation_ach: float, capacity: int | None = None) -> Inventory:
    """The inventory of the recorded room: one space, no nodes (the rows feed the engine)."""
    capacity = capacity or max(4, int(round(volume_m3 / 4)))
    return Inventory.model_validate({"sites": [{
        "id": "eval", "name": "Evaluation", "kind": "main", "town": "-", "timezone": "UTC",
        "opening_hours": {}, "spaces": [{"id": "room", "name": "Room", "kind": "meeting", "capacity": capacity,
                                          "area_m2": max(1.0, volume_m3 / 2.5), "volume_m3": volume_m3,
                                          "ventilation_ach": ventilation_ach}]}]})


def evaluate_rows(rows: list[Row], *, signals: str = "all", volume_m3: float = 50.0, ventilation_ach: float = 2.0,
                  capacity: int | None = None, settings: EngineSettings | None = None,
                  trace: list | None = None) -> dict:
    use = parse_signals(signals, rows)
    engine = OccupancyEngine(one_room(volume_m3, ventilation_ach, capacity), settings)
    state = engine.spaces["room"]
    state.motion.seen = "motion" in use
    tp = tn = fp = fn = 0
    brier = 0.0
    bins = [[0, 0.0, 0] for _ in range(10)]
    abs_err = zero_err = 0.0
    counted = 0
    door_was = None
    for row in rows:
        if "motion" in use and row.motion:
            engine.add_motion(state, row.at)
        if "door" in use and row.door is not None:
            if door_was is not None and row.door != door_was:
                engine.add_door(state, row.at, opened=bool(row.door), closed=not row.door)
            elif door_was is None:
                state.watched_door = True
            door_was = row.door
        co2 = row.co2 if "co2" in use else None
        light = row.light if "light" in use else None
        if co2 is not None or light is not None:
            engine.add_reading(state, row.at, co2, light)
        engine.step(state, row.at)  # every sample, whatever the interval
        engine.judge(state, row.at, check_alive=False)
        guess = bool(state.occupied)
        p = state.p_occupied  # calibrated, as the API reports it
        label = row.occupied
        tp += guess and label == 1
        tn += (not guess) and label == 0
        fp += guess and label == 0
        fn += (not guess) and label == 1
        brier += (p - label) ** 2
        b = bins[min(9, int(p * 10))]
        b[0] += 1
        b[1] += p
        b[2] += label
        if row.people is not None:
            counted += 1
            abs_err += abs((state.people_estimate or 0.0) - row.people)
            zero_err += abs(row.people)
        if trace is not None:
            trace.append((row, p, state.people_estimate, state.air.c0, state.air.ach, state.lamps.on))
    n = tp + tn + fp + fn
    tpr = tp / (tp + fn) if tp + fn else 1.0
    tnr = tn / (tn + fp) if tn + fp else 1.0
    scores = {"accuracy": round((tp + tn) / n, 4), "balanced_accuracy": round((tpr + tnr) / 2, 4),
              "always_empty_accuracy": round((tn + fp) / n, 4), "n": n, "brier": round(brier / n, 4),
              "signals": ",".join(s for s in SIGNAL_COLUMNS if s in use),
              "reliability": [{"p": f"{k / 10:.1f}-{(k + 1) / 10:.1f}", "n": c, "predicted": round(sp / c, 3),
                               "observed": round(so / c, 3)} for k, (c, sp, so) in enumerate(bins) if c],
              "learned": {"co2_baseline_ppm": None if state.air.c0 is None else round(state.air.c0, 1),
                          "ventilation_ach": round(state.air.ach, 3),
                          "lamp_lux": None if state.lamps.level is None else round(state.lamps.level, 1)}}
    if counted:
        scores["people_mae"] = round(abs_err / counted, 4)
        scores["people_mae_always_zero"] = round(zero_err / counted, 4)
    return scores


def evaluate_csv(path: Path, fmt: str = "uci", **kw) -> dict:
    return evaluate_rows(read_rows(Path(path), fmt), **kw)
