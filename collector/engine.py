"""The occupancy engine (kept at this path for its importers): see :mod:`collector.occupancy`."""

from .occupancy import EngineSettings, OccupancyEngine, SpaceState

__all__ = ["EngineSettings", "OccupancyEngine", "SpaceState"]
