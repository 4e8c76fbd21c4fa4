"""``GET /api/v1/plan``: the station's floor plan and the other sites, for the board to draw.

The shapes come from the plan file beside the inventory (station/inventory/plan.py);
the board colours and labels them from the live room statuses it already has. The
mini-stations and the bus are listed as small sites, each with whether its nodes are
online and when they were last heard (the bus's connectivity comes and goes).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel

from station.contract.models import NodeState
from station.inventory.plan import FloorPlan

from ..deps import InventoryDep, RuntimeDep

router = APIRouter(prefix="/api/v1", tags=["rooms"])


class SitePublic(BaseModel):
    id: str
    name: str
    kind: str
    town: str
    spaces: list[str]
    online: bool | None  # None: no node has said anything yet
    last_seen: datetime | None


class PlanPublic(BaseModel):
    plan: FloorPlan | None
    sites: list[SitePublic]


def site_link(runtime, site) -> tuple[bool | None, datetime | None]:
    statuses = [runtime.fleet.status.get(n.id) for n in site.nodes]
    heard = [runtime.fleet.last_heard.get(n.id) for n in site.nodes]
    known = [s for s in statuses if s is not None]
    online = None if not known else any(s.state is NodeState.online for s in known)
    seen = [h for h in heard if h is not None]
    return online, max(seen) if seen else None


@router.get("/plan", response_model=PlanPublic, summary="The floor plan and the other sites (online, last seen)")
async def read_plan(request: Request, runtime: RuntimeDep, inventory: InventoryDep) -> PlanPublic:
    plan: FloorPlan | None = request.app.state.plan
    sites = []
    for site in inventory.sites:
        if plan is not None and site.id == plan.site:
            continue
        online, seen = site_link(runtime, site)
        sites.append(SitePublic(id=site.id, name=site.name, kind=site.kind.value, town=site.town,
                                spaces=[s.id for s in site.spaces], online=online, last_seen=seen))
    return PlanPublic(plan=plan, sites=sites)
