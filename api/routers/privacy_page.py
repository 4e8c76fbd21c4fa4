"""``GET /mes-donnees``: the member's "Mes données" page (its data, downloads, erasure) and the
information notice, server-rendered in French (readable without JavaScript)."""

from __future__ import annotations

from html import escape
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

from ..deps import SettingsDep
from ..notice import render

router = APIRouter(tags=["board"])
WEB = Path(__file__).resolve().parents[1] / "web"


def paragraphs(text: str) -> str:
    return "".join(f"<p>{escape(p)}</p>" for p in text.split("\n\n"))


@router.get("/mes-donnees", response_class=HTMLResponse, include_in_schema=False)
def read_my_data_page(settings: SettingsDep) -> str:
    notice = render(settings.notice, settings.retention)
    return ((WEB / "privacy.html").read_text().replace("{{notice_fr_html}}", paragraphs(notice["fr"]["text"])))


@router.get("/my-data", include_in_schema=False)
def redirect_my_data() -> RedirectResponse:
    return RedirectResponse("/mes-donnees")
