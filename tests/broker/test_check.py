"""`station broker check` against a real broker started from the generated configuration."""

from __future__ import annotations

import re

import pytest

from station.broker.check import load_config, run_check
from lastation.cli import app
from tests.utils.cli import flat, invoke

from .conftest import start_central

pytestmark = pytest.mark.mosquitto


def test_check_prints_every_refusal_and_exits_0(gen_root, inventory):
    central = start_central(gen_root, inventory, tls_dir=gen_root / "tls")
    try:
        res = invoke(app, ["broker", "check", "--config", str(central.result.out), "--host", "127.0.0.1",
                           "--timeout", "2"])
    finally:
        central.broker.stop()
    assert res.exit_code == 0, res.output
    out = flat(res.output)
    assert "Not authorized (0x87)" in out
    assert "nothing forbidden arrived" in out
    refused, total = map(int, re.search(r"(\d+) of (\d+) forbidden attempts refused", out).groups())
    assert refused == total > 100
    for user in ("dashboard", "collector", "api", "bridge-bus-fablab", "ls-porte-guichet", "(anonymous)"):
        assert user in out


def test_check_reports_a_hole_in_the_acl_and_exits_1(gen_root, inventory):
    central = start_central(gen_root, inventory)
    central.broker.stop()
    acl = central.result.out / "acl"
    # An operator "fixes" something by hand: the dashboard may now write occupancy and read grants.
    acl.write_text(acl.read_text().replace(
        "user dashboard\n", "user dashboard\ntopic readwrite station/v1/+/rooms/+/occupancy\n"
                            "topic read station/v1/+/doors/+/grants\n"))
    central.broker.start()
    try:
        cfg = load_config(central.result.out, host="127.0.0.1")
        attempts = run_check(cfg, only={"dashboard"}, timeout=2)
        res = invoke(app, ["broker", "check", "--config", str(central.result.out), "--host", "127.0.0.1",
                           "--user", "dashboard", "--timeout", "2"])
    finally:
        central.broker.stop()
    holes = {(a.action, a.target) for a in attempts if not a.refused}
    assert ("publish", "station/v1/la-station/rooms/zz-broker-check/occupancy") in holes
    assert any(action == "subscribe" and "grants" in target or target == "#" for action, target in holes)
    assert res.exit_code == 1
    assert "RECEIVED" in flat(res.output)


def test_check_on_a_missing_directory_is_a_clear_error(gen_root):
    res = invoke(app, ["broker", "check", "--config", str(gen_root / "nope")])
    assert res.exit_code == 2
    assert "cannot read the generated configuration" in flat(res.output)
