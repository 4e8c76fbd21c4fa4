"""La Station: building occupancy and smart access for tiers-lieux."""

__version__ = "0.1.0"
