"""From validated contract messages to time-series points (see :mod:`station.history`).

Each point is stamped with the message's own ``ts``: a redelivered or replayed message
produces exactly the same point, which the stores overwrite — writes are idempotent.
"""

from __future__ import annotations

from station.contract import (NodeEvent, NodeState, NodeStatus, RoomAvailability, RoomOccupancy, RoomStatus,
                              Telemetry)
from station.inventory import Inventory

from station.history import Point


class PointMaker:
    """Turns messages into points, adding the site and space tags from the inventory."""

    def __init__(self, inventory: Inventory):
        self.site_of_node = {node.id: site.id for site, node in inventory.nodes()}
        self.site_of_space = {space.id: site.id for site, space in inventory.spaces()}
        self.door_space = {door.id: door.space for _, door in inventory.doors()}

    def telemetry(self, t: Telemetry) -> list[Point]:
        fields: dict = {}  # spelled out: the hottest builder (a reading a minute from every room node)
        if (v := t.co2_ppm) is not None:
            fields["co2_ppm"] = float(v)
        if (v := t.temperature_c) is not None:
            fields["temperature_c"] = float(v)
        if (v := t.humidity_pct) is not None:
            fields["humidity_pct"] = float(v)
        if (v := t.light_lux) is not None:
            fields["light_lux"] = float(v)
        fields["faults"] = len(t.faults)
        tags = {"site": self.site_of_node.get(t.node, ""), "space": t.space, "node": t.node}
        return [Point("telemetry", tags, fields, t.ts).check()]

    def event(self, e: NodeEvent) -> list[Point]:
        space = e.space or (self.door_space.get(e.door, "") if e.door else "")
        tags = {"site": self.site_of_node.get(e.node, ""), "node": e.node, "kind": e.kind.value,
                "space": space or "", "door": e.door or "", "machine": e.machine or ""}
        fields: dict = {"seq": e.seq, "count": 1, "id": e.id}
        if e.reason:
            fields["reason"] = e.reason
        if e.duration_s is not None:  # machine_off: the relay's on-time (machine utilisation)
            fields["duration_s"] = float(e.duration_s)
        return [Point("event", {k: v for k, v in tags.items() if v}, fields, e.ts).check()]

    def status(self, s: NodeStatus) -> list[Point]:
        site = self.site_of_node.get(s.node, "")
        fields: dict = {"online": int(s.state is NodeState.online)}
        if s.uptime_s is not None:
            fields["uptime_s"] = float(s.uptime_s)
        if s.outbox_depth is not None:
            fields["outbox_depth"] = s.outbox_depth
        if s.version:
            fields["version"] = s.version
        if s.config_hash:
            fields["config_hash"] = s.config_hash
        points = [Point("node_status", {"site": site, "node": s.node}, fields, s.ts).check()]
        for door, version in sorted(s.grant_versions.items()):
            points.append(Point("node_grant", {"site": site, "node": s.node, "door": door},
                                {"version": version}, s.ts).check())
        return points

    def occupancy(self, o: RoomOccupancy) -> list[Point]:
        fields: dict = {"occupied": int(bool(o.occupied)), "unknown": int(o.occupied is None),
                        "confidence": float(o.confidence)}
        if o.people_estimate is not None:
            fields["people_estimate"] = float(o.people_estimate)
        if o.co2_ppm is not None:
            fields["co2_ppm"] = float(o.co2_ppm)
        tags = {"site": self.site_of_space.get(o.room, ""), "space": o.room}
        return [Point("occupancy", tags, fields, o.ts).check()]

    def availability(self, a: RoomAvailability) -> list[Point]:
        fields: dict = {"status": a.status.value, "reserved": int(a.status is RoomStatus.reserved),
                        "free": int(a.status is RoomStatus.free)}
        tags = {"site": self.site_of_space.get(a.room, ""), "space": a.room}
        return [Point("availability", tags, fields, a.ts).check()]

    def of(self, message) -> list[Point]:
        if isinstance(message, NodeEvent):
            return self.event(message)
        if isinstance(message, Telemetry):
            return self.telemetry(message)
        if isinstance(message, NodeStatus):
            return self.status(message)
        if isinstance(message, RoomOccupancy):
            return self.occupancy(message)
        if isinstance(message, RoomAvailability):
            return self.availability(message)
        return []
