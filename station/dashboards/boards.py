"""The five boards facility staff use, each panel answering one question.

Every query reads only what the collector writes (``station/history/schema.py``); a test
checks each measurement, field and tag used here against that schema, and runs every
query on a real InfluxDB loaded with a simulated day.
"""

from __future__ import annotations

from typing import Any

from .panels import (
    CO2_STEPS, OCCUPIED_MAPPING, ONLINE_MAPPING, SITE_FILTER, SITE_VARIABLE, SPACE_FILTER, SPACE_VARIABLE,
    dashboard, panel, target,
)

T = "$timeFilter"
ALARM_KINDS = "door_forced|door_held_open|fire_release|reader_lockout|tamper|outbox_alarm|grants_rejected"


def building_overview() -> dict[str, Any]:
    return dashboard("la-station-overview", "La Station — building overview",
                     "Every space of a site at a glance: who is where (counts, not names), air, alarms, nodes.", [
        panel("stat", "Occupied now", "Is each space occupied right now?",
              [target(f'SELECT last("occupied") FROM "occupancy" WHERE {SITE_FILTER} AND {T} GROUP BY "space"',
                      alias="$tag_space")], mappings=OCCUPIED_MAPPING, w=24, h=5,
              options={"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background",
                       "textMode": "value_and_name"}),
        panel("bargauge", "People now (estimate)", "How many people are in each space (CO2 balance, PIR, badges)?",
              [target(f'SELECT last("people_estimate") FROM "occupancy" WHERE {SITE_FILTER} AND {T} GROUP BY "space"',
                      alias="$tag_space")], unit="none", w=12,
              options={"reduceOptions": {"calcs": ["lastNotNull"]}, "orientation": "horizontal"}),
        panel("timeseries", "CO2 per space", "Is the air good? Bands at 800, 1,000 and 1,400 ppm.",
              [target(f'SELECT mean("co2_ppm") FROM "telemetry" WHERE {SITE_FILTER} AND {T} '
                      'GROUP BY time($__interval), "space" fill(null)', alias="$tag_space")],
              unit="ppm", steps=CO2_STEPS, w=12,
              options={"legend": {"displayMode": "list", "placement": "bottom"}}),
        panel("bargauge", "Use over the period", "Which spaces were used, and how much of the time?",
              [target(f'SELECT mean("occupied") FROM "occupancy" WHERE {SITE_FILTER} AND {T} GROUP BY "space"',
                      alias="$tag_space")], unit="percentunit", min_=0, max_=1, w=12,
              options={"reduceOptions": {"calcs": ["lastNotNull"]}, "orientation": "horizontal"}),
        panel("table", "Alarms", "Forced or held-open doors, fire releases, lockouts, tampering, node alarms.",
              [target(f'SELECT count("count") FROM "event" WHERE {SITE_FILTER} AND "kind" =~ /^({ALARM_KINDS})$/ '
                      f'AND {T} GROUP BY "kind", "door", "node"', fmt="table")], w=6),
        panel("table", "Nodes offline", "Which nodes are offline (last status)?",
              [target(f'SELECT last("online") AS "online" FROM "node_status" WHERE {SITE_FILTER} AND {T} '
                      'GROUP BY "node"', fmt="table")], mappings=ONLINE_MAPPING, w=6),
    ], [SITE_VARIABLE], time_from="now/d", tags=("overview",))


def space_detail() -> dict[str, Any]:
    space = f"{SITE_FILTER} AND {SPACE_FILTER}"
    series = lambda field, meas="telemetry": target(  # noqa: E731
        f'SELECT mean("{field}") FROM "{meas}" WHERE {space} AND {T} GROUP BY time($__interval) fill(null)',
        alias=field)
    return dashboard("la-station-space", "La Station — space detail",
                     "One space over time: occupancy, people, air, light, doors, bookings against real use.", [
        panel("state-timeline", "Occupied", "When was the space occupied?",
              [target(f'SELECT max("occupied") FROM "occupancy" WHERE {space} AND {T} '
                      'GROUP BY time($__interval) fill(previous)', alias="occupied")],
              mappings=OCCUPIED_MAPPING, w=24, h=5),
        panel("timeseries", "People (estimate)", "How many people, by the CO2 balance corrected by badges?",
              [series("people_estimate", "occupancy")], unit="none", w=12),
        panel("timeseries", "CO2", "Is the air good? Bands at 800, 1,000 and 1,400 ppm.",
              [series("co2_ppm")], unit="ppm", steps=CO2_STEPS, w=12),
        panel("timeseries", "Temperature", "Is it warm enough, or too warm?", [series("temperature_c")],
              unit="celsius", w=8),
        panel("timeseries", "Humidity", "Relative humidity.", [series("humidity_pct")], unit="humidity", w=8),
        panel("timeseries", "Light", "Are the lights on in an empty room?", [series("light_lux")], unit="lux", w=8),
        panel("timeseries", "Door events", "How often does the door open, and was it forced or held open?",
              [target(f'SELECT count("count") FROM "event" WHERE {space} AND "kind" =~ /^door_/ AND {T} '
                      'GROUP BY time($__interval), "kind" fill(0)', alias="$tag_kind")], unit="none", w=12,
              options={"drawStyle": "bars"}),
        panel("timeseries", "Booked against used", "Was the space used when booked? Reserved and not occupied is a no-show.",
              [target(f'SELECT max("reserved") FROM "availability" WHERE {space} AND {T} '
                      'GROUP BY time($__interval) fill(previous)', "A", alias="reserved, nobody in"),
               target(f'SELECT max("occupied") FROM "occupancy" WHERE {space} AND {T} '
                      'GROUP BY time($__interval) fill(previous)', "B", alias="occupied")], w=12, min_=0, max_=1),
    ], [SITE_VARIABLE, SPACE_VARIABLE], tags=("space",))


def access_security() -> dict[str, Any]:
    per_door = lambda kind, title, question: panel(  # noqa: E731
        "timeseries", title, question,
        [target(f'SELECT count("count") FROM "event" WHERE {SITE_FILTER} AND "kind" = \'{kind}\' AND {T} '
                'GROUP BY time($__interval), "door" fill(0)', alias="$tag_door")], unit="none", w=12,
        options={"drawStyle": "bars"})
    return dashboard("la-station-access", "La Station — access and security",
                     "Badges granted and denied per door, forced and held-open doors, fire releases, remote commands.", [
        per_door("access_granted", "Badges granted", "Who got in, door by door (counts, not names)?"),
        per_door("access_denied", "Badges denied", "Where are badges refused — a broken grant list or someone trying?"),
        panel("table", "Forced and held-open doors", "Which doors were forced or left open?",
              [target(f'SELECT count("count") FROM "event" WHERE {SITE_FILTER} AND '
                      f'"kind" =~ /^door_(forced|held_open)$/ AND {T} GROUP BY "door", "kind"', fmt="table")], w=8),
        panel("table", "Fire releases", "When did the fire input release the doors?",
              [target(f'SELECT count("count") FROM "event" WHERE {SITE_FILTER} AND "kind" = \'fire_release\' '
                      f'AND {T} GROUP BY "door"', fmt="table")], w=8),
        panel("table", "Remote commands", "Which staff commands did the doors apply?",
              [target(f'SELECT count("count") FROM "event" WHERE {SITE_FILTER} AND "kind" = \'command_applied\' '
                      f'AND {T} GROUP BY "door", "reason"', fmt="table")], w=8),
    ], [SITE_VARIABLE], tags=("access",))


def fleet() -> dict[str, Any]:
    return dashboard("la-station-fleet", "La Station — node fleet",
                     "Every edge node: last seen, version, outbox depth, grant versions, sensor faults.", [
        panel("table", "Nodes", "When was each node last seen, which version runs, is its outbox draining?",
              [target(f'SELECT last("online") AS "online", last("version") AS "version", '
                      f'last("outbox_depth") AS "outbox", last("uptime_s") AS "uptime" FROM "node_status" '
                      f'WHERE {SITE_FILTER} AND {T} GROUP BY "node"', fmt="table")],
              mappings=ONLINE_MAPPING, w=24, h=10),
        panel("timeseries", "Outbox depth", "Is any node holding back events (network or broker trouble)?",
              [target(f'SELECT max("outbox_depth") FROM "node_status" WHERE {SITE_FILTER} AND {T} '
                      'GROUP BY time($__interval), "node" fill(previous)', alias="$tag_node")], unit="none", w=12),
        panel("table", "Grant list version per door", "Has every door received the latest grant list?",
              [target(f'SELECT last("version") AS "version" FROM "node_grant" WHERE {SITE_FILTER} AND {T} '
                      'GROUP BY "node", "door"', fmt="table")], w=12),
        panel("table", "Sensor faults", "Which sensors stopped answering?",
              [target(f'SELECT sum("faults") AS "faults" FROM "telemetry" WHERE {SITE_FILTER} AND "faults" > 0 '
                      f'AND {T} GROUP BY "node"', fmt="table")], w=12),
    ], [SITE_VARIABLE], refresh="1m", tags=("fleet",))


def machines() -> dict[str, Any]:
    """Fab-lab machines (issue 15): the nodes' ``machine_off`` events carry the relay's on-time."""
    on_time = f'"kind" = \'machine_off\' AND {T}'
    return dashboard("la-station-machines", "La Station — fab-lab machines",
                     "Machine utilisation (hours of power per machine per day, by site), faults and refusals.", [
        panel("timeseries", "Machine hours per day", "How many hours was each machine powered, day by day?",
              [target(f'SELECT sum("duration_s") / 3600 FROM "event" WHERE {SITE_FILTER} AND {on_time} '
                      'GROUP BY time(1d), "machine" fill(0)', alias="$tag_machine")], unit="h", w=24,
              options={"drawStyle": "bars"}),
        panel("table", "Machine hours by site", "Over the period, how many hours per machine, on every site?",
              [target(f'SELECT sum("duration_s") / 3600 AS "hours", count("count") AS "sessions" FROM "event" '
                      f'WHERE {on_time} GROUP BY "site", "machine"', fmt="table")], w=12),
        panel("table", "Safety cuts and faults", "Which machines had an E-stop or lost their extraction?",
              [target(f'SELECT count("count") FROM "event" WHERE {SITE_FILTER} AND "kind" = \'machine_fault\' '
                      f'AND {T} GROUP BY "machine", "reason"', fmt="table")], w=12),
    ], [SITE_VARIABLE], tags=("machines",))


BOARDS = {"overview": building_overview, "space": space_detail, "access": access_security, "fleet": fleet,
          "machines": machines}


def all_boards() -> dict[str, dict[str, Any]]:
    return {name: build() for name, build in BOARDS.items()}
