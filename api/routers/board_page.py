"""``GET /``: the board page — every space and its status, refreshed live in the browser.

The page is rendered on the server (it works without JavaScript) and then refreshes
itself from ``/api/v1/rooms`` every two seconds.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from ..deps import BoardDep, ClockDep, InventoryDep
from .rooms import read_rooms

router = APIRouter(tags=["board"])
TEMPLATE = (Path(__file__).resolve().parents[1] / "web" / "board.html").read_text()
LABELS = {"free": "Libre", "occupied": "Occupée", "reserved": "Réservée", "unknown": "Inconnu"}


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def read_board(board: BoardDep, inventory: InventoryDep, clock: ClockDep) -> str:
    rows = []
    for room in read_rooms(board, inventory, clock, site=None, kind=None):
        tz = ZoneInfo(inventory.site(room.site).timezone)
        until = f" jusqu'à {room.free_until.astimezone(tz):%H:%M}" if room.free_until else ""
        co2 = f"{room.occupancy.co2_ppm:.0f} ppm" if room.occupancy.co2_ppm is not None else "—"
        rows.append(
            f'<tr data-room="{escape(room.id)}" class="status-{room.status.value}">'
            f"<td>{escape(room.name)}</td><td>{escape(room.site)}</td><td>{escape(room.kind.value)}</td>"
            f'<td class="status">{LABELS[room.status.value]}{escape(until)}</td><td class="co2">{co2}</td></tr>')
    return TEMPLATE.replace("{{rows}}", "\n".join(rows))
