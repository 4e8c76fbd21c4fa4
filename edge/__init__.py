"""La Station."""
