"""A door node whose files were damaged at rest (an SD card that lost a sector, a power
cut on a worn card): it boots, keeps deciding from what is still good, and says what it
set aside. Attacks of the edge review (power cut at every stage, garbage files)."""

import json
import os
import stat

import pytest

from edge.commands import CommandLedger
from edge.outbox import Outbox
from station.contract import DoorAction
from tests.conftest import wait_until
from tests.edge.helpers import EventListener, KeySet
from tests.edge.rig import DOOR, DoorRig
from tests.edge.test_door_access import publish_grants

MEMBER = 1001


@pytest.fixture()
def keys(tmp_path):
    return KeySet(tmp_path / "keys")


def put(box: Outbox) -> int:
    return box.append("event", "t", lambda seq: f"event {seq}".encode())


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_an_outbox_that_is_no_longer_a_database_is_set_aside_and_a_fresh_one_started(tmp_path, damage):
    path = tmp_path / "outbox.sqlite3"
    if damage == "garbage":
        path.write_bytes(os.urandom(8192))
    else:
        box = Outbox(path)
        for _ in range(300):
            put(box)
        box.close()
        raw = path.read_bytes()
        path.write_bytes(raw[: len(raw) // 2 + 7])  # a power cut on a card that lost its cache
    box = Outbox(path)
    assert box.depth == 0 and put(box) >= 1
    assert box.set_aside is not None and box.set_aside.exists()
    assert box.set_aside.name.startswith("outbox.sqlite3.damaged-")
    assert stat.S_IMODE(box.set_aside.stat().st_mode) & 0o077 == 0  # kept for the operator, still private
    box.close()
    assert Outbox(path).set_aside is None  # the fresh one opens as any other


def test_a_zero_length_outbox_is_an_empty_one(tmp_path):
    path = tmp_path / "outbox.sqlite3"
    path.write_bytes(b"")
    box = Outbox(path)
    assert box.depth == 0 and put(box) == 1 and box.set_aside is None


def test_a_door_node_with_a_garbage_outbox_boots_admits_its_member_and_says_so(inventory, mqtt_settings, keys,
                                                                               tmp_path):
    data = tmp_path / "node"
    data.mkdir()
    (data / "outbox.sqlite3").write_bytes(b"\x00garbage" * 1000)
    publish_grants(mqtt_settings, keys.grants(DOOR, 1, {str(MEMBER): "member"}))
    with EventListener(mqtt_settings, "listener-damaged") as listener:
        with DoorRig(inventory, mqtt_settings, keys, data) as rig:
            wait_until(lambda: rig.node.grants.versions().get(DOOR) == 1, timeout=5)
            rig.badge(MEMBER)
            wait_until(lambda: rig.unlocked, timeout=2)
            wait_until(lambda: listener.of("outbox_alarm") and listener.of("access_granted"), timeout=5)
    assert "set aside" in listener.of("outbox_alarm")[0].reason


@pytest.mark.parametrize("text", ['{"seq": Infinity, "mode": "normal"}', '{"seq": 1e999, "mode": "lockdown"}',
                                  '{"seq": NaN, "mode": "release"}', "\x00" * 64, ""])
def test_a_damaged_command_ledger_refuses_old_commands_and_never_stops_the_node(tmp_path, text):
    ledger = CommandLedger(tmp_path / "commands")
    (tmp_path / "commands" / f"{DOOR}.json").write_text(text)
    applied = ledger.get(DOOR)
    assert applied.mode is DoorAction.normal  # never released by a damaged file
    assert applied.seq > 1_700_000_000_000  # commands issued before now are refused


def test_a_ledger_written_then_cut_keeps_the_last_good_entry(tmp_path):
    """A power cut mid-write leaves a temporary file beside the ledger, never half a ledger."""
    ledger = CommandLedger(tmp_path / "commands")
    ledger.record(DOOR, 7, DoorAction.lockdown, "cmd-7")
    (tmp_path / "commands" / f"{DOOR}.12345.tmp").write_text('{"seq": 8, "mo')  # the cut
    assert ledger.get(DOOR).seq == 7 and ledger.get(DOOR).mode is DoorAction.lockdown
    assert json.loads((tmp_path / "commands" / f"{DOOR}.json").read_text())["command"] == "cmd-7"


def test_a_grant_cache_and_ledger_left_readable_by_others_are_tightened_at_boot(tmp_path):
    from edge.grants import GrantCache

    keys = KeySet(tmp_path / "keys")
    cache_dir, ledger_dir = tmp_path / "grants", tmp_path / "commands"
    GrantCache(cache_dir, "la-station", [DOOR], keys.site).update(DOOR, keys.grants(DOOR, 1, {str(MEMBER): "member"}))
    CommandLedger(ledger_dir).record(DOOR, 5, DoorAction.lockdown, "cmd-5")
    cached, applied = cache_dir / f"{DOOR}.json", ledger_dir / f"{DOOR}.json"
    for path in (cached, applied):
        path.chmod(0o644)  # restored from a backup, copied by hand
    cache = GrantCache(cache_dir, "la-station", [DOOR], keys.site)
    ledger = CommandLedger(ledger_dir)
    assert cache.versions() == {DOOR: 1} and ledger.get(DOOR).mode is DoorAction.lockdown
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600
    assert stat.S_IMODE(applied.stat().st_mode) == 0o600


def test_a_ledger_that_cannot_be_written_still_takes_a_lockdown_but_never_a_release(tmp_path):
    """An SD card remounted read-only after an error (ext4 ``errors=remount-ro``): staff's
    lockdown must still lock the door; a command that would open it is refused, since the
    node could not remember it had applied it (a replay after a restart)."""
    from gpiozero.pins.mock import MockFactory

    from edge.access import DoorController
    from edge.devices.strike import DoorStrike
    from edge.grants import GrantCache
    from station.clock import Clock

    keys = KeySet(tmp_path / "keys")
    from station.inventory import DEFAULT_INVENTORY, load_inventory

    door = load_inventory(DEFAULT_INVENTORY).door(DOOR)[1]
    events = []
    ledger = CommandLedger(tmp_path / "commands")
    strike = DoorStrike(17, lock=door.lock.value, pin_factory=MockFactory())
    ctl = DoorController(door, strike=strike, grants=GrantCache(tmp_path / "grants", "la-station", [DOOR], keys.site),
                         keys=keys.site, emit=lambda kind, **f: events.append((kind.value, f)), clock=Clock(),
                         ledger=ledger)
    (tmp_path / "commands").rename(tmp_path / "commands.gone")
    (tmp_path / "commands").write_text("")  # every write in it now fails
    release = keys.command(DOOR, "release")
    assert not ctl.apply_command(release) and not strike.is_unlocked
    assert "cannot be kept on disk" in events[-1][1]["reason"]
    lockdown = keys.command(DOOR, "lockdown")
    assert ctl.apply_command(lockdown) and ctl.mode is DoorAction.lockdown
    assert "not kept on disk" in events[-1][1]["reason"]
    assert not ctl.apply_command(lockdown)  # a replay in the same run: refused from memory
    assert not ctl.apply_command(keys.command(DOOR, "unlock_once")) and not strike.is_unlocked
    strike.close()


def test_an_outbox_locked_by_another_process_is_never_set_aside(tmp_path):
    import sqlite3

    path = tmp_path / "outbox.sqlite3"
    box = Outbox(path)
    put(box)
    box.close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("pragma journal_mode=delete")  # leave WAL, then hold an exclusive lock
    other.execute("begin exclusive")
    try:
        with pytest.raises(sqlite3.OperationalError):
            Outbox(path)  # waits out its 5 s busy timeout, then raises
    finally:
        other.execute("rollback")
        other.close()
    again = Outbox(path)
    assert again.set_aside is None and again.depth == 1
