"""``GET /``: the board page — every space and its status, then live over SSE.

Rendered on the server (it reads without JavaScript), then kept current in the browser
from ``/api/v1/stream`` (with ``/api/v1/rooms`` polled as a fallback).
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from ..deps import InventoryDep, RoomsDep, RuntimeDep
from ..notice import render
from .rooms import list_rooms

router = APIRouter(tags=["board"])
WEB = Path(__file__).resolve().parents[1] / "web"
LABELS = {"free": "Libre", "occupied": "Occupée", "reserved": "Réservée", "unknown": "Inconnu"}
KINDS = {"fablab": "Fab lab", "coworking": "Coworking", "meeting": "Réunion", "ticket_office": "Billetterie",
         "shop": "Boutique", "venue": "Salle de spectacle"}


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def read_board(rooms: RoomsDep, inventory: InventoryDep, runtime: RuntimeDep) -> str:
    rows = []
    for room in list_rooms(rooms, inventory, None):
        tz = ZoneInfo(inventory.site(room.site).timezone)
        until = f" jusqu'à {room.free_until.astimezone(tz):%H:%M}" if room.free_until else ""
        co2 = f"{room.occupancy.co2_ppm:.0f} ppm" if room.occupancy.co2_ppm is not None else "—"
        site_name = escape(inventory.site(room.site).name)
        rows.append(
            f'<tr data-room="{escape(room.id)}" data-site="{escape(room.site)}" data-kind="{room.kind.value}" '
            f'data-bookable="{str(room.bookable).lower()}" data-booking="{room.booking}" class="status-{room.status.value}">'
            f'<th scope="row" class="name">{escape(room.name)}</th><td class="site" data-label="Site">{site_name}</td>'
            f'<td class="kind">{KINDS.get(room.kind.value, room.kind.value)}</td>'
            f'<td class="status" aria-live="polite">{LABELS[room.status.value]}{escape(until)}</td>'
            f'<td class="co2">{co2}</td><td class="book"></td></tr>')
    notice = render(runtime.settings.notice, runtime.settings.retention)  # the short notice (api/notice.py)
    sites = "".join(f'<option value="{escape(s.id)}">{escape(s.name)}</option>' for s in inventory.sites)
    kinds = "".join(f'<option value="{k}">{v}</option>' for k, v in KINDS.items())
    return ((WEB / "board.html").read_text().replace("{{rows}}", "\n".join(rows))
            .replace("{{sites}}", sites).replace("{{kinds}}", kinds)
            .replace("{{tz}}", escape(inventory.sites[0].timezone))
            .replace("{{demo}}", "true" if runtime.demo is not None else "false")
            .replace("{{notice_fr}}", escape(notice["fr"]["short"])).replace("{{notice_en}}", escape(notice["en"]["short"])))
