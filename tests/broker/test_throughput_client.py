"""The collector's paho client (station.mqtt_throughput) against stock paho, over a real Mosquitto."""

from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from station.mqtt import MqttBus, MqttSettings
from station.mqtt_throughput import ReceivedMessage, ThroughputClient, supported
from tests.utils.inbox import Inbox


def publisher(port: int) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="pub", protocol=MQTTProtocolVersion.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def seen(msg) -> tuple:
    """Everything a handler can see of a message, but its packet id (each session its own)."""
    return (msg.topic, msg.payload, msg.qos, msg.retain, msg.dup, msg.properties.json())


def test_an_unchecked_paho_gets_the_stock_client(mosquitto, monkeypatch):
    """pyproject pins paho to the checked minor versions; should another be installed, the
    bus says so and uses stock paho instead of a client built on its private members."""
    import paho.mqtt

    monkeypatch.setattr(paho.mqtt, "__version__", "2.3.0")
    supported.cache_clear()
    try:
        assert not supported()
        assert type(MqttBus("probe", MqttSettings(port=mosquitto.port), throughput=True).client) is mqtt.Client
    finally:
        monkeypatch.undo()
        supported.cache_clear()
    assert supported()


def test_supported_on_the_pinned_paho_and_used_by_the_collector_bus(mosquitto):
    assert supported()
    bus = MqttBus("probe", MqttSettings(port=mosquitto.port), throughput=True)
    assert isinstance(bus.client, ThroughputClient)
    assert type(MqttBus("probe", MqttSettings(port=mosquitto.port)).client) is mqtt.Client


class PahoFraming(ThroughputClient):
    LEAN_FRAMING = False  # paho's _packet_read frames every packet; the lean decoder still decodes


class CountingFraming(ThroughputClient):
    """Counts the packets the lean framing handled itself."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.lean_packets = 0

    def _read_publishes(self, budget):
        done, rc = super()._read_publishes(budget)
        self.lean_packets += done
        return done, rc


@pytest.mark.parametrize("client_class", [ThroughputClient, PahoFraming])
def test_every_message_is_what_stock_paho_sees(mosquitto, client_class):
    stock = Inbox(mqtt.Client, mosquitto.port, f"stock-{client_class.__name__}")
    fast = Inbox(client_class, mosquitto.port, f"fast-{client_class.__name__}")
    pub = publisher(mosquitto.port)
    with_props = Properties(PacketTypes.PUBLISH)
    with_props.UserProperty = ("site", "saint-omer")
    with_props.MessageExpiryInterval = 3600
    with_props.ContentType = "application/json"
    sent = [("t/a", b'{"x": 1}', 1, False, None), ("t/b", b"", 1, False, None),
            ("t/gare/caf\u00e9", "\u00e9t\u00e9".encode(), 0, False, None),
            ("t/big", bytes(range(256)) * 800, 1, False, None),  # 200 KiB: several reads
            ("t/props", b"with properties", 1, False, with_props),
            ("t/retained", b"kept", 1, True, None)]
    sent += [(f"t/many/{k % 7}", f"{k:06d}".encode(), k % 2, False, None) for k in range(3000)]
    for topic, payload, qos, retain, props in sent:
        pub.publish(topic, payload, qos=qos, retain=retain, properties=props)
    try:
        got_stock = stock.wait_for(len(sent))
        got_fast = fast.wait_for(len(sent))
        # (QoS 0 and QoS 1 messages may overtake each other: compare as sets)
        assert sorted(map(seen, got_fast)) == sorted(map(seen, got_stock))
        assert sorted((m.topic, m.payload) for m in got_fast) == sorted((t, p) for t, p, *_ in sent)
        # both decoders ran: paho's for the packet with properties, the lean one for the rest
        by_topic = {m.topic: m for m in got_fast}
        assert not isinstance(by_topic["t/props"], ReceivedMessage)
        assert by_topic["t/props"].properties.UserProperty == [("site", "saint-omer")]
        assert isinstance(by_topic["t/a"], ReceivedMessage)
        assert by_topic["t/a"].info.mid == by_topic["t/a"].mid  # made on demand
    finally:
        pub.publish("t/retained", b"", qos=1, retain=True).wait_for_publish(5)
        time.sleep(0.2)  # the retained message is gone before the next test subscribes
        for client in (stock, fast):
            client.close()
        pub.disconnect()
        pub.loop_stop()


def test_unacknowledged_messages_come_back_with_their_ids(mosquitto):
    """manual_ack through the lean decoder: what is not acked is redelivered (dup), once acked it is not."""
    pub = publisher(mosquitto.port)
    inbox = Inbox(ThroughputClient, mosquitto.port, "fast-ack", "t/ack/#", clean_start=True, manual_ack=True)
    try:
        for k in range(10):
            pub.publish(f"t/ack/{k}", str(k).encode(), qos=1)
        first = inbox.wait_for(10)
        for msg in first[:4]:
            inbox.client.ack(msg.mid, msg.qos)
        time.sleep(0.5)  # the PUBACKs go out
        inbox.close()
        again = Inbox(ThroughputClient, mosquitto.port, "fast-ack", "t/ack/#", clean_start=False, manual_ack=True)
        redelivered = again.wait_for(6)
        assert sorted(m.payload for m in redelivered) == [str(k).encode() for k in range(4, 10)]
        assert all(m.dup and isinstance(m, ReceivedMessage) for m in redelivered)
        assert {m.mid for m in redelivered} == {m.mid for m in first[4:]}
        for msg in redelivered:
            again.client.ack(msg.mid, msg.qos)
        time.sleep(0.5)
        again.close()
        last = Inbox(ThroughputClient, mosquitto.port, "fast-ack", "t/ack/#", clean_start=False, manual_ack=True)
        time.sleep(1.0)
        assert last.messages == []
        last.close()
    finally:
        pub.disconnect()
        pub.loop_stop()


def test_routes_follow_callbacks_added_and_removed(mosquitto):
    pub = publisher(mosquitto.port)
    inbox = Inbox(ThroughputClient, mosquitto.port, "fast-routes", "r/#")
    routed: list[str] = []
    try:
        pub.publish("r/x", b"1", qos=1)
        inbox.wait_for(1)  # no filtered callback yet: the default on_message
        inbox.client.message_callback_add("r/+", lambda c, u, m: routed.append(m.topic))
        pub.publish("r/x", b"2", qos=1).wait_for_publish(5)
        deadline = time.monotonic() + 10
        while not routed and time.monotonic() < deadline:
            time.sleep(0.01)
        assert routed == ["r/x"] and len(inbox.messages) == 1
        inbox.client.message_callback_remove("r/+")
        pub.publish("r/x", b"3", qos=1)
        inbox.wait_for(2)
        assert routed == ["r/x"]
    finally:
        inbox.close()
        pub.disconnect()
        pub.loop_stop()


@pytest.mark.parametrize("size", [1, 127, 128, 16_383, 16_384, 70_000])
def test_lengths_across_the_remaining_length_boundaries(mosquitto, size):
    """Remaining-length encodings of 1, 2 and 3 bytes, and packets larger than one read."""
    pub = publisher(mosquitto.port)
    inbox = Inbox(ThroughputClient, mosquitto.port, f"fast-len-{size}", "l/#")
    try:
        payloads = [bytes([k % 251]) * size for k in range(3)]
        for payload in payloads:
            pub.publish("l/x", payload, qos=1)
        assert [m.payload for m in inbox.wait_for(3)] == payloads
    finally:
        inbox.close()
        pub.disconnect()
        pub.loop_stop()


class SmallRounds(ThroughputClient):
    MAX_PACKETS = 3  # most rounds end with packets still in the read buffer


@pytest.mark.parametrize("manual_ack", [False, True])
def test_packets_left_in_the_read_buffer_are_not_forgotten(mosquitto, manual_ack):
    """A queued stream drained in rounds that stop with data in the buffer: every message
    arrives promptly, not at the next keepalive (the buffer is invisible to select)."""
    n = 3000
    first = Inbox(SmallRounds, mosquitto.port, f"fast-rounds-{manual_ack}", "q/#", manual_ack=manual_ack)
    first.close()  # the session stays; the stream queues for it
    pub = publisher(mosquitto.port)
    infos = [pub.publish(f"q/{k % 5}", f"{k:05d}".encode(), qos=1) for k in range(n)]
    for info in infos:
        info.wait_for_publish(10)
    started = time.monotonic()
    inbox = Inbox(SmallRounds, mosquitto.port, f"fast-rounds-{manual_ack}", "q/#", clean_start=False,
                  manual_ack=manual_ack)
    if manual_ack:  # ack as they come, from another thread, like the collector's store thread
        stop = threading.Event()

        def acker():
            done = 0
            while not stop.is_set():
                batch = inbox.messages[done:]
                for msg in batch:
                    inbox.client.ack(msg.mid, msg.qos)
                done += len(batch)
                time.sleep(0.005)
        thread = threading.Thread(target=acker, daemon=True)
        thread.start()
    try:
        got = inbox.wait_for(n, timeout=20)
        assert time.monotonic() - started < 15, "the last packets waited for the keepalive"
        assert sorted(m.payload for m in got) == [f"{k:05d}".encode() for k in range(n)]
    finally:
        if manual_ack:
            stop.set()
            thread.join()
        inbox.close()
        pub.disconnect()
        pub.loop_stop()


def test_a_queued_stream_is_framed_by_the_lean_reader_and_arrives_whole(mosquitto):
    """A drained queue of plain PUBLISH packets (many a read, some split across reads) goes
    through the lean framing, interleaved with packets paho frames (PUBACKs of the client's
    own publications, PUBLISH packets with properties): every message, once, in order."""
    n = 5000
    first = Inbox(CountingFraming, mosquitto.port, "fast-lean", "lean/#")
    first.close()
    pub = publisher(mosquitto.port)
    with_props = Properties(PacketTypes.PUBLISH)
    with_props.ContentType = "text/plain"
    infos = [pub.publish("lean/x", f"{k:05d}".encode() * (1 + k % 40), qos=1,
                         properties=with_props if k % 1000 == 999 else None) for k in range(n)]
    for info in infos:
        info.wait_for_publish(10)
    inbox = Inbox(CountingFraming, mosquitto.port, "fast-lean", "lean/#", clean_start=False)
    try:
        own = [inbox.client.publish("elsewhere/y", b"ack me", qos=1) for _ in range(50)]  # PUBACKs come back
        got = inbox.wait_for(n)
        assert [m.payload for m in got] == [f"{k:05d}".encode() * (1 + k % 40) for k in range(n)]
        assert [m.properties.ContentType for m in got if not isinstance(m, ReceivedMessage)] == ["text/plain"] * 5
        for info in own:
            info.wait_for_publish(10)
            assert info.is_published()
        # (a packet split across two reads goes to paho, so at most one a read does)
        assert inbox.client.lean_packets >= 0.5 * n
    finally:
        inbox.close()
        pub.disconnect()
        pub.loop_stop()
