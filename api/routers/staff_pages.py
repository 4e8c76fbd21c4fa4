"""``/staff/``: the staff console's pages (staff and admin), plain HTML + JS like the board.

Each page is one shell (``web/staff/staff.html``) with its navigation and the page's
script; the data comes from the API with the bearer token the console keeps. A page
load is authenticated by the console's cookie (see :mod:`api.routers.staff`): without
one (or an expired one) it redirects to ``/staff/login``; a member's is refused with a
403 page that says why. ``/admin`` leads to the console too.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from ..db.models import STAFF_ROLES
from ..deps import InventoryDep, RuntimeDep
from .staff import cookie_user

router = APIRouter(tags=["staff console"], include_in_schema=False)
WEB = Path(__file__).resolve().parents[1] / "web" / "staff"
#: page → (French title, English title); the order of the navigation.
PAGES = {
    "today": ("Aujourd'hui", "Today"),
    "members": ("Membres", "Members"),
    "badges": ("Badges", "Badges"),
    "trainings": ("Formations", "Trainings"),
    "bookings": ("Réservations", "Bookings"),
    "doors": ("Portes", "Doors"),
    "nodes": ("Nœuds", "Nodes"),
    "audit": ("Journal", "Audit"),
}


def page_url(page: str) -> str:
    return "/staff/" if page == "today" else f"/staff/{page}"


def render(page: str, runtime, inventory, *, status: int = 200, role: str = "") -> HTMLResponse:
    nav = "".join(f'<li><a href="{page_url(p)}" data-page="{p}" data-fr="{escape(fr)}" data-en="{escape(en)}"'
                  f'{" aria-current=page" if p == page else ""}>{escape(fr)}</a></li>' for p, (fr, en) in PAGES.items()
                  if page in PAGES)  # no navigation on the login and refusal pages
    sites = "".join(f'<option value="{escape(s.id)}">{escape(s.name)}</option>' for s in inventory.sites)
    title = PAGES.get(page, ("Connexion", "Log in"))[0] if page != "forbidden" else "Accès refusé"
    html = ((WEB / "staff.html").read_text().replace("{{nav}}", nav).replace("{{page}}", page)
            .replace("{{title}}", escape(title)).replace("{{sites}}", sites).replace("{{role}}", escape(role))
            .replace("{{tz}}", escape(inventory.sites[0].timezone))
            .replace("{{demo}}", "true" if runtime.demo is not None else "false"))
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


@router.get("/staff/login", response_class=HTMLResponse)
def read_staff_login(runtime: RuntimeDep, inventory: InventoryDep) -> HTMLResponse:
    return render("login", runtime, inventory)


@router.get("/admin")
def read_admin() -> RedirectResponse:
    return RedirectResponse("/staff/", status_code=307)


@router.get("/staff")
def read_staff_root() -> RedirectResponse:
    return RedirectResponse("/staff/", status_code=307)


@router.get("/staff/{page:path}", response_class=HTMLResponse)
def read_staff_page(page: str, request: Request, runtime: RuntimeDep, inventory: InventoryDep):
    page = page.strip("/") or "today"
    if page not in PAGES:
        raise HTTPException(404, f"no staff page {page!r}")
    try:
        user = cookie_user(request)
    except HTTPException as exc:
        if exc.status_code != 401:
            return render("forbidden", runtime, inventory, status=exc.status_code)
        user = None
    if user is None:
        return RedirectResponse(f"/staff/login?next={page_url(page)}", status_code=303)
    if user.role not in STAFF_ROLES:
        return render("forbidden", runtime, inventory, status=403)
    return render(page, runtime, inventory, role=user.role.value)
