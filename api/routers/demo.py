"""``station demo`` only: tap your (simulated) badge at a door from the board.

``POST /api/v1/demo/badge {"door": "<door id>", "card_number": "<decimal>"}`` (or
``{"machine": "<machine id>", …}``: the machine node's reader; the answer says whether it
powered on, off, or refused) answers
202 with a tap id; the simulator clocks a real Wiegand frame into that door node's
reader on its mock pins; the node decides from its cached, signed list, drives its
strike and reports; the board learns the answer from the SSE stream (event ``tap``) or
``GET /api/v1/demo/badge/{tap}``. Outside ``station demo`` both answer 404.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..deps import CurrentUser, InventoryDep, RuntimeDep
from ..fields import CardNumber, Identifier, Text, errors

router = APIRouter(prefix="/api/v1/demo", tags=["demo"])
NOT_DEMO = errors((404, "Not running in `station demo` (or no such door or tap)"))


class BadgeTap(BaseModel):
    model_config = ConfigDict(extra="forbid")

    door: Identifier | None = Field(default=None, description="Door id")
    machine: Identifier | None = Field(default=None, description="Or a machine id")
    card_number: CardNumber = Field(description="Decimal card number (a 26- or 34-bit Wiegand card: at most "
                                    "4294967295)")

    @model_validator(mode="after")
    def _door_or_machine(self):
        if (self.door is None) == (self.machine is None):
            raise ValueError("give either door or machine")
        return self


class TapPublic(BaseModel):
    tap: str
    door: str | None
    machine: str | None = None
    answered: bool
    granted: bool | None = None
    reason: str | None = None
    checked_in: int | None = Field(default=None, description="The booking this badge checked in")


class DemoCards(BaseModel):
    cards: list[str] = Field(description="The logged-in member's demo card numbers")


def _demo(runtime):
    if runtime.demo is None:
        raise HTTPException(404, "only in `station demo`")
    return runtime.demo


@router.post("/badge", status_code=202, response_model=TapPublic, responses=NOT_DEMO,
             summary="Present a card at a door's or a machine's reader (demo only)")
def create_badge_tap(body: BadgeTap, runtime: RuntimeDep, inventory: InventoryDep) -> TapPublic:
    demo = _demo(runtime)
    if body.machine is not None:
        try:
            inventory.machine(body.machine)
        except KeyError:
            raise HTTPException(404, f"no machine {body.machine!r}") from None
        tap = runtime.taps.tapped(None, body.card_number, machine=body.machine)
        demo.present_machine_badge(body.machine, body.card_number)
        return TapPublic(tap=tap.id, door=None, machine=tap.machine, answered=False)
    try:
        inventory.door(body.door)
    except KeyError:
        raise HTTPException(404, f"no door {body.door!r}") from None
    tap = runtime.taps.tapped(body.door, body.card_number)
    demo.present_badge(body.door, body.card_number)
    return TapPublic(tap=tap.id, door=tap.door, answered=False)


@router.get("/badge/{tap_id}", response_model=TapPublic, responses=NOT_DEMO, summary="What the door answered")
def read_badge_tap(tap_id: Text, runtime: RuntimeDep) -> TapPublic:
    _demo(runtime)
    tap = runtime.taps.get(tap_id)
    if tap is None:
        raise HTTPException(404, f"no tap {tap_id!r}")
    result = tap.result or {}
    return TapPublic(tap=tap.id, door=tap.door, machine=tap.machine, answered=tap.result is not None,
                     granted=result.get("granted"),
                     reason=result.get("reason"), checked_in=result.get("checked_in"))


@router.get("/cards", response_model=DemoCards, responses=NOT_DEMO, summary="My demo card numbers")
def read_demo_cards(user: CurrentUser, runtime: RuntimeDep) -> DemoCards:
    return DemoCards(cards=_demo(runtime).cards_of(user.email))
