"""Dependencies shared by the routers, as type aliases (``BoardDep``, ``InventoryDep``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from station.clock import Clock
from station.inventory import Inventory

from .board import RoomBoard


def get_board(request: Request) -> RoomBoard:
    return request.app.state.board


def get_inventory(request: Request) -> Inventory:
    return request.app.state.inventory


def get_clock(request: Request) -> Clock:
    return request.app.state.clock


BoardDep = Annotated[RoomBoard, Depends(get_board)]
InventoryDep = Annotated[Inventory, Depends(get_inventory)]
ClockDep = Annotated[Clock, Depends(get_clock)]
