"""``GET /api/v1/stream``: Server-Sent Events, one ``room`` event per room status change.

The stream opens with a ``hello`` event; a comment line every 15 s keeps proxies from
closing it. Browsers reconnect by themselves (``retry: 2000``) when the API restarts.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ..deps import StationDep

router = APIRouter(prefix="/api/v1", tags=["rooms"])
HEARTBEAT_S = 15.0


@router.get("/stream", summary="Room status changes as Server-Sent Events",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}, "description": "An endless event stream"}})
async def read_stream(request: Request, station: StationDep) -> StreamingResponse:
    hub = station.hub
    queue = hub.connect()

    async def events():
        try:
            yield "retry: 2000\nevent: hello\ndata: {}\n\n"
            while True:
                try:
                    frame = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
                except asyncio.TimeoutError:
                    if await request.is_disconnected():
                        break
                    frame = ": keep-alive\n\n"
                if frame is None:  # the API is stopping
                    break
                yield frame
        finally:
            hub.disconnect(queue)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
