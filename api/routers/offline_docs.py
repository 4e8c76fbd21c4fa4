"""``/redoc`` with no request off the machine (``/docs`` is fastapi-offline's own page).

fastapi-offline serves the Swagger UI and ReDoc assets from its wheel
(``/static-offline-docs``), so both pages work on a site's LAN without internet. ReDoc
still shows a "powered by" logo from its CDN; this page is fastapi-offline's ReDoc page
with a Content-Security-Policy that keeps every request on this server, so an offline
browser never waits on one and an online one never calls out.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)
ASSETS = "/static-offline-docs"
#: ReDoc runs inline scripts and styles and a worker from a blob; nothing leaves the server.
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'")


@router.get("/redoc", response_class=HTMLResponse)
async def read_redoc(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    page = get_redoc_html(openapi_url=f"{root}{request.app.openapi_url}", title=f"{request.app.title} - ReDoc",
                          redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js", with_google_fonts=False,
                          redoc_favicon_url=f"{root}{ASSETS}/favicon.png")
    page.headers["Content-Security-Policy"] = CSP
    return page
