"""Liveness: ``GET /healthz``."""

from fastapi import APIRouter

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The API process is up")
def read_health() -> dict[str, str]:
    return {"status": "ok"}
