"""A machine node on mock pins against a real broker, with a CT clamp the test sets in amps."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from edge.devices.wiegand import encode_frame, send_frame
from edge.node import EdgeNode
from edge.profiles import load_profile
from edge.simulator.fakes import FakeAdcChannel, ct_clamp_signal
from station.access import issue_grant_list
from station.contract import GrantEntry, GrantRole, MachineGrantList, Window, topics
from station.mqtt import MqttBus

LASER_NODE, LASER = "ls-machine-laser-trotec", "laser-trotec"  # E-stop + extraction, CT clamp, idle 10 min
SITE = "la-station"


def machine_grants(keys, now: datetime, *, trained=(), booked=(), free=True, out_of_order=False,
                   machine: str = LASER, version: int | None = None, expires_in=timedelta(hours=24)
                   ) -> MachineGrantList:
    """A signed machine list: ``trained`` cards, ``booked`` (card, start, end); free window
    around ``now`` (minus the bookings) when ``free``."""
    entries = [GrantEntry(credential_hash=keys.credential(c), role=GrantRole.trained, not_after=now + timedelta(days=9))
               for c in trained]
    entries += [GrantEntry(credential_hash=keys.credential(c), role=GrantRole.member, not_before=lo, not_after=hi)
                for c, lo, hi in booked]
    windows = [Window(start=lo, end=hi) for _, lo, hi in booked]
    free_windows = []
    if free:
        edges = [now - timedelta(hours=2)] + [x for _, lo, hi in sorted(booked, key=lambda b: b[1]) for x in (lo, hi)] \
            + [now + timedelta(hours=8)]
        free_windows = [Window(start=a, end=b) for a, b in zip(edges[::2], edges[1::2]) if a < b]
    grant = issue_grant_list(site=SITE, machine=machine, entries=entries, now=now, expires_at=now + expires_in,
                             previous_version=(version - 1) if version else None, signer=keys.signer,
                             free_to_use=free, free_windows=free_windows, booked_windows=windows,
                             out_of_order=out_of_order)
    return grant


def publish_machine_grants(settings, grants, client_id="api-test") -> None:
    bus = MqttBus(client_id, settings).start()
    bus.publish(topics.machine_grants(SITE, grants.machine), grants, retain=True).wait_for_publish(2)
    bus.stop()


class MachineRig:
    """Start a machine node; E-stop chain closed, extraction running, the machine drawing ``amps``."""

    def __init__(self, inventory, settings, keys, data_dir: Path, *, clock=None, node_id: str = LASER_NODE,
                 wait: float | None = 10.0, tick_s: float = 0.02):
        self.factory = MockFactory()
        profile = load_profile("machine_node")
        profile = profile.model_copy(update={"options": {**profile.options, "wiegand_frame_gap_s": 0.03,
                                                         "machine_tick_s": tick_s}})
        self.amps = 0.0
        adc = FakeAdcChannel(ct_clamp_signal(lambda: self.amps))
        self.node = EdgeNode(inventory, node_id, settings, pin_factory=self.factory, clock=clock, profile=profile,
                             data_dir=data_dir, keys=keys.site if keys else None, adc=adc)
        self.pins = profile.pins
        self.wait = wait
        self.started = False

    def start(self) -> "MachineRig":
        if self.started:
            return self
        self.started = True
        self.node.start(wait=self.wait)
        for name in ("estop", "extraction"):
            self.pin(name).drive_low()  # chain closed, extraction running
        self.pin("running").drive_high()
        return self

    def pin(self, name: str):
        return self.factory.pin(self.pins[name])

    @property
    def controller(self):
        return self.node.machine

    @property
    def relay_on(self) -> bool:
        return self.pin("power_relay").state == 1

    def badge(self, card: int) -> None:
        send_frame(self.factory, self.pins["wiegand_d0"], self.pins["wiegand_d1"], encode_frame(card),
                   pulse_s=0, interval_s=0)
        time.sleep(0.06)

    def stop(self) -> None:
        self.node.stop()

    def __enter__(self) -> "MachineRig":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
