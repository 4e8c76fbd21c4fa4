"""One machine's power logic: the local badge decision, the relay, idle and safety cuts.

Everything runs on the node without the network: a badge is hashed, looked up in the
machine's cached, signed list (the machine rule of :mod:`station.access.grants`), and
the relay closes before anything is reported (events go through the outbox)::

    off ──badge granted, safety inputs healthy──► on (machine_on)
    on ──same member badges again──► off (machine_off, reason badge)
    on ──idle for idle.after_min──► warning ──idle.grace_s, still idle──► off (reason idle)
                                     └── activity resumes ──► on (warning withdrawn)
    on ──session end − grace (booking end, next booking, closing, max session)──► warning ──► off (session_end)
    on ──new list says out of order──► warning ──grace──► off (out_of_order)
    any ──E-stop opened / extraction stopped──► off at once (machine_fault + machine_off)

A running job is never cut without the warning first, except by a safety input: the
E-stop and the extraction interlock cut at once — and in hardware before the software
even hears of it (hardware/wiring-machine-node.md). ``machine_off`` carries
``duration_s``: the relay's on-time in the node's clock, what the usage log bills —
bounded to 0 … 7 days (the contract's range), so that a clock jump never loses the event.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

from gpiozero import OutputDevice

from station.access import Decision, NodeKeys
from station.clock import Clock
from station.contract import EventKind
from station.contract.models import MAX_DURATION_S
from station.durable import write_durably
from station.inventory import Machine

from .devices.machine_io import CurrentClamp, MachineIndicators, RunningInput, SafetyContact
from .grants import GrantCache
from .repeats import RepeatedReports, since_last_report

log = logging.getLogger(__name__)
Emit = Callable[..., object]

SAFETY_REASONS = {"estop": "emergency stop pressed", "extraction": "extraction not running"}
MAX_ON_TIME = timedelta(seconds=MAX_DURATION_S)  # what NodeEvent.duration_s may say


@dataclass
class Session:
    credential: str
    started: datetime
    ends: datetime
    decision: Decision


class MachineController:
    """Ties a machine's devices to its grant list; call the ``on_*`` methods from callbacks."""

    def __init__(self, machine: Machine, *, relay: OutputDevice, grants: GrantCache, keys: NodeKeys | None,
                 emit: Emit, clock: Clock, indicators: MachineIndicators | None = None,
                 safety: dict[str, SafetyContact] | None = None, running: RunningInput | None = None,
                 clamp: CurrentClamp | None = None, tick_s: float = 0.2, session_file: Path | None = None,
                 repeats_reported_every_s: float = 10.0):
        self.machine, self.relay, self.grants, self.keys = machine, relay, grants, keys
        self.emit_event, self.clock, self.indicators = emit, clock, indicators
        self.safety = safety or {}
        self.running, self.clamp = running, clamp
        self.tick_s = tick_s
        self.session_file = session_file  # the session under way, on disk: a power cut still reports it
        self._noted_at: datetime | None = None
        self._note_lock = threading.Lock()
        self.session: Session | None = None
        self.counters: Counter[str] = Counter()  # on, off, denied, faults
        # Denials (by reason) and reader errors: reported once per period, the rest counted —
        # a machine's reader has no lockout, and taps on it must not fill the outbox.
        self.repeats = RepeatedReports(repeats_reported_every_s)
        self.warning: tuple[str, datetime] | None = None  # (reason, cut at)
        self._active_at: datetime | None = None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._supervise, name=f"{machine.id}-supervise", daemon=True)

    NOTE_EVERY = timedelta(minutes=1)

    def start(self) -> "MachineController":
        self._report_lost_session()
        self._thread.start()
        return self

    # -- the session on disk ------------------------------------------------------------
    def _note(self, now: datetime) -> None:
        """Write the session under way (who, since when, last seen running) durably."""
        session = self.session
        if self.session_file is None or session is None:
            return
        with self._note_lock:  # the badge thread and the supervisor's tick both note
            write_durably(self.session_file, json.dumps({"credential": session.credential,
                                                         "started": session.started.isoformat(),
                                                         "seen": now.isoformat()}).encode())
            self._noted_at = now  # once on disk: a failed write is tried again at the next tick

    def _forget(self) -> None:
        if self.session_file is not None:
            self.session_file.unlink(missing_ok=True)

    def _report_lost_session(self) -> None:
        """A session the node was running when it lost power (or crashed): report it off,
        with its on-time up to the last time it was noted (a lower bound, ≤ 1 min short)."""
        if self.session_file is None or not self.session_file.exists():
            return
        try:
            data = json.loads(self.session_file.read_text())
            started, seen = datetime.fromisoformat(data["started"]), datetime.fromisoformat(data["seen"])
            self._emit(EventKind.machine_off, credential_hash=data["credential"], reason="node_restart",
                       duration_s=self._on_time(started, seen))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("%s: unreadable (%s); the lost session is not reported", self.session_file, exc)
        self._forget()

    def _emit(self, kind: EventKind, **fields) -> None:
        self.emit_event(kind, machine=self.machine.id, space=self.machine.space, **fields)

    @property
    def powered(self) -> bool:
        return bool(self.relay.value)

    # -- badges -------------------------------------------------------------------------
    def on_badge(self, card_number: str, bits: int = 26) -> bool:
        """A card was read: switch on (decided locally) or off. True if the relay is now on."""
        now = self.clock.now()
        if self.keys is None:
            self._deny(None, "no site HMAC key configured")
            return False
        credential = self.keys.credential_hash(card_number)
        with self._lock:
            if self.session is not None:
                if credential == self.session.credential:
                    self._off("badge", now)
                    return False
                self._deny(credential, "in use by another member")
                return True
            decision = self.grants.decide(self.machine.id, credential, now)
            if decision.granted:
                unsafe = self._unsafe()
                if unsafe:
                    decision = Decision(False, SAFETY_REASONS[unsafe], decision.role)
            if not decision.granted:
                self._deny(credential, decision.reason)
                return False
            self.relay.on()  # first: this is the latency that matters
            self.counters["on"] += 1
            limit = now + timedelta(minutes=self.machine.max_session_minutes)
            ends = min(decision.until, limit) if decision.until else limit
            self.session = Session(credential, now, ends, decision)
            self._active_at, self.warning = now, None
        self._note(now)
        if self.indicators:
            self.indicators.powered(True)
        self._emit(EventKind.machine_on, credential_hash=credential,
                   reason=f"{decision.reason}; until {ends.isoformat(timespec='minutes')}")
        return True

    def _deny(self, credential: str | None, reason: str) -> None:
        self.counters["denied"] += 1
        if self.indicators and self.session is None:
            self.indicators.denied()
        unreported = self.repeats.report(f"denied: {reason}")
        if unreported is not None:
            self._emit(EventKind.machine_denied, credential_hash=credential,
                       reason=(reason[:150] + since_last_report(unreported)))

    def on_reader_error(self, reason: str) -> None:
        self.counters["reader_errors"] += 1
        unreported = self.repeats.report("reader_error")
        if unreported is not None:
            self._emit(EventKind.reader_error, reason=(reason[:150] + since_last_report(unreported)))

    def _unsafe(self) -> str | None:
        """The first required safety input that is not healthy."""
        for need in self.machine.safety:
            contact = self.safety.get(need.value)
            if contact is not None and not contact.healthy:
                return need.value
        return None

    def power_off(self, reason: str = "staff") -> None:
        """Switch off now (reported, with the on-time)."""
        self._off(reason, self.clock.now())

    def _off(self, reason: str, now: datetime) -> None:
        with self._lock:
            self.relay.off()
            session, self.session, self.warning = self.session, None, None
        if session is None:
            return
        self._forget()
        self.counters["off"] += 1
        if self.indicators:
            self.indicators.powered(False)
        self._emit(EventKind.machine_off, credential_hash=session.credential, reason=reason,
                   duration_s=self._on_time(session.started, now))

    def _on_time(self, started: datetime, ended: datetime) -> float:
        """Seconds the relay was on, by the node's clock, within what ``machine_off`` may say
        (0 … MAX_ON_TIME). A clock that jumped (a bad NTP answer, a Pi booting far off)
        can make it negative or absurd; out of range, the event itself would be invalid and
        the end of the session never reported — so it is bounded, and the jump logged."""
        seconds = (ended - started).total_seconds()
        if not 0 <= seconds <= MAX_ON_TIME.total_seconds():
            log.warning("machine %s: on-time %.0f s by the clock (did it jump?); reported as %s", self.machine.id,
                        seconds, "0" if seconds < 0 else f"{MAX_ON_TIME.total_seconds():.0f}")
        return round(min(max(0.0, seconds), MAX_ON_TIME.total_seconds()), 3)

    # -- safety -------------------------------------------------------------------------
    def on_safety_fault(self, name: str) -> None:
        """E-stop opened or extraction stopped: off at once, then report."""
        if name not in {s.value for s in self.machine.safety}:
            return
        was_on = self.session is not None
        self.relay.off()
        if self.indicators:
            self.indicators.fault()
        self._emit(EventKind.machine_fault, reason=SAFETY_REASONS[name] + ("; power cut" if was_on else ""))
        if was_on:
            self._off(name, self.clock.now())
            if self.indicators:
                self.indicators.fault()

    def on_safety_restored(self, name: str) -> None:
        if self.indicators and self._unsafe() is None and self.session is None:
            self.indicators.powered(False)
        log.info("machine %s: %s healthy again", self.machine.id, name)

    # -- the list changed ---------------------------------------------------------------
    def grants_changed(self) -> None:
        """A new list arrived: out of order while powered → warning, then cut."""
        grants = self.grants.get(self.machine.id)
        if grants is not None and grants.out_of_order and self.session is not None:
            self._warn("out_of_order", self.clock.now())

    # -- time passing -------------------------------------------------------------------
    def _idle(self) -> bool | None:
        """True when the machine draws no work (None: no idle detection)."""
        sensor = self.machine.idle.sensor
        if sensor == "current" and self.clamp is not None:
            return self.clamp.read_amps() < self.machine.idle.threshold_a
        if sensor == "running" and self.running is not None:
            return not self.running.running
        return None

    def _warn(self, reason: str, now: datetime, cut_at: datetime | None = None) -> None:
        cut_at = cut_at or now + timedelta(seconds=self.machine.idle.grace_s)
        with self._lock:
            if self.session is None or (self.warning is not None and self.warning[1] <= cut_at):
                return  # already warned, for a cut no later than this one
            self.warning = (reason, cut_at)
        log.info("machine %s: warning (%s), power off at %s", self.machine.id, reason, self.warning[1])
        if self.indicators:
            self.indicators.warning()

    def tick(self) -> None:
        """One look at the session: idle, session end, a warning's deadline."""
        now = self.clock.now()
        session = self.session
        if session is None:
            return
        if self._noted_at is None or now - self._noted_at >= self.NOTE_EVERY:
            self._note(now)
        idle = self._idle()
        if idle is False:
            self._active_at = now
            if self.warning is not None and self.warning[0] == "idle":
                with self._lock:
                    self.warning = None
                if self.indicators:
                    self.indicators.powered(True)
        grace = timedelta(seconds=self.machine.idle.grace_s)
        if idle and self._active_at is not None and \
                now - self._active_at >= timedelta(minutes=self.machine.idle.after_min):
            self._warn("idle", now)
        if now >= session.ends - grace:
            self._warn("session_end", now, cut_at=max(session.ends, now))
        warning = self.warning
        if warning is not None and now >= warning[1]:
            self._off(warning[0], now)

    def _supervise(self) -> None:
        while not self._stop.wait(self.tick_s):
            try:
                self.tick()
            except Exception:  # never let the supervisor die: the safety inputs still cut
                log.exception("machine %s: supervision failed", self.machine.id)

    def close(self) -> None:
        """Node stopping: power off (reported) and stop watching."""
        self._stop.set()
        if self.session is not None:
            self._off("node_stop", self.clock.now())
        self.relay.off()


def build_machine(node) -> MachineController:
    """A machine node's devices on its profile's pins, wired to its controller (``node`` is
    the :class:`edge.node.EdgeNode`; its devices join ``node._devices``)."""
    from .devices.analog import open_mcp3008
    from .devices.wiegand import WiegandReader

    pins, f, options = node.profile.pins, node.pin_factory, node.profile.options
    machine = node.machines[node.node.machines[0]]
    relay = OutputDevice(pins["power_relay"], active_high=bool(options.get("relay_active_high", True)),
                         initial_value=False, pin_factory=f)
    indicators = MachineIndicators(pins["led_green"], pins["led_red"], pins["buzzer"], pin_factory=f)
    safety = {"estop": SafetyContact(pins["estop"], pin_factory=f),
              "extraction": SafetyContact(pins["extraction"], pin_factory=f)}
    running = RunningInput(pins["running"], pin_factory=f)
    clamp = None
    if machine.idle.sensor == "current":
        adc = node.adc if getattr(node, "adc", None) is not None else open_mcp3008(machine.idle.channel, pin_factory=f)
        clamp = CurrentClamp(adc, amps_per_volt=float(options.get("ct_amps_per_volt", 30)),
                             samples=int(options.get("ct_samples", 64)))
    reader = WiegandReader(pins["wiegand_d0"], pins["wiegand_d1"], pin_factory=f,
                           frame_gap_s=float(options.get("wiegand_frame_gap_s", 0.010)),
                           formats=tuple(options.get("wiegand_formats", (26, 34))))
    ctl = MachineController(machine, relay=relay, grants=node.grants, keys=node.keys, emit=node.emit,
                            clock=node.clock, indicators=indicators, safety=safety, running=running, clamp=clamp,
                            tick_s=float(options.get("machine_tick_s", 0.2)),
                            session_file=node.data_dir / "machine-session.json",
                            repeats_reported_every_s=node.access.repeats_reported_every_s)
    reader.when_read = ctl.on_badge
    reader.when_error = ctl.on_reader_error
    for name, contact in safety.items():
        contact.when_fault = lambda name=name: ctl.on_safety_fault(name)
        contact.when_restored = lambda name=name: ctl.on_safety_restored(name)
    node.relay, node.indicators, node.reader, node.safety, node.running = relay, indicators, reader, safety, running
    node._devices += [relay, indicators, *safety.values(), running, reader]
    return ctl.start()
