"""Retention in the collector's stores (:class:`station.privacy.RetentionPolicy`).

- the history: access events (``access_granted``, ``access_denied``) older than
  ``access_events_days`` are folded into per-day ``access_daily`` counts and deleted
  (:mod:`station.history.retention`); occupancy, CO2 and the other measurements hold no
  person and are kept;
- the dead letters: older than ``dead_letters_days`` deleted.

The collector's tick runs :meth:`CollectorRetention.maybe_sweep` (every
``sweep_interval_s``); ``station privacy report`` reads :meth:`held`.
"""

from __future__ import annotations

import logging
from datetime import datetime

from station.privacy import RetentionPolicy

log = logging.getLogger(__name__)


class CollectorRetention:
    def __init__(self, history, dead_letters, policy: RetentionPolicy):
        self.history, self.dead_letters, self.policy = history, dead_letters, policy
        self.last_sweep: datetime | None = None
        self.folded = self.expired_letters = 0

    def sweep(self, now: datetime) -> dict[str, int]:
        done = {"history access events folded": 0, "dead letters": 0}
        if self.history is not None and hasattr(self.history, "forget_people"):
            done["history access events folded"] = self.history.forget_people(
                self.policy.horizon(now, "access_events_days"))
        if self.dead_letters is not None:
            done["dead letters"] = self.dead_letters.purge_before(self.policy.horizon(now, "dead_letters_days"))
        self.last_sweep = now
        self.folded += done["history access events folded"]
        self.expired_letters += done["dead letters"]
        if any(done.values()):
            log.info("retention: %s", ", ".join(f"{k} {v}" for k, v in done.items() if v))
        return done

    def maybe_sweep(self, now: datetime) -> dict[str, int] | None:
        if not self.policy.sweep_due(self.last_sweep, now):
            return None
        try:
            return self.sweep(now)
        except Exception:  # a history away: the next sweep tries again
            log.exception("retention sweep failed")
            self.last_sweep = now
            return None

    def held(self) -> list[dict]:
        """Per store and kind: rows, oldest, horizon (days; None = kept, no person)."""
        out = []
        if self.history is not None and hasattr(self.history, "held"):
            store = "history (InfluxDB)" if type(self.history).__name__ == "InfluxHistory" else "history (SQLite)"
            for what, rows, oldest in self.history.held():
                horizon = self.policy.access_events_days if what.startswith("event (person") else None
                out.append({"store": store, "what": what, "rows": rows,
                            "oldest": oldest.isoformat() if oldest else None, "horizon_days": horizon})
        if self.dead_letters is not None:
            oldest = self.dead_letters.oldest()
            out.append({"store": "collector dead letters", "what": "refused messages (excerpts)",
                        "rows": self.dead_letters.count(), "oldest": oldest.isoformat() if oldest else None,
                        "horizon_days": self.policy.dead_letters_days})
        return out
