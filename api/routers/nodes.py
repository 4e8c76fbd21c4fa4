"""The node fleet for staff: every node of the inventory with its health, as the API hears it.

``state`` is ``online``, ``offline`` (the node said so, or its last will did), ``stale``
(online but silent for ``node_stale_after_s``) or ``unknown`` (never heard since this
API started); see :mod:`api.fleet`. Grant versions are the node's cached ones next to
the API's current ones, so a door that missed a list shows ``behind``.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from station.inventory import SiteKind

from .. import audit
from ..deps import ClockDep, InventoryDep, RuntimeDep, SessionDep, StaffUser
from ..fields import Identifier, errors

router = APIRouter(prefix="/api/v1/nodes", tags=["nodes"])
STAFF_ONLY = errors((403, "Staff only"))
NOT_FOUND = errors((404, "No such node or site"))


class NodeGrant(BaseModel):
    door: str
    node_version: int | None = Field(description="The grant list version the node caches")
    current_version: int | None = Field(description="The version the API published last")
    behind: bool = Field(description="The node caches an older list than the API's")


class NodeFault(BaseModel):
    kind: str = Field(description="sensor_fault, tamper, outbox_alarm, reader_error or grants_rejected")
    reason: str | None
    door: str | None
    since: datetime


class NodePublic(BaseModel):
    id: str
    site: str
    site_kind: SiteKind = Field(description="main, mini (a mini-station) or mobile (the bus)")
    profile: str
    location: str
    space: str | None
    doors: list[str]
    state: str = Field(description="online, offline, stale or unknown")
    since: datetime | None = Field(description="When it went online or offline")
    last_seen: datetime | None = Field(description="The newest message heard from it (its time)")
    silent_s: float | None = Field(description="Wall seconds since the last message, on this API's clock")
    version: str | None
    config_hash: str | None
    uptime_s: float | None
    outbox_depth: int | None
    grants: list[NodeGrant]
    faults: list[NodeFault]


def node_public(runtime, site, node) -> NodePublic:
    fleet = runtime.fleet
    status = fleet.status.get(node.id)
    cached = status.grant_versions if status else {}
    grants = []
    for door in node.doors:
        current = runtime.grants.current(door)
        mine = cached.get(door)
        grants.append(NodeGrant(door=door, node_version=mine, current_version=current.version if current else None,
                                behind=current is not None and (mine is None or mine < current.version)))
    silent = fleet.silent_for_s(node.id)
    return NodePublic(
        id=node.id, site=site.id, site_kind=site.kind, profile=node.profile.value, location=node.location,
        space=node.space, doors=list(node.doors), state=fleet.state(node.id), since=fleet.since.get(node.id),
        last_seen=fleet.last_heard.get(node.id), silent_s=None if silent is None else round(silent, 1),
        version=status.version if status else None, config_hash=status.config_hash if status else None,
        uptime_s=status.uptime_s if status else None, outbox_depth=status.outbox_depth if status else None,
        grants=grants, faults=[NodeFault(**f) for f in fleet.node_faults(node.id)])


@router.get("", response_model=list[NodePublic], responses={**STAFF_ONLY, **NOT_FOUND},
            summary="Every node: online/offline/stale, version, config hash, uptime, outbox, grants, faults (staff)")
def read_nodes(user: StaffUser, runtime: RuntimeDep, inventory: InventoryDep,
               site: Identifier | None = Query(default=None, description="Only the nodes of this site"),
               state: str | None = Query(default=None, pattern="^(online|offline|stale|unknown)$")) -> list[NodePublic]:
    if site is not None and site not in {s.id for s in inventory.sites}:
        raise HTTPException(404, f"no site {site!r}")
    out = [node_public(runtime, s, n) for s, n in inventory.nodes() if site is None or s.id == site]
    return [n for n in out if state is None or n.state == state]


def _node(inventory, node_id: str):
    try:
        return inventory.node(node_id)
    except KeyError:
        raise HTTPException(404, f"no node {node_id!r}") from None


@router.get("/{node_id}", response_model=NodePublic, responses={**STAFF_ONLY, **NOT_FOUND}, summary="One node (staff)")
def read_node(node_id: Identifier, user: StaffUser, runtime: RuntimeDep, inventory: InventoryDep) -> NodePublic:
    site, node = _node(inventory, node_id)
    return node_public(runtime, site, node)


@router.post("/{node_id}/faults/clear", response_model=NodePublic, responses={**STAFF_ONLY, **NOT_FOUND},
             summary="Clear a node's reported faults after checking it (staff; audited)")
def clear_node_faults(node_id: Identifier, user: StaffUser, runtime: RuntimeDep, inventory: InventoryDep,
                      session: SessionDep, clock: ClockDep) -> NodePublic:
    site, node = _node(inventory, node_id)
    faults = runtime.fleet.node_faults(node.id)
    if faults:
        audit.record(session, clock.now(), "node_faults_cleared", audit.actor_of(user),
                     detail={"node": node.id, "faults": [f"{f['kind']}: {f['reason'] or ''}"[:100] for f in faults]})
        session.commit()
        runtime.fleet.clear_faults(node.id)
    return node_public(runtime, site, node)
