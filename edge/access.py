"""One door's access logic: the local badge decision and the door state machine.

Everything here runs on the node without the network: a badge is hashed with the site
key, looked up in the cached grant list, and the strike switches before anything is
published (events go through the outbox afterwards).

Door states and what they report::

    locked ──badge granted / exit button / unlock_once──► unlocked (N s, capped)
    unlocked ──door closes or N s pass──► locked
    locked ──door opens──► door_opened + door_forced (not within 0.5 s of closing on a
                           granted passage: a chattering contact; door_opened says so)
    open longer than held_open_after_s ──► door_held_open (once per opening)
    fire input ──► fire_release (fail-safe doors released until the alarm clears)
    N denials within T s ──► reader_lockout for L s (every badge denied meanwhile;
                              those and reader errors reported once per 10 s, counted)
    command lockdown ──► only staff badges; exit button still works (egress)
    command release ──► unlocked until command normal
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from typing import Callable

from pydantic import BaseModel, ConfigDict, Field

from station.access import Decision, NodeKeys, command_problem
from station.clock import Clock
from station.contract import DoorAction, DoorCommand, EventKind, GrantRole
from station.inventory import Door

from .commands import CommandLedger
from .devices.strike import DoorStrike
from .grants import GrantCache
from .repeats import RepeatedReports, since_last_report

log = logging.getLogger(__name__)
Emit = Callable[..., object]


class AccessSettings(BaseModel):
    """Access policy of a node: the ``access:`` section of the edge config, as is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unlock_s: float = Field(default=5.0, gt=0, le=60, description="Strike open after a granted badge (capped by the door).")
    lockout_after: int = Field(default=5, ge=1, le=100, description="Denials within lockout_window_s that lock the reader.")
    lockout_window_s: float = Field(default=30.0, gt=0, le=3600)
    lockout_s: float = Field(default=60.0, ge=0, le=3600, description="How long a locked-out reader denies every badge.")
    staff_when_expired: bool = Field(default=True, description="Staff badges still open when the grant list expired.")
    repeats_reported_every_s: float = Field(
        default=10.0, gt=0, le=3600,
        description="Reader errors and badges refused during a lockout are reported at most this often, with the "
                    "count of the others: a flood on the reader's wires must not fill the outbox.")


class DoorController:
    """Ties a door's devices to its grant list; call the ``on_*`` methods from device callbacks."""

    def __init__(self, door: Door, *, strike: DoorStrike, grants: GrantCache, keys: NodeKeys | None,
                 emit: Emit, clock: Clock, ledger: CommandLedger, settings: AccessSettings | None = None,
                 indicators=None):
        self.door, self.space = door, door.space
        self.strike, self.grants, self.keys = strike, grants, keys
        self.emit_event, self.clock = emit, clock
        self.settings = settings or AccessSettings()
        self.indicators = indicators
        self.mode = DoorAction.normal
        self.fire = False
        self.is_open = False
        self.counters: Counter[str] = Counter()
        self._denials: deque[float] = deque()  # on the lockout counter (_elapsed), not dates
        self._locked_out_until: float | None = None
        self.repeats = RepeatedReports(self.settings.repeats_reported_every_s, now=self._elapsed)
        self._held_timer: threading.Timer | None = None
        self._opening = 0
        self._relocked_at: float | None = None  # when the door last closed on a granted passage
        self.ledger = ledger
        self._lock = threading.RLock()
        restored = ledger.get(door.id).mode
        if restored is not DoorAction.normal:  # staff left the door locked down or released
            log.warning("door %s: back in %s mode, as the last staff command left it", door.id, restored.value)
            self._enter_mode(restored)

    def _elapsed(self) -> float:
        """Seconds of the node's clock on a monotonic counter. The reader's lockout counts
        durations: a wall clock that jumps (NTP setting back a Pi that booted a year
        ahead) must neither stretch a 60 s lockout into a year nor cut it short."""
        return time.monotonic() * self.clock.speed

    def _emit(self, kind: EventKind, **fields) -> None:
        self.emit_event(kind, door=self.door.id, space=self.space, **fields)

    # -- badges -------------------------------------------------------------------------
    def on_badge(self, card_number: str, bits: int = 26) -> bool:
        """A card was read: decide locally, switch the strike, then report. True if admitted."""
        now = self.clock.now()
        if self.keys is None:
            self._deny(None, "no site HMAC key configured")
            return False
        credential = self.keys.credential_hash(card_number)
        if self.locked_out:
            self.counters["denied_locked_out"] += 1
            if self.indicators:
                self.indicators.denied()
            unreported = self.repeats.report("locked_out")
            if unreported is not None:
                self._emit(EventKind.access_denied, credential_hash=credential,
                           reason="reader locked out" + since_last_report(unreported))
            return False
        decision = self.grants.decide(self.door.id, credential, now)
        if decision.granted and self.mode is DoorAction.lockdown and decision.role is not GrantRole.staff:
            decision = Decision(False, "door in lockdown", decision.role)
        if decision.granted:
            seconds = self.strike.unlock(self.settings.unlock_s)  # the strike first: latency
            self.counters["granted"] += 1
            if self.indicators:
                self.indicators.granted(seconds / self.clock.speed)
            self._emit(EventKind.access_granted, credential_hash=credential,
                       reason=f"{decision.role.value if decision.role else 'member'}: {decision.reason}")
            return True
        self._deny(credential, decision.reason)
        return False

    def _deny(self, credential: str | None, reason: str) -> None:
        self.counters["denied"] += 1
        if self.indicators:
            self.indicators.denied()
        self._emit(EventKind.access_denied, credential_hash=credential, reason=reason)
        with self._lock:
            now = self._elapsed()
            self._denials.append(now)
            while self._denials and now - self._denials[0] > self.settings.lockout_window_s:
                self._denials.popleft()
            if len(self._denials) >= self.settings.lockout_after:
                self._denials.clear()
                self._locked_out_until = now + self.settings.lockout_s
                lockout = True
            else:
                lockout = False
        if lockout:
            self.counters["lockouts"] += 1
            log.warning("door %s: reader locked out for %.0f s after %d denials", self.door.id,
                        self.settings.lockout_s, self.settings.lockout_after)
            if self.indicators:
                self.indicators.locked_out(self.settings.lockout_s / self.clock.speed)
            self._emit(EventKind.reader_lockout, reason=f"{self.settings.lockout_after} denials within "
                       f"{self.settings.lockout_window_s:g} s; locked out for {self.settings.lockout_s:g} s")

    @property
    def locked_out(self) -> bool:
        return self._locked_out_until is not None and self._elapsed() < self._locked_out_until

    def on_reader_error(self, reason: str) -> None:
        self.counters["reader_errors"] += 1
        unreported = self.repeats.report("reader_error")
        if unreported is not None:
            self._emit(EventKind.reader_error, reason=(reason[:150] + since_last_report(unreported)))

    # -- the door -----------------------------------------------------------------------
    #: A door that opens again this soon after closing (and relocking) on a granted passage
    #: is that passage still: a reed switch chattering at the edge of its gap, slower than
    #: its 20 ms debounce, or a leaf bouncing off the frame. Real seconds: a bounce is physical.
    REOPEN_SETTLE_S = 0.5

    def on_opened(self) -> None:
        with self._lock:
            self.is_open = True
            self._opening += 1
            opening = self._opening
            authorized = self.strike.is_unlocked
            reopened = (not authorized and self._relocked_at is not None
                        and time.monotonic() - self._relocked_at < self.REOPEN_SETTLE_S)
            self._cancel_held_timer()
            self._held_timer = threading.Timer(self.door.held_open_after_s / self.clock.speed,
                                               self._held_open, args=(opening,))
            self._held_timer.daemon = True
            self._held_timer.start()
        if reopened:  # said, not hidden: a door caught before it latched reads the same
            self._emit(EventKind.door_opened, reason=f"again within {self.REOPEN_SETTLE_S:g} s of closing "
                       "after a granted passage (contact chatter or a caught door)")
            return
        self._emit(EventKind.door_opened)
        if not authorized:
            self.counters["forced"] += 1
            log.warning("door %s: opened without a grant or exit request", self.door.id)
            self._emit(EventKind.door_forced, reason="opened while locked")

    def on_closed(self) -> None:
        with self._lock:
            self.is_open = False
            self._cancel_held_timer()
            relock = self.strike.is_unlocked and not self.strike.released
            if relock:
                self._relocked_at = time.monotonic()
        if relock:
            self.strike.lock()
        self._emit(EventKind.door_closed)

    def _held_open(self, opening: int) -> None:
        with self._lock:
            if not self.is_open or opening != self._opening or self.strike.released:
                return
        self.counters["held_open"] += 1
        self._emit(EventKind.door_held_open, reason=f"open longer than {self.door.held_open_after_s:g} s")

    def _cancel_held_timer(self) -> None:
        if self._held_timer is not None:
            self._held_timer.cancel()
            self._held_timer = None

    def on_exit_request(self) -> None:
        if self.mode is DoorAction.release or self.fire:
            return
        self.strike.unlock(self.settings.unlock_s)
        self._emit(EventKind.exit_request)

    # -- fire and tamper ----------------------------------------------------------------
    def on_fire_alarm(self) -> None:
        self.fire = True
        if self.door.lock.value == "fail_safe":
            self.strike.release()
            if self.indicators:
                self.indicators.released(True)
            self._emit(EventKind.fire_release, reason="fire alarm: fail-safe door released")
        else:
            self._emit(EventKind.fire_release, reason="fire alarm: fail-secure door, mechanical egress only")

    def on_fire_cleared(self) -> None:
        if not self.fire:
            return  # the contact settling at start, not the end of an alarm
        self.fire = False
        if self.mode is not DoorAction.release:
            self.strike.lock()
            if self.indicators:
                self.indicators.released(False)
        self._emit(EventKind.fire_cleared)

    def on_tamper(self) -> None:
        self._emit(EventKind.tamper, reason="enclosure opened")

    # -- staff commands -----------------------------------------------------------------
    def apply_command(self, command: DoorCommand) -> bool:
        """Verify and apply a staff command; report ``command_applied`` or ``command_rejected``.

        Refused unless it is for this door, signed by a trusted key, unexpired and newer
        than the last command applied (remembered on disk across restarts).
        """
        with self._lock:
            last = self.ledger.get(self.door.id)
            problem = command_problem(command, resource=self.door.id, ring=self.keys.ring if self.keys else None,
                                      now=self.clock.now(), last_seq=last.seq)
            if problem:
                self.counters["commands_rejected"] += 1
                log.warning("door %s: command rejected: %s", self.door.id, problem)
                self._emit(EventKind.command_rejected, reason=problem[:200], command=command.id)
                return False
            action = command.action
            mode = last.mode if action is DoorAction.unlock_once else action
            kept = True
            try:
                self.ledger.record(self.door.id, command.seq, mode, command.id)  # on disk before it takes effect
            except OSError as exc:
                # A card remounted read-only, a full disk: the node could not refuse a replay
                # of this command after a restart. One that locks the door is applied all the
                # same (fail safe); one that would open it, or lift a lockdown, is not.
                if not (action is DoorAction.lockdown or (action is DoorAction.normal
                                                          and last.mode is DoorAction.release)):
                    problem = (f"command {command.id}: {action.value} cannot be kept on disk "
                               f"({exc.strerror or exc}); only a command that locks is applied")
                    self.counters["commands_rejected"] += 1
                    log.error("door %s: %s", self.door.id, problem)
                    self._emit(EventKind.command_rejected, reason=problem[:200], command=command.id)
                    return False
                log.error("door %s: command %s applied but not kept on disk: %s", self.door.id, command.id, exc)
                self.ledger.remember(self.door.id, command.seq, mode, command.id)
                kept = False
            if action is DoorAction.unlock_once:
                self.strike.unlock(self.settings.unlock_s)
            else:
                self._enter_mode(action)
        reason = f"{action.value} by {command.issued_by}" + ("" if kept else " (not kept on disk)")
        self._emit(EventKind.command_applied, reason=reason[:200], command=command.id)
        return True

    def _enter_mode(self, mode: DoorAction) -> None:
        self.mode = mode
        if mode is DoorAction.release:
            self.strike.release()
        elif not self.fire:
            self.strike.lock()
        if self.indicators:
            self.indicators.released(mode is DoorAction.release)

    def close(self) -> None:
        with self._lock:
            self._cancel_held_timer()
