"""Door strike (or magnetic lock) through a relay.

Wiring: relay module IN to the GPIO, VCC 5 V, GND; the relay's contacts switch the
lock's own 12/24 V supply (never the Pi's). Put a flyback diode (1N4007) across the lock
coil, cathode to +. A *fail-secure* strike unlocks when powered (it stays locked in a
power cut); a *fail-safe* strike or maglock unlocks when unpowered (fire egress).
``active_high`` says whether the relay module switches on with a high or a low input.

    >>> from gpiozero.pins.mock import MockFactory
    >>> with DoorStrike(17, lock="fail_secure", pin_factory=MockFactory()) as strike:
    ...     strike.unlock(5)       # relocks by itself after 5 s (at most max_unlock_s)
"""

from __future__ import annotations

import threading

from gpiozero import OutputDevice

from station.clock import Clock


class DoorStrike:
    """``unlock(seconds)``, ``lock()``, ``release()`` (held open until ``lock()``), ``is_unlocked``.

    An ``unlock`` never lasts longer than ``max_unlock_s``: a stuck caller cannot leave
    the door open. ``release()`` is the deliberate exception (fire, staff command).
    Durations are in ``clock`` seconds (an accelerated clock shortens them).
    """

    def __init__(self, pin, *, lock: str = "fail_secure", active_high: bool = True,
                 max_unlock_s: float = 10.0, clock: Clock | None = None, pin_factory=None):
        if lock not in ("fail_safe", "fail_secure"):
            raise ValueError("lock must be fail_safe or fail_secure")
        self.lock_type = lock
        self.max_unlock_s = max_unlock_s
        self.clock = clock or Clock()
        self.released = False
        self._timer: threading.Timer | None = None
        self._mutex = threading.Lock()
        self._relay = OutputDevice(pin, active_high=active_high, initial_value=self._energized(False),
                                   pin_factory=pin_factory)

    def _energized(self, unlocked: bool) -> bool:
        return unlocked if self.lock_type == "fail_secure" else not unlocked

    @property
    def is_unlocked(self) -> bool:
        return bool(self._relay.value) == self._energized(True)

    def unlock(self, seconds: float) -> float:
        """Unlock now and relock after ``seconds`` (capped); return the duration used."""
        seconds = max(0.0, min(seconds, self.max_unlock_s))
        self._relay.value = self._energized(True)  # first: this is the latency that matters
        with self._mutex:
            if self._timer:
                self._timer.cancel()
            if not self.released:
                self._timer = threading.Timer(seconds / self.clock.speed, self._expire)
                self._timer.daemon = True
                self._timer.start()
        return seconds

    def _expire(self) -> None:
        with self._mutex:
            if self.released:
                return
            self._timer = None
        self.lock()

    def lock(self) -> None:
        """Lock now, cancelling a pending unlock or a release."""
        with self._mutex:
            if self._timer:
                self._timer.cancel()
                self._timer = None
            self.released = False
            self._relay.value = self._energized(False)

    def release(self) -> None:
        """Unlock until ``lock()``: fire alarm or staff ``release`` command."""
        with self._mutex:
            if self._timer:
                self._timer.cancel()
                self._timer = None
            self.released = True
            self._relay.value = self._energized(True)

    def close(self) -> None:
        with self._mutex:
            if self._timer:
                self._timer.cancel()
        self._relay.close()

    def __enter__(self) -> "DoorStrike":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
