"""Calendars: iCal feeds (a public one per space, a private one per member), the CalDAV
sync of every space's bookings (both ways), and the tokens of the private feeds.

- :mod:`.feeds` — RFC 5545 documents built from the database on each request (so they
  are current after every change);
- :mod:`.tokens` — the private feed URLs: unguessable, revocable, only their hash stored;
- :mod:`.caldav_sync` — one calendar per space on a CalDAV server (Nextcloud, Radicale…),
  published by a worker and read back for events members create there.
"""
