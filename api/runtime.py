"""The API's running parts, built once by the app factory and handed to routers as dependencies.

- :class:`~api.occupancy.LiveOccupancy` — the collector's judgements, from MQTT;
- :class:`~api.room_status.RoomStatus` — free / occupied / reserved / unknown, published
  and streamed;
- :class:`~api.grants.GrantPublisher` — the doors' and machines' signed allow-lists;
- :class:`~api.commands.DoorCommands` — staff commands, sequenced and followed;
- :class:`~api.access_log.AccessLog` — node events in: audit, check-in, unknown cards;
- :class:`~api.fleet.NodeFleet` — the nodes' retained status, silence and faults;
- :class:`~api.door_states.DoorStates` — every door's live state, from its events;
- :class:`~api.alerts.Alerts` — what staff must look at now, pushed on the staff stream;
- :class:`~api.sweeper.Sweeper` — no-shows and the passing of time;
- :class:`~api.retention.Retention` — personal data past its horizon removed or anonymised;
- :class:`~api.calendars.caldav_sync.CalDavSync` — the spaces' calendars on a CalDAV
  server, when one is configured (a worker: never in a request's way);
- one MQTT client (a persistent session, so that nothing sent while the API is down is
  lost), the public SSE hub (no names) and the staff one (``staff_hub``).

:meth:`Runtime.space_changed` and :meth:`Runtime.access_changed` are the two ways a
change ripples out: new grant lists, new room status.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from station.clock import Clock
from station.contract import topics
from station.inventory import Inventory
from station.mqtt import MqttBus

from .access_log import AccessLog
from .alerts import Alerts
from .commands import DoorCommands
from .db import Database
from .demo import DemoHooks, Taps
from .door_states import DoorStates
from .fleet import NodeFleet
from .grants import GrantPublisher
from .keys import Keys
from .machines import MachineUsage
from .occupancy import LiveOccupancy
from .retention import Retention
from .room_status import RoomStatus
from .settings import ApiSettings
from .stream import StatusHub
from .sweeper import Sweeper

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, settings: ApiSettings, inventory: Inventory, db: Database, keys: Keys, clock: Clock, *,
                 history=None, demo: DemoHooks | None = None):
        self.settings, self.inventory, self.db, self.keys, self.clock = settings, inventory, db, keys, clock
        self.history = history
        self.demo = demo
        self.bus: MqttBus | None = None
        self.hub = StatusHub()
        self.staff_hub = StatusHub()  # the staff console's stream: ids and states, never names
        self.occupancy = LiveOccupancy(inventory, clock)
        self.rooms = RoomStatus(inventory, db, clock, occupancy=self.occupancy, hub=self.hub, publish=self._retain)
        self.grants = GrantPublisher(db, inventory, keys, ttl=timedelta(hours=settings.grant_ttl_hours),
                                     lead=timedelta(minutes=settings.grant_lead_minutes), clock=clock,
                                     publish=self._retain)
        self.commands = DoorCommands(inventory, keys)
        self.fleet = NodeFleet(inventory, clock, stale_after_s=settings.node_stale_after_s,
                               on_change=self._node_changed)
        self.door_states = DoorStates(db, inventory, on_change=self._door_changed)
        self.alerts = Alerts(inventory, clock, doors=self.door_states, fleet=self.fleet, occupancy=self.occupancy,
                             co2_alert_ppm=settings.co2_alert_ppm, broadcast=self.staff_hub.broadcast)
        self.taps = Taps(keys.site_key, broadcast=self.hub.broadcast) if demo is not None else None
        self.access_log = AccessLog(db, inventory, clock, settings, on_checked_in=self._checked_in,
                                    on_event=self._event_recorded, door_states=self.door_states)
        for intake in (self.occupancy, self.fleet, self.grants):  # refusals kept off paho's thread
            intake.dead_letter = self.access_log.dead_letters.later
        self.retention = Retention(db, settings.retention, clock)
        self.machine_usage = MachineUsage(db, on_change=lambda m: self.hub.broadcast("machine", {"id": m}))
        self.sweeper = Sweeper(self)
        #: Serialises bookings in this process (PostgreSQL also locks the space's row).
        self.booking_lock = threading.Lock()
        self.caldav = None
        if settings.caldav_url:
            from .calendars.caldav_sync import CalDavSync

            self.caldav = CalDavSync(settings, db, inventory, clock, booking_lock=self.booking_lock,
                                     on_booked=self.space_changed)

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, *, mqtt: bool = True, sweeper: bool = True) -> None:
        now = self.clock.now()
        self.door_states.load(now)
        if mqtt:
            mq = self.settings.mqtt
            self.bus = MqttBus(mq.client_id or mq.username or "api", mq, on_connect=self._connected,
                               clean_start=False, session_expiry_s=self.settings.mqtt_session_expiry_s,
                               manual_ack=True)
            self.bus.subscribe(topics.subscription("nodes", "events"), self.access_log.on_message, raw=True)
            self.bus.subscribe(topics.subscription("rooms", "occupancy"), self.occupancy.handle)
            self.bus.subscribe(topics.subscription("nodes", "status"), self.fleet.handle)
            self.bus.subscribe(topics.subscription("doors", "grants"), self.grants.saw_retained)
            self.bus.subscribe(topics.subscription("machines", "grants"), self.grants.saw_retained)
            self.access_log.start(self.bus)
            self.bus.start(wait=None)
        # After the bus exists: a list issued now is queued by paho and goes out once it is
        # connected (issued before, it would wait for the repairer's grace; see api/grants.py).
        self.grants.refresh_all(now)
        self.rooms.refresh(now)
        if sweeper:
            self.sweeper.start()
            if self.caldav is not None:
                self.caldav.start()
            self.alerts.start()

    def stop(self) -> None:
        if self.caldav is not None:
            self.caldav.stop()
        self.sweeper.stop()
        self.alerts.stop()
        self.hub.close()
        self.staff_hub.close()
        self.access_log.stop()
        if self.bus is not None:
            self.bus.stop()
        self.grants.close()  # another instance repairs the broker's grant lists now
        self.db.close()

    # -- MQTT ---------------------------------------------------------------------------
    def _connected(self) -> None:
        self.access_log.connected(self.bus.session_present)
        self.rooms.publish_all(self.clock.now())

    def _retain(self, topic: str, message) -> None:
        if self.bus is not None:
            self.bus.publish(topic, message, qos=1, retain=True)

    def send(self, topic: str, message) -> bool:
        """Publish a (not retained) message; False when the broker is unreachable."""
        if self.bus is None or not self.bus.connected.is_set():
            return False
        self.bus.publish(topic, message, qos=1, retain=False)
        return True

    # -- changes ------------------------------------------------------------------------
    def space_changed(self, space_id: str) -> None:
        """A booking of the space was made, cancelled or released: new grants, new status."""
        self.rooms.bookings_changed()
        now = self.clock.now()
        self.grants.refresh_space(space_id, now)
        self.rooms.refresh(now, only=space_id)
        if self.caldav is not None:
            self.caldav.space_changed(space_id)  # published by its worker
        self.hub.broadcast("schedule", {"id": space_id})  # day views and my bookings refresh
        self.staff_hub.broadcast("bookings", {"space": space_id})

    def closures_changed(self, space_ids) -> None:
        """Closures or programmed events of these spaces were imported or removed: new status."""
        self.rooms.bookings_changed()
        now = self.clock.now()
        for space_id in sorted(space_ids):
            self.rooms.refresh(now, only=space_id)
            self.hub.broadcast("schedule", {"id": space_id})

    def access_changed(self, member_id: int | None = None) -> None:
        """A member's badge, status or training changed (``None``: anything): new lists for
        the doors it can concern."""
        now = self.clock.now()
        if member_id is None:
            self.grants.refresh_all(now)
        else:
            self.grants.refresh_member(member_id, now)

    def machine_changed(self, machine_id: str) -> None:
        """A machine's bookings or service state changed: a new list for its node, the boards told."""
        self.grants.refresh_machine(machine_id, self.clock.now())
        self.hub.broadcast("machine", {"id": machine_id})

    def _checked_in(self, space_id: str) -> None:
        self.rooms.bookings_changed()
        self.rooms.refresh(self.clock.now(), only=space_id)
        self.staff_hub.broadcast("bookings", {"space": space_id})

    def _event_recorded(self, event, outcome: dict) -> None:
        """After every accepted node event is committed (audited or not)."""
        self.fleet.event(event)
        if event.machine is not None and not outcome.get("duplicate"):
            self.machine_usage.record(event)
        if self.taps is not None:
            self.taps.answered(event, outcome)
        if outcome.get("checked_in") is not None:
            self.hub.broadcast("booking", {"id": outcome["checked_in"], "status": "checked_in"})
        if outcome.get("unknown_card"):
            self.staff_hub.broadcast("unknown_card", {"door": event.door})
        if event.command and event.door and not outcome.get("duplicate"):
            self.staff_hub.broadcast("command", {"door": event.door, "id": event.command, "kind": event.kind.value})

    def _door_changed(self, live) -> None:
        self.staff_hub.broadcast("door", {"door": live.door, "state": live.state, "lock_mode": live.lock_mode,
                                          "fire": live.fire})
        self.alerts.refresh()

    def _node_changed(self, node_id: str) -> None:
        self.staff_hub.broadcast("node", {"node": node_id, "state": self.fleet.state(node_id)})
        self.alerts.refresh()

    # -- counters (metrics) -------------------------------------------------------------
    def rejected(self):
        """MQTT messages refused, by reason (and ``dead_letter_rate_limited``: refusals not kept)."""
        return self.access_log.rejected + self.occupancy.rejected + self.fleet.rejected + self.grants.rejected

    def accepted(self) -> int:
        """MQTT messages taken by the intakes (with :meth:`rejected`, every message heard, once)."""
        return self.access_log.processed + self.occupancy.accepted + self.fleet.accepted + self.grants.accepted
