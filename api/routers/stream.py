"""``GET /api/v1/stream``: Server-Sent Events, one ``room`` event per room status change.

The stream opens with a ``hello`` event; a comment line every 15 s keeps proxies from
closing it. Browsers reconnect by themselves (``retry: 2000``) when the API restarts.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ..deps import RuntimeDep
from ..stream import event_stream

router = APIRouter(prefix="/api/v1", tags=["rooms"])


@router.get("/stream", summary="Room status changes as Server-Sent Events",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}, "description": "An endless event stream"}})
async def read_stream(request: Request, runtime: RuntimeDep) -> StreamingResponse:
    return event_stream(runtime.hub, request)
