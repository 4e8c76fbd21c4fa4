"""Fab-lab machines in the inventory: what each needs before its power relay may close.

A machine belongs to a fab-lab space of its site and is powered by one machine node
(``profile: machine_node``, ``machines: [<id>]``)::

    machines:
    - id: laser-trotec
      space: fablab-numerique
      name: Découpeuse laser Trotec Speedy 360
      kind: laser_cutter
      training: laser            # the training that qualifies (default: the machine's id)
      bookable: true             # members may book it (like a room)
      free_to_use: true          # a trained member may use it unbooked in opening hours when nobody booked it
      max_session_minutes: 120   # one badge-on never lasts longer (warning and grace first)
      safety: [extraction, estop] # inputs that must be healthy for the relay to stay closed
      idle: {sensor: current, channel: 0, threshold_a: 0.4, after_min: 10, grace_s: 60}
      power: {volts: 230, amps: 16, switching: contactor}

``idle.sensor`` is ``current`` (a CT clamp on an MCP3008 channel: below ``threshold_a``
is idle), ``running`` (a "running" contact of the machine's controller) or ``none``.
The software's cut is a convenience and a record, never the safety chain: the E-stop and
the extraction interlock are wired in series with the contactor coil (hardware/).
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from station.ids import Ident


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MachineKind(str, Enum):
    laser_cutter = "laser_cutter"
    cnc_router = "cnc_router"
    printer_3d = "printer_3d"
    vinyl_cutter = "vinyl_cutter"
    embroidery = "embroidery"
    milling = "milling"
    lathe = "lathe"
    saw = "saw"
    welder = "welder"
    other = "other"


class SafetyInput(str, Enum):
    extraction = "extraction"  # fume / dust extraction running (airflow switch or its contactor's aux contact)
    estop = "estop"  # emergency-stop chain closed


class IdleDetection(Strict):
    sensor: Literal["current", "running", "none"] = "none"
    channel: int | None = Field(default=None, ge=0, le=7, description="MCP3008 channel of the CT clamp.")
    threshold_a: float = Field(default=0.3, gt=0, le=100, description="Below this current the machine idles.")
    after_min: float = Field(default=15, gt=0, le=24 * 60, description="Idle this long: warning, then cut.")
    grace_s: float = Field(default=60, ge=5, le=3600, description="Warning to cut: time to resume or badge off.")

    @model_validator(mode="after")
    def _channel_for_current(self) -> "IdleDetection":
        if self.sensor == "current" and self.channel is None:
            raise ValueError("a current sensor needs its MCP3008 channel")
        return self


class MachinePower(Strict):
    volts: Literal[12, 24, 230, 400] = 230
    amps: float = Field(default=10, gt=0, le=63)
    switching: Literal["relay", "contactor"] = "contactor"

    @model_validator(mode="after")
    def _contactor_for_mains(self) -> "MachinePower":
        if self.volts >= 230 and (self.switching != "contactor" and self.amps > 5):
            raise ValueError("a mains machine over 5 A is switched by a contactor, the relay drives its coil")
        return self


class Machine(Strict):
    id: Ident
    space: Ident
    name: str = Field(min_length=1, max_length=80)
    kind: MachineKind
    training: Ident | None = Field(default=None, description="Training that qualifies; default the machine's id.")
    bookable: bool = True
    free_to_use: bool = Field(default=True, description="Usable unbooked in opening hours when nobody booked it.")
    max_session_minutes: int = Field(default=240, ge=5, le=24 * 60)
    safety: list[SafetyInput] = Field(default_factory=list)
    idle: IdleDetection = Field(default_factory=IdleDetection)
    power: MachinePower = Field(default_factory=MachinePower)

    @property
    def training_id(self) -> str:
        """What a member's training record names to qualify for this machine."""
        return self.training or self.id
