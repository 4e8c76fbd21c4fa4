"""What each generated account may do, asked of a real Mosquitto started from the generated config.

Refused publishes show as MQTT v5 PUBACK reason codes (0x87 Not authorized).
Mosquitto 2.0 grants every SUBACK and filters on delivery, so forbidden reads are
proven by publishing as an allowed user and showing nothing arrived.
"""

from __future__ import annotations

import time

import pytest

from station.contract import topics

from .conftest import Central

pytestmark = pytest.mark.mosquitto
SITE = "la-station"
NOT_AUTHORIZED = 0x87


def first_door_node(inventory, site=SITE):
    return next(n for s, n in inventory.nodes() if s.id == site and n.doors)


def other_door_node(inventory, node, site=SITE):
    return next(n for s, n in inventory.nodes() if s.id == site and n.doors and n.id != node.id)


def settle(*probes, seconds: float = 0.5) -> None:
    time.sleep(seconds)


def test_anonymous_connection_is_refused(central: Central):
    p = central.probe(None)
    assert p.connack.code in (0x86, 0x87), p.connack
    p.close()


def test_wrong_password_is_refused(central: Central):
    p = central.probe("collector", "not-the-password")
    assert p.connack.code in (0x86, 0x87), p.connack
    p.close()


def test_every_central_account_connects_with_its_password(central: Central):
    for user in central.result.central_users:
        p = central.probe(user.username)
        assert p.connack.refused is False, (user.username, p.connack)
        p.close()


def test_node_writes_its_own_topics_and_not_another_nodes(central: Central, inventory):
    node, other = first_door_node(inventory), None
    other = other_door_node(inventory, node)
    watcher = central.probe("collector")
    watcher.subscribe(topics.subscription("nodes", "events"))
    p = central.probe(node.id)
    assert p.publish(topics.node_events(SITE, node.id), b"mine").refused is False
    assert p.publish(topics.node_events(SITE, other.id), b"forged").code == NOT_AUTHORIZED
    assert p.publish(topics.node_status(SITE, other.id), b"forged", retain=True).code == NOT_AUTHORIZED
    assert p.publish(topics.node_telemetry("mini-arques", node.id), b"forged").code == NOT_AUTHORIZED
    assert p.publish(f"station/v1/{SITE}/nodes/{node.id}/debug", b"off-contract").code == NOT_AUTHORIZED
    settle()
    assert [payload for _, payload in watcher.received] == [b"mine"]
    p.close(), watcher.close()


def test_node_cannot_publish_grants_or_commands_even_for_its_own_door(central: Central, inventory):
    node = first_door_node(inventory)
    door = node.doors[0]
    listener = central.probe("api")
    listener.subscribe(topics.subscription("doors", "grants"))
    listener.subscribe(topics.subscription("doors", "command"))
    p = central.probe(node.id)
    assert p.publish(topics.door_grants(SITE, door), b"{}").code == NOT_AUTHORIZED
    assert p.publish(topics.door_command(SITE, door), b"{}").code == NOT_AUTHORIZED
    assert p.publish(topics.room_occupancy(SITE, "guichet"), b"{}").code == NOT_AUTHORIZED
    settle()
    assert listener.received == []
    p.close(), listener.close()


def test_node_reads_its_own_doors_grants_and_not_other_doors(central: Central, inventory):
    node = first_door_node(inventory)
    other = other_door_node(inventory, node)
    api = central.probe("api")
    mine, theirs = topics.door_grants(SITE, node.doors[0]), topics.door_grants(SITE, other.doors[0])
    assert api.publish(mine, b"grants-mine", retain=True).refused is False
    assert api.publish(theirs, b"grants-theirs", retain=True).refused is False
    p = central.probe(node.id)
    for pattern in ("#", f"station/v1/{SITE}/doors/+/grants", theirs, topics.door_command(SITE, other.doors[0])):
        p.subscribe(pattern)
    api.publish(topics.door_command(SITE, other.doors[0]), b"command-theirs")
    settle()
    assert {payload for _, payload in p.received} == {b"grants-mine"}
    # Clean up the retained messages for the other tests of the module.
    api.publish(mine, b"", retain=True), api.publish(theirs, b"", retain=True)
    p.close(), api.close()


def test_collector_cannot_write_grants_or_commands(central: Central, inventory):
    node = first_door_node(inventory)
    p = central.probe("collector")
    assert p.publish(topics.door_grants(SITE, node.doors[0]), b"{}").code == NOT_AUTHORIZED
    assert p.publish(topics.door_command(SITE, node.doors[0]), b"{}").code == NOT_AUTHORIZED
    assert p.publish(topics.room_availability(SITE, "guichet"), b"{}").code == NOT_AUTHORIZED
    assert p.publish(topics.room_occupancy(SITE, "guichet"), b"{}").refused is False
    p.close()


def test_api_cannot_forge_node_events_or_occupancy(central: Central, inventory):
    node = first_door_node(inventory)
    p = central.probe("api")
    assert p.publish(topics.node_events(SITE, node.id), b"{}").code == NOT_AUTHORIZED
    assert p.publish(topics.room_occupancy(SITE, "guichet"), b"{}").code == NOT_AUTHORIZED
    assert p.publish(topics.room_availability(SITE, "guichet"), b"{}").refused is False
    p.close()


def test_dashboard_cannot_publish_at_all(central: Central, inventory):
    node = first_door_node(inventory)
    p = central.probe("dashboard")
    every_topic = [ch.pattern(SITE, {"nodes": node.id, "doors": node.doors[0], "rooms": "guichet",
                                 "machines": "laser-trotec"}[ch.scope])
                   for ch in topics.CHANNELS]
    for topic in every_topic + ["station/v1/anything", "$SYS/broker/x"]:
        assert p.publish(topic, b"x").code == NOT_AUTHORIZED, topic
    p.close()


def test_dashboard_reads_rooms_only(central: Central, inventory):
    node = first_door_node(inventory)
    dash = central.probe("dashboard")
    dash.subscribe("#")
    collector, api, n = central.probe("collector"), central.probe("api"), central.probe(node.id)
    collector.publish(topics.room_occupancy(SITE, "guichet"), b"occupancy")
    api.publish(topics.room_availability(SITE, "guichet"), b"availability")
    api.publish(topics.door_grants(SITE, node.doors[0]), b"grants")
    n.publish(topics.node_events(SITE, node.id), b"event")
    settle()
    assert sorted(payload for _, payload in dash.received) == [b"availability", b"occupancy"]
    for p in (dash, collector, api, n):
        p.close()


def test_client_id_with_wildcards_is_replaced_by_the_username(central: Central, inventory):
    """A node cannot choose its client id: `+/#` becomes its username, so it takes over its own session."""
    node, other = first_door_node(inventory), None
    other = other_door_node(inventory, node)
    genuine = central.probe(node.id, client_id=node.id)
    assert genuine.connack.refused is False
    rogue = central.probe(node.id, client_id="+/#")
    assert rogue.connack.refused is False
    assert genuine.wait_disconnected(3), "the session was not taken over: the client id was not the username"
    assert f"as {node.id} (p5" in central.broker.log_text()
    assert rogue.publish(topics.node_events(SITE, other.id), b"x").code == NOT_AUTHORIZED
    for client_id in (other.id, "collector"):
        impostor = central.probe(node.id, client_id=client_id)
        assert impostor.publish(topics.node_events(SITE, other.id), b"x").code == NOT_AUTHORIZED
        impostor.close()
    rogue.close(), genuine.close()


def test_bridge_account_is_limited_to_its_site(central: Central, inventory):
    p = central.probe("bridge-mini-arques")
    assert p.publish(topics.node_events("mini-arques", "arques-porte"), b"ok").refused is False
    assert p.publish(topics.node_events("mini-aire", "aire-porte"), b"x").code == NOT_AUTHORIZED
    assert p.publish(topics.door_grants("mini-arques", "porte-arques-coworking"), b"x").code == NOT_AUTHORIZED
    p.close()


def test_collector_reads_events_through_a_shared_subscription(central: Central, inventory):
    node = first_door_node(inventory)
    collector = central.probe("collector")
    collector.subscribe("$share/collectors/" + topics.subscription("nodes", "events"))
    n = central.probe(node.id)
    n.publish(topics.node_events(SITE, node.id), b"shared")
    settle()
    assert [p for _, p in collector.received] == [b"shared"]
    for p in (collector, n):
        p.close()


def test_broker_log_names_connections_but_never_payloads(central: Central, inventory):
    node = first_door_node(inventory)
    secret = f"payload-{time.monotonic_ns()}"
    n = central.probe(node.id)
    n.publish(topics.node_events(SITE, node.id), secret.encode())
    n.publish(topics.node_events(SITE, "ls-porte-boutique"), secret.encode())  # refused
    n.close()
    settle()
    log = central.broker.log_text()
    assert f"as {node.id} (p5" in log
    assert secret not in log
