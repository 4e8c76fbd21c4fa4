"""A node's wall clock jumps (a Pi without a real-time clock, NTP correcting it): what it
counts in durations must not stretch or shrink with the jump."""

from datetime import datetime, timedelta, timezone

from gpiozero.pins.mock import MockFactory

from edge.access import AccessSettings, DoorController
from edge.commands import CommandLedger
from edge.devices.strike import DoorStrike
from edge.grants import GrantCache
from station.clock import Clock
from tests.conftest import wait_until
from tests.edge.helpers import EventListener, KeySet

MEMBER, STRANGER = 1001, 6666


class JumpingClock(Clock):
    """The wall clock, off by ``offset`` (set it to make the clock jump)."""

    offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset


def test_a_reader_lockout_lasts_its_seconds_when_the_clock_jumps_back(inventory, tmp_path):
    """The node booted a year ahead; five strangers lock the reader out for 0.3 s; NTP then
    sets the clock back a year. The lockout must end after its 0.3 s — not a year later."""
    keys = KeySet(tmp_path / "keys")
    door = inventory.door("porte-salle-aiguillage")[1]
    clock = JumpingClock()
    grants = GrantCache(tmp_path / "grants", "la-station", [door.id], keys.site)
    clock.offset = timedelta(days=365)
    grants.update(door.id, keys.grants(door.id, 1, {str(MEMBER): "staff"}, now=clock.now()))
    strike = DoorStrike(17, lock="fail_secure", clock=clock, pin_factory=MockFactory())
    access = AccessSettings(lockout_after=5, lockout_window_s=30, lockout_s=0.3)
    ctl = DoorController(door, strike=strike, grants=grants, keys=keys.site, emit=lambda *a, **k: None,
                         clock=clock, ledger=CommandLedger(tmp_path / "commands"), settings=access)
    try:
        for n in range(5):
            ctl.on_badge(str(STRANGER + n))
        assert ctl.locked_out
        clock.offset = timedelta(0)  # NTP: a year back
        wait_until(lambda: not ctl.locked_out, timeout=3)
        assert ctl.on_badge(str(MEMBER)) and strike.is_unlocked
    finally:
        ctl.close()
        strike.close()


def test_a_machine_session_ended_by_a_clock_jump_is_still_reported_off(inventory, mqtt_settings, tmp_path):
    """The clock leaps 8 days ahead during a laser session (a bad NTP answer): the node cuts
    the session — by its clock it is long over — and the usage log must hear of it. An
    on-time past the contract's bound (7 days) made the ``machine_off`` event itself
    invalid, and the end of the session was lost."""
    from tests.edge.machine_rig import MachineRig, machine_grants, publish_machine_grants
    from tests.utils.clocks import ManualClock

    keys, clock = KeySet(tmp_path / "keys"), ManualClock()
    grants = machine_grants(keys, clock.now(), trained=[MEMBER])
    publish_machine_grants(mqtt_settings, grants, client_id="api-clock-jump")
    events = EventListener(mqtt_settings, "listen-clock-jump", site="la-station")
    with events, MachineRig(inventory, mqtt_settings, keys, tmp_path / "node", clock=clock) as rig:
        wait_until(lambda: rig.node.grants.versions() == {grants.machine: grants.version}, timeout=5)
        rig.amps = 4.0
        assert rig.controller.on_badge(str(MEMBER)) and rig.relay_on
        clock.advance(days=8)
        wait_until(lambda: not rig.relay_on, timeout=5)
        wait_until(lambda: events.of("machine_off"), timeout=5)
    off = events.of("machine_off")[0]
    assert off.credential_hash == keys.credential(MEMBER) and 0 <= off.duration_s <= 7 * 86400
