"""Fab-lab machines for staff: out of order and back, the signed list, the usage log and its CSV.

- ``POST /api/v1/machines/{id}/out-of-order {"reason": …}``: every list of the machine
  says so from now on (a new version, published at once): the node refuses every badge
  and warns then cuts a running session, until ``POST …/back-in-service``.
- ``GET /api/v1/machines/{id}/grants``: the machine's current signed list.
- ``GET /api/v1/machines/usage`` (``?member=&machine=&since=&until=``) and
  ``…/usage.csv``: minutes per member per machine, from the nodes' on-time — for billing.
"""

from __future__ import annotations

import csv
import io

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from station.contract import MachineGrantList

from .. import audit
from ..db.machines import MachineRow
from ..deps import ClockDep, InventoryDep, RuntimeDep, SessionDep, StaffUser
from ..fields import Identifier, Text, When
from .machines import ERRORS, MachinePublic, UsageRow, machine_or_404, machines_public, usage_rows
from .staff_bookings import csv_cell

router = APIRouter(prefix="/api/v1", tags=["machines"])
STAFF_ONLY = {403: {"description": "Staff only"}}


class OutOfOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(min_length=1, max_length=200, description="Shown to members and sent to the node")


def _set_service(machine_id: str, out: bool, reason: str | None, user, session, runtime, inventory, clock
                 ) -> MachinePublic:
    _, machine = machine_or_404(inventory, machine_id)
    now = clock.now()
    row = session.get(MachineRow, machine_id, with_for_update=True)
    row.out_of_order, row.out_of_order_reason = out, reason if out else None
    row.out_of_order_since = now if out else None
    audit.record(session, now, "machine_out_of_order" if out else "machine_back_in_service", audit.actor_of(user),
                 space_id=machine.space, detail={"machine": machine_id, "reason": reason})
    session.commit()
    runtime.machine_changed(machine_id)
    return next(m for m in machines_public(session, inventory, runtime, now, machine.space) if m.id == machine_id)


@router.post("/machines/{machine_id}/out-of-order", response_model=MachinePublic, responses={**ERRORS, **STAFF_ONLY},
             summary="Mark a machine out of order: its node refuses every badge until cleared (staff)")
def mark_out_of_order(machine_id: Identifier, body: OutOfOrder, user: StaffUser, session: SessionDep, runtime: RuntimeDep,
                      inventory: InventoryDep, clock: ClockDep) -> MachinePublic:
    return _set_service(machine_id, True, body.reason, user, session, runtime, inventory, clock)


@router.post("/machines/{machine_id}/back-in-service", response_model=MachinePublic,
             responses={**ERRORS, **STAFF_ONLY}, summary="Clear out of order (staff)")
def mark_back_in_service(machine_id: Identifier, user: StaffUser, session: SessionDep, runtime: RuntimeDep,
                         inventory: InventoryDep, clock: ClockDep) -> MachinePublic:
    return _set_service(machine_id, False, None, user, session, runtime, inventory, clock)


@router.get("/machines/{machine_id}/grants", response_model=MachineGrantList, responses={**ERRORS, **STAFF_ONLY},
            summary="The machine's current signed grant list (staff)")
def read_machine_grants(machine_id: Identifier, user: StaffUser, runtime: RuntimeDep,
                        inventory: InventoryDep) -> MachineGrantList:
    machine_or_404(inventory, machine_id)
    grant = runtime.grants.current_machine(machine_id)
    if grant is None:
        raise HTTPException(404, f"no list issued for {machine_id!r} yet")
    return grant


Since = Query(default=None, description="Sessions started at or after")
Until = Query(default=None, description="Sessions started before")


@router.get("/machines/usage", response_model=list[UsageRow], responses=STAFF_ONLY,
            summary="Usage log: minutes per member per machine (staff)")
def read_usage(user: StaffUser, session: SessionDep, member: int | None = Query(default=None, ge=1, le=2_147_483_647),
               machine: Identifier | None = Query(default=None), since: When | None = Since,
               until: When | None = Until) -> list[UsageRow]:
    return usage_rows(session, member=member, machine=machine, since=since, until=until)


@router.get("/machines/usage.csv", response_class=Response, responses={
    200: {"content": {"text/csv": {}}, "description": "One member and machine a line"}, **STAFF_ONLY},
    summary="Usage log as CSV, for billing (staff)")
def export_usage(user: StaffUser, session: SessionDep, member: int | None = Query(default=None, ge=1, le=2_147_483_647),
                 machine: Identifier | None = Query(default=None), since: When | None = Since,
                 until: When | None = Until) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["member_id", "member_name", "machine", "sessions", "minutes"])
    for row in usage_rows(session, member=member, machine=machine, since=since, until=until):
        writer.writerow([csv_cell(v) for v in (row.member_id, row.member_name, row.machine, row.sessions,
                                               f"{row.minutes:.2f}")])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="machine-usage.csv"'})
