"""The simulated people: members of the API with badges, who book and badge like people do.

The simulator is not an authority: it signs nothing. At start, :class:`ApiPeople`
enrols its people through the API over HTTP, as staff would (an administrator's login):

- **members** (a pool per site) with one card each; those of a fab lab are trained
  there (they badge in during opening hours without a booking). Each visit gets its
  holder ``BOOK_AHEAD`` before it starts: a member who is nowhere else then, or, when all
  are busy, a new member who joins (enrolled through the API like the others), so
  nobody is in two places at once;
- **staff on duty** of the ticket office and the shop, who release those doors at
  opening and put them back to normal at closing (signed staff commands through the
  API — customers walk in without badging);
- **a visitor for you** (``demo_member``): a member with a card and no plans, whose
  login ``station demo`` prints.

Every planned visit of a bookable space (:mod:`edge.simulator.world`) is booked
through the API by its holder (``BOOK_AHEAD`` before it starts, a seat in a coworking
space); a visit the API refuses does not happen. A few members book and never come
(``no_show_rate``): the API releases their bookings. The doors receive their lists
from the API over MQTT and decide for themselves.

Without an API (``station edge simulate`` alone) nobody badges: visitors go in and out
with the request-to-exit button, so nodes, the collector and the boards still get a
realistic stream, but no access decision is exercised.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from station.inventory import Inventory, SpaceKind

from .world import SpaceWorld, Visit

log = logging.getLogger(__name__)

PASSWORD = "simulated-member-password"  # the simulated members' password (demo data only)
DEMO_CARD = "4242424"


def card_of(email: str) -> str:
    """A stable 24-bit card number (a 26-bit Wiegand card) for a simulated person."""
    digest = hashlib.sha256(email.encode()).digest()
    return str(int.from_bytes(digest[:3], "big") or 1)


@dataclass
class SimPerson:
    email: str
    name: str
    role: str = "member"
    card: str = ""
    id: int | None = None
    token: str | None = None
    trained_at: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.card = self.card or card_of(self.email)


class ApiPeople:
    """The simulated people as members of the API at ``base_url`` (an administrator enrols them)."""

    BOOK_AHEAD = timedelta(minutes=45)
    MEMBERS_PER_SITE = {"main": 12, "mini": 3, "mobile": 4}  # at start; more join when all are busy
    TRAINED_PER_FABLAB = 4

    def __init__(self, base_url: str, admin_email: str, admin_password: str, inventory: Inventory, *,
                 rng: random.Random | None = None, no_show_rate: float = 0.05, demo_email: str | None = None,
                 demo_password: str | None = None):
        import httpx

        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=10)
        self.admin_email, self.admin_password = admin_email, admin_password
        self.inventory = inventory
        self.rng = rng or random.Random(7)
        self.no_show_rate = no_show_rate
        self.demo_email = demo_email.strip().lower() if demo_email else None
        self.demo_password = demo_password or PASSWORD
        self.people: dict[str, SimPerson] = {}
        # Keyed by (space id, visit): visits are frozen values, safe as keys.
        self.holder: dict[tuple, SimPerson] = {}  # who badges for a visit
        self.booked: set[tuple] = set()  # visits booked
        self.refused: dict[tuple, str] = {}  # visits the API refused, and why
        self.no_shows: set[tuple] = set()
        self._admin: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- HTTP ---------------------------------------------------------------------------
    def _login(self, email: str, password: str) -> dict[str, str]:
        r = self.http.post("/api/v1/auth/login", json={"email": email, "password": password})
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def _as(self, person: SimPerson) -> dict[str, str]:
        if person.token is None:
            person.token = self._login(person.email, PASSWORD)["Authorization"]
        return {"Authorization": person.token}

    # -- enrolment ----------------------------------------------------------------------
    def enrol_visitor(self) -> SimPerson | None:
        """The member for a person at the board (``demo_email``), enrolled first and fast."""
        if not self._admin:
            self._admin = self._login(self.admin_email, self.admin_password)
        if self.demo_email and self.demo_email not in self.people:
            visitor = self._enrol(SimPerson(self.demo_email, "Camille Dupont", card=DEMO_CARD),
                                  password=self.demo_password)
            self._visitor_to_train = visitor  # trained in setup, with the others (in parallel)
        return self.people.get(self.demo_email) if self.demo_email else None

    def setup(self, worlds: dict[str, SpaceWorld], now: datetime) -> None:
        """Enrol everyone (idempotent: people already there are reused) and assign visits."""
        self.enrol_visitor()
        for site in {w.site.id: w.site for w in worlds.values()}.values():
            with ThreadPoolExecutor(4) as pool:  # password hashing is the API's slow part: in parallel
                members = list(pool.map(self._enrol, [
                    SimPerson(f"membre{n:02d}@{site.id}.sim", f"Membre simulé {n} ({site.town})")
                    for n in range(1, self.MEMBERS_PER_SITE[site.kind.value] + 1)]))
            fablabs = [space for space in site.spaces if space.kind is SpaceKind.fablab]
            trainees = [(members[(index * self.TRAINED_PER_FABLAB + k) % len(members)], space.id)
                        for index, space in enumerate(fablabs) for k in range(self.TRAINED_PER_FABLAB)]
            visitor = getattr(self, "_visitor_to_train", None)
            if visitor is not None and site.id == self.inventory.sites[0].id:  # their tap at a machine can power it on
                trainees += [(visitor, space.id) for space in fablabs if self.inventory.machines_of(space.id)]
                self._visitor_to_train = None
            with ThreadPoolExecutor(4) as pool:  # each training re-signs lists: in parallel
                list(pool.map(lambda t: self._train(t[0], t[1], now), trainees))
            for space in site.spaces:
                if space.kind in (SpaceKind.ticket_office, SpaceKind.shop):
                    self._enrol(SimPerson(f"accueil@{space.id}.sim", f"Accueil {space.name}", role="staff"))
        self.assign_upcoming(worlds, now)

    def _enrol(self, person: SimPerson, password: str = PASSWORD) -> SimPerson:
        r = self.http.post("/api/v1/members", headers=self._admin,
                           json={"email": person.email, "name": person.name, "role": person.role,
                                 "password": password})
        if r.status_code == 409:  # enrolled by an earlier run on the same database
            members = self.http.get("/api/v1/members", headers=self._admin).json()
            person.id = next(m["id"] for m in members if m["email"] == person.email)
        else:
            r.raise_for_status()
            person.id = r.json()["id"]
        r = self.http.post(f"/api/v1/members/{person.id}/badges", headers=self._admin,
                           json={"card_number": person.card, "label": "badge simulé"})
        if r.status_code not in (201, 409):
            r.raise_for_status()
        self.people[person.email] = person
        return person

    def _train(self, person: SimPerson, space_id: str, now: datetime) -> None:
        """The fab lab's induction, and a training on each of its machines (by training key)."""
        keys = ["general"] + sorted({m.training_id for m in self.inventory.machines_of(space_id)})
        for key in keys:
            r = self.http.post(f"/api/v1/members/{person.id}/trainings", headers=self._admin,
                               json={"space": space_id, "machine": key,
                                     "valid_until": (now + timedelta(days=90)).isoformat()})
            r.raise_for_status()
        person.trained_at.append(space_id)

    def book_machine(self, world: SpaceWorld, visit: Visit, machine: str, start: datetime, end: datetime) -> bool:
        """The visit's holder books a machine through the API, as on the board; False if refused."""
        person = self.holder.get((world.space.id, visit))
        if person is None:
            return False
        r = self.http.post("/api/v1/machine-bookings", headers=self._as(person),
                           json={"machine": machine, "start": start.isoformat(), "end": end.isoformat()})
        return r.status_code == 201

    def assign_upcoming(self, worlds: dict[str, SpaceWorld], now: datetime) -> None:
        """Give every visit starting within ``BOOK_AHEAD`` its holder, earliest first."""
        upcoming = sorted(((w, v) for w in worlds.values() for v in w.visits
                           if (w.space.id, v) not in self.holder and v.end > now and v.start <= now + self.BOOK_AHEAD),
                          key=lambda wv: wv[1].start)
        for world, visit in upcoming:
            self.holder[(world.space.id, visit)] = self._holder_for(world, visit, now)

    def _holder_for(self, world: SpaceWorld, visit: Visit, now: datetime) -> SimPerson:
        """Who comes: a member of the site (trained, for a fab lab) who is not somewhere else
        then; when every one is, a new member joins."""
        space = world.space
        if space.kind in (SpaceKind.ticket_office, SpaceKind.shop):
            return self.people[f"accueil@{space.id}.sim"]
        site = world.site.id
        pool = [p for p in self.people.values() if p.email.endswith(f"@{site}.sim") and p.role == "member"]
        if space.kind is SpaceKind.fablab:
            pool = [p for p in pool if space.id in p.trained_at]
        busy = {p.email for (_, v), p in self.holder.items() if v.start < visit.end and visit.start < v.end}
        free = [p for p in pool if p.email not in busy]
        if free:
            return self.rng.choice(free)
        n = 1 + sum(1 for p in self.people.values() if p.email.endswith(f"@{site}.sim") and p.role == "member")
        person = self._enrol(SimPerson(f"membre{n:02d}@{site}.sim", f"Membre simulé {n} ({world.site.town})"))
        if space.kind is SpaceKind.fablab:
            self._train(person, space.id, now)
        return person

    # -- what people do -----------------------------------------------------------------
    def card_for(self, world: SpaceWorld, visit: Visit) -> str | None:
        person = self.holder.get((world.space.id, visit))
        return person.card if person else None

    def expects(self, world: SpaceWorld, visit: Visit) -> bool:
        """Will this visit happen? (Bookable spaces: only when the API took the booking.)"""
        if not self._needs_booking(world):
            return True
        key = (world.space.id, visit)
        return key in self.booked and key not in self.no_shows

    @staticmethod
    def _needs_booking(world: SpaceWorld) -> bool:
        return world.space.bookable and world.space.kind is not SpaceKind.fablab

    def book_upcoming(self, worlds: dict[str, SpaceWorld], now: datetime) -> None:
        """Book, as their holders, the visits starting within ``BOOK_AHEAD``."""
        self.assign_upcoming(worlds, now)
        for world in worlds.values():
            if not self._needs_booking(world):
                continue
            for visit in list(world.visits):
                key = (world.space.id, visit)
                if key not in self.holder or key in self.booked or key in self.refused \
                        or visit.end <= now or visit.start > now + self.BOOK_AHEAD:
                    continue  # (no holder: someone who walked in with their own badge)
                self._book(world, visit, now)

    def _book(self, world: SpaceWorld, visit: Visit, now: datetime) -> None:
        person = self.holder[(world.space.id, visit)]
        if visit.start < now + timedelta(minutes=2):  # already under way when the plan was made: come now
            world.visits.remove(visit)
            del self.holder[(world.space.id, visit)]
            visit = Visit(now + timedelta(minutes=2), visit.end, visit.people)
            if visit.end - visit.start < timedelta(minutes=15):
                return
            world.visits.append(visit)
            self.holder[(world.space.id, visit)] = person
        attendees = min(visit.people, world.space.capacity)
        r = self.http.post("/api/v1/bookings", headers=self._as(person),
                           json={"space": world.space.id, "start": visit.start.isoformat(),
                                 "end": visit.end.isoformat(), "attendees": attendees,
                                 "title": "réunion" if world.space.kind is SpaceKind.meeting else ""})
        key = (world.space.id, visit)
        if r.status_code == 201:
            self.booked.add(key)
            if self.rng.random() < self.no_show_rate:
                self.no_shows.add(key)
        else:
            detail = r.json().get("detail") if r.headers.get("content-type", "").startswith("application/json") else r.text
            self.refused[key] = f"{r.status_code}: {str(detail)[:200]}"
            log.info("booking of %s %s-%s refused: %s", world.space.id, visit.start, visit.end, self.refused[key])

    def staff_door(self, door: str, action: str) -> bool:
        """A staff member on duty sends a door command (release at opening, normal at closing)."""
        staff = next((p for p in self.people.values() if p.role == "staff"), None)
        if staff is None:
            return False
        r = self.http.post(f"/api/v1/doors/{door}/commands", headers=self._as(staff),
                           json={"action": action, "ttl_s": 300})
        if r.status_code != 202:
            log.warning("door %s %s: API answered %d %s", door, action, r.status_code, r.text[:200])
        return r.status_code == 202

    def cards_of(self, email: str) -> list[str]:
        person = self.people.get(email.strip().lower())
        return [person.card] if person else []

    def close(self) -> None:
        self.http.close()
