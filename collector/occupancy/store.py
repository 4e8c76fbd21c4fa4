"""What the engine learned of each space, kept in the collector's state directory.

``occupancy-model.json`` holds, per space, the CO2 baseline and ventilation (with the
decays they were learned from), the lamps' level, the PIR's rate and who walks in
(:meth:`~collector.occupancy.OccupancyEngine.state_dict`). The collector loads it at
start, saves it every few minutes and at stop, through the one durable writer
(``station.durable``): a power cut leaves the previous file or the new one.

A file that cannot be read (corrupt, another version) is set aside as ``….bad`` and
the engine starts from the inventory's first guesses: learned state is worth keeping,
never worth refusing to start for.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from station.durable import write_durably

log = logging.getLogger(__name__)

MODEL_FILE = "occupancy-model.json"
SAVE_EVERY_S = 600.0


def load_model(engine, path: Path) -> int:
    """Restore ``engine`` from ``path`` if it exists; returns the number of spaces restored."""
    path = Path(path)
    if not path.exists():
        return 0
    try:
        data = json.loads(path.read_text())
        restored = engine.load_state(data)
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        aside = path.with_suffix(".bad")
        log.warning("occupancy model %s unreadable (%s: %s); set aside as %s, starting afresh",
                    path, type(exc).__name__, exc, aside.name)
        try:
            path.replace(aside)
        except OSError:
            pass
        return 0
    log.info("occupancy model: %d spaces restored from %s", restored, path)
    return restored


def save_model(engine, path: Path, state: dict | None = None) -> None:
    """Write what ``engine`` learned (or an already taken ``state``) to ``path``, durably."""
    write_durably(Path(path), json.dumps(state if state is not None else engine.state_dict()).encode())
