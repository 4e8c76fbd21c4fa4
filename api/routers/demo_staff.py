"""``station demo`` only: stop a simulated node, to watch the staff console see it go offline.

``POST /api/v1/demo/nodes/{node}/stop`` (staff) answers 202; the node publishes its
retained ``offline`` status as it stops, as a real node does when it is shut down.
Outside ``station demo`` it answers 404.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from .. import audit
from ..deps import ClockDep, InventoryDep, RuntimeDep, SessionDep, StaffUser
from ..fields import Identifier, errors

router = APIRouter(prefix="/api/v1/demo", tags=["demo"])


@router.post("/nodes/{node_id}/stop", status_code=202, response_model=None,
             responses=errors((403, "Staff only"), (404, "Not running in `station demo` (or no such node)")),
             summary="Stop a simulated node (demo only; staff)")
def stop_demo_node(node_id: Identifier, user: StaffUser, runtime: RuntimeDep, inventory: InventoryDep,
                   session: SessionDep, clock: ClockDep) -> None:
    if runtime.demo is None:
        raise HTTPException(404, "only in `station demo`")
    try:
        inventory.node(node_id)
        runtime.demo.stop_node(node_id)
    except KeyError:
        raise HTTPException(404, f"no node {node_id!r}") from None
    audit.record(session, clock.now(), "demo_node_stopped", audit.actor_of(user), detail={"node": node_id})
    session.commit()
