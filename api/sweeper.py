"""What the passing of time changes: no-shows released, grant lists re-issued, statuses updated.

Every ``sweep_interval_s`` (wall seconds): bookings still unchecked ``no_show_minutes``
after their start, in a space with no occupancy since the start, are released as
``no_show`` (audited; the member sees why on the board) — unless a door of the space
cannot be heard (its node offline or silent, or back for less than ``BACK_ONLINE_S``): a
door admits offline, and the badge-in comes with the node's outbox; grant lists near their expiry
are re-issued; rooms whose status changed with the clock are published; lists the
broker lost are published again; personal data past its horizon is removed or
anonymised (:mod:`api.retention`, every ``retention.sweep_interval_s``). The no-show release waits until the access log has
processed the backlog of a restart (:attr:`api.access_log.AccessLog.drained`): a member
who badged in while the API was down is checked in, not released.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from sqlalchemy import select

from . import audit
from .db.models import Booking, BookingStatus, move_if

log = logging.getLogger(__name__)


class Sweeper:
    #: A door node back online holds its space's no-shows this long: its outbox (the
    #: badge-ins made while it was cut off) comes through first.
    BACK_ONLINE_S = 30.0

    def __init__(self, runtime):
        self.runtime = runtime
        self.released = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="api-sweeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)

    def sweep(self) -> list[int]:
        """One pass; the ids of the bookings released as no-shows."""
        rt = self.runtime
        now = rt.clock.now()
        released = self.release_no_shows(now) if rt.access_log.drained else []
        rt.grants.refresh_all(now)
        rt.grants.publish_missing()
        rt.rooms.refresh(now)
        rt.retention.maybe_sweep(now)  # every retention.sweep_interval_s (api/retention.py)
        return released

    def release_no_shows(self, now: datetime) -> list[int]:
        rt = self.runtime
        cutoff = now - timedelta(minutes=rt.settings.no_show_minutes)
        released, spaces = [], set()
        with rt.db.session() as s:
            late = s.execute(select(Booking).where(Booking.status == BookingStatus.confirmed,
                                                   Booking.start <= cutoff, Booking.end > now)).scalars().all()
            due = []  # judged first, written after: no write lock is held while judging
            for booking in late:
                occ = rt.occupancy.get(booking.space_id)
                seen = rt.occupancy.last_occupied.get(booking.space_id)
                if (occ is not None and occ.occupied) or (seen is not None and seen >= booking.start):
                    continue
                if self.door_unheard(booking.space_id, now):
                    continue  # someone may have badged in at a door that works offline
                due.append(booking)
            for booking in due:
                if not move_if(s, Booking, booking.id, [BookingStatus.confirmed], status=BookingStatus.no_show,
                               ended_at=now):
                    continue  # checked in (or cancelled) meanwhile, by this API's access log or another's
                audit.record(s, now, "booking_no_show", "api", member_id=booking.member_id,
                             space_id=booking.space_id, detail={"booking": booking.id})
                released.append(booking.id)
                spaces.add(booking.space_id)
        for space in spaces:
            rt.space_changed(space)
        self.released += len(released)
        return released

    def door_unheard(self, space_id: str, now: datetime) -> bool:
        """Whether a door of the space has a node the API cannot hear: offline, silent
        (stale), or back online for less than :attr:`BACK_ONLINE_S`. A node never heard
        since the start (``unknown``) does not hold the release."""
        rt = self.runtime
        doors = {d.id for d in rt.inventory.doors_of(space_id)}
        for _, node in rt.inventory.nodes():
            if not doors & set(node.doors):
                continue
            state = rt.fleet.state(node.id)
            if state in ("offline", "stale"):
                return True
            since = rt.fleet.since.get(node.id)
            if state == "online" and since is not None and 0 <= (now - since).total_seconds() < self.BACK_ONLINE_S:
                return True
        return False

    def _loop(self) -> None:
        while not self._stop.wait(self.runtime.settings.sweep_interval_s):
            try:
                self.sweep()
            except Exception:  # the sweeper must outlive a bad moment (database restarting...)
                log.exception("sweep failed")
