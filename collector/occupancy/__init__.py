"""Occupancy: per space, a Bayesian filter over "nobody / n people" and what it learns of the room.

- :mod:`.belief` — the hidden Markov model (states, transitions, likelihoods);
- :mod:`.learn` — the CO2 baseline, the ventilation, the lamps, the PIR, learned online;
- :mod:`.space` — what is held per space, the settings, the snapshot and its reason;
- :mod:`.engine` — :class:`OccupancyEngine`, what the collector feeds and asks;
- :mod:`.store` — the learned model on disk, in the collector's state directory.
"""

from .belief import Belief, Rates, count_grid
from .engine import OccupancyEngine
from .space import EngineSettings, SpaceState
from .learn import AirModel, LampModel, MotionModel

__all__ = ["AirModel", "Belief", "EngineSettings", "LampModel", "MotionModel", "OccupancyEngine", "Rates",
           "SpaceState", "count_grid"]
