"""The collector's MQTT client against what a broker may put on the wire, over a link that
cuts the byte stream anywhere.

The collector reads with :class:`station.mqtt_throughput.ThroughputClient`, which frames
plain PUBLISH packets itself and hands every other packet (properties, QoS 2, a packet
split across reads) to paho. One packet framed wrong would corrupt every packet behind
it, so here a real Mosquitto's stream reaches the client through a relay that writes it
``chunk`` bytes at a time — every packet then arrives cut at every offset modulo
``chunk`` — and the client must see exactly what stock paho sees on a direct connection:
MQTT v5 properties of every kind, QoS 0/1/2, retained, empty and large payloads.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from datetime import datetime, timezone

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from station.broker.dev import free_port
from station.mqtt_throughput import ThroughputClient
from tests.utils.inbox import Inbox


class ChoppingLink:
    """A TCP relay to the broker whose broker → client direction goes out ``chunk`` bytes
    a write (Nagle off, a pause between writes, so that the reads see the cuts)."""

    def __init__(self, broker_port: int, chunk: int, pause_s: float = 0.0005):
        self.broker_port, self.chunk, self.pause_s = broker_port, chunk, pause_s
        self.port = free_port()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._sockets: list[socket.socket] = [self._listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        try:
            while True:
                client, _ = self._listener.accept()
                broker = socket.create_connection(("127.0.0.1", self.broker_port))
                for s in (client, broker):
                    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._sockets += [client, broker]
                threading.Thread(target=self._pipe, args=(client, broker, 0), daemon=True).start()
                threading.Thread(target=self._pipe, args=(broker, client, self.chunk), daemon=True).start()
        except OSError:
            return

    def _pipe(self, source: socket.socket, sink: socket.socket, chunk: int) -> None:
        try:
            while data := source.recv(65536):
                if not chunk:
                    sink.sendall(data)
                    continue
                for k in range(0, len(data), chunk):
                    sink.sendall(data[k:k + chunk])
                    time.sleep(self.pause_s)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        for s in self._sockets:
            s.close()


def seen(msg) -> tuple:
    return (msg.topic, msg.payload, msg.qos, msg.retain, msg.dup, sorted(msg.properties.json().items()))


def properties(**values) -> Properties:
    props = Properties(PacketTypes.PUBLISH)
    for name, value in values.items():
        setattr(props, name, value)
    return props


def stream(topic: str) -> list[tuple]:
    """(topic, payload, qos, retain, properties): a bit of everything a broker relays."""
    every_property = properties(UserProperty=[("site", "la-station"), ("k", "v")], ContentType="application/json",
                                PayloadFormatIndicator=1, ResponseTopic=f"{topic}/reply",
                                CorrelationData=b"\x00\xffcorr", MessageExpiryInterval=3600)
    out = []
    for k in range(4):
        out += [
            (f"{topic}/plain", f"plain-{k}".encode(), 1, False, None),
            (f"{topic}/q0", f"qos0-{k}".encode(), 0, False, None),
            (f"{topic}/empty", b"", 1, False, None),
            (f"{topic}/user", f"user-{k}".encode(), 1, False, properties(UserProperty=[("k", "v" * k)])),
            (f"{topic}/every", f'{{"k": {k}}}'.encode(), 1, False, every_property),
            (f"{topic}/q2", f"qos2-{k}".encode(), 2, False, None),
            (f"{topic}/q2props", f"qos2p-{k}".encode(), 2, False, properties(ContentType="text/plain")),
            (f"{topic}/big", bytes([k]) * (200 + 70 * k), 1, False, None),
            (f"{topic}/q0props", f"q0p-{k}".encode(), 0, False, properties(PayloadFormatIndicator=1)),
            (f"{topic}/plain", f"after-{k}".encode(), 1, False, None),
        ]
    return out


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 13, 64])
def test_a_stream_cut_anywhere_reads_as_stock_paho_reads_it_whole(mosquitto, chunk):
    topic = f"wire/{chunk}"
    link = ChoppingLink(mosquitto.port, chunk)
    stock = Inbox(mqtt.Client, mosquitto.port, f"wire-stock-{chunk}", f"{topic}/#", qos=2, session_expiry_s=None)
    ours = Inbox(ThroughputClient, link.port, f"wire-ours-{chunk}", f"{topic}/#", qos=2, session_expiry_s=None)
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"wire-pub-{chunk}", protocol=MQTTProtocolVersion.MQTTv5)
    pub.connect("127.0.0.1", mosquitto.port)
    pub.loop_start()
    try:
        sent = stream(topic)
        for t, payload, qos, retain, props in sent:
            pub.publish(t, payload, qos=qos, retain=retain, properties=props).wait_for_publish(10)
        expected = [seen(m) for m in stock.wait_for(len(sent))]
        got = [seen(m) for m in ours.wait_for(len(sent), timeout=60)]
        time.sleep(0.2)  # nothing more (a packet framed twice) arrives
        assert len(ours.messages) == len(sent)
        # The expiry interval is what is left of it when the broker sends: compare it apart.
        # (paho hands a QoS 2 message over at PUBREL, a round trip later: per topic, in order)
        got, expected = sorted(got, key=lambda m: m[0]), sorted(expected, key=lambda m: m[0])
        assert [g[:5] for g in got] == [e[:5] for e in expected]
        for g, e in zip(got, expected):
            g_props, e_props = dict(g[5]), dict(e[5])
            assert abs(g_props.pop("MessageExpiryInterval", 0) - e_props.pop("MessageExpiryInterval", 0)) <= 5
            assert g_props == e_props
    finally:
        ours.close()
        stock.close()
        pub.disconnect()
        pub.loop_stop()
        link.close()


@pytest.mark.skipif(shutil.which("mosquitto_pub") is None, reason="mosquitto_pub not installed")
def test_a_foreign_publisher_with_properties_and_retained_messages(mosquitto):
    """mosquitto_pub -V 5 with user, content-type, expiry, response-topic, correlation-data
    and payload-format properties, a retained message and an empty one, through a 1-byte link."""
    topic = "wire/foreign"
    base = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(mosquitto.port), "-V", "5", "-q", "1"]
    sends = [
        ["-t", f"{topic}/a", "-m", "first", "-D", "publish", "user-property", "k", "v",
         "-D", "publish", "content-type", "application/json", "-D", "publish", "payload-format-indicator", "1",
         "-D", "publish", "response-topic", "reply/here", "-D", "publish", "correlation-data", "c0rr",
         "-D", "publish", "message-expiry-interval", "60"],
        ["-t", f"{topic}/b", "-n"],
        ["-t", f"{topic}/c", "-m", "kept", "-r"],
        ["-t", f"{topic}/d", "-m", "last"],
    ]
    link = ChoppingLink(mosquitto.port, 1)
    ours = Inbox(ThroughputClient, link.port, "wire-foreign", f"{topic}/#", qos=2, session_expiry_s=None)
    try:
        for args in sends:
            subprocess.run(base + args, check=True, timeout=10)
        got = ours.wait_for(4, timeout=30)
        assert [(m.topic, m.payload) for m in got] == [(f"{topic}/a", b"first"), (f"{topic}/b", b""),
                                                        (f"{topic}/c", b"kept"), (f"{topic}/d", b"last")]
        first = got[0].properties
        assert first.UserProperty == [("k", "v")] and first.ContentType == "application/json"
        assert first.ResponseTopic == "reply/here" and first.CorrelationData == b"c0rr"
        assert first.PayloadFormatIndicator == 1 and 0 < first.MessageExpiryInterval <= 60
    finally:
        ours.close()
        link.close()
        subprocess.run(base + ["-t", f"{topic}/c", "-r", "-n"], timeout=10)


def test_the_collector_takes_what_a_foreign_mqtt5_publisher_sends(inventory, mqtt_settings, tmp_path):
    """Through a real collector: topic aliases, properties, QoS 0 and 2, retained, payloads
    at and over the channel's size, each followed by a good event — every good event is
    stored, every bad one counted once with its reason, nothing waits behind anything."""
    from collector.service import Collector
    from station.contract import EventKind, NodeEvent, topics
    from tests.conftest import wait_until

    site, node, space = "la-station", "ls-salle-salle-aiguillage", "salle-aiguillage"
    topic = topics.node_events(site, node)
    seq = iter(range(1, 1000))

    def good() -> bytes:
        k = next(seq)
        return NodeEvent(id=f"evt-foreign-{k:06d}", seq=k, node=node, kind=EventKind.motion, space=space,
                         ts=datetime.now(timezone.utc)).to_json()

    def padded(size: int) -> bytes:
        payload = good()
        return payload[:-1] + b" " * (size - len(payload)) + b"}"

    with Collector(inventory, mqtt_settings, client_id="collector-foreign", state_dir=tmp_path / "state") as c:
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="foreign-pub", protocol=MQTTProtocolVersion.MQTTv5)
        pub.connect("127.0.0.1", mqtt_settings.port)
        pub.loop_start()
        try:
            sends = [
                (topic, good(), 1, False, properties(TopicAlias=3)),  # the alias set …
                ("", good(), 1, False, properties(TopicAlias=3)),  # … and used
                ("", good(), 0, False, properties(TopicAlias=3, UserProperty=[("k", "v")])),
                (topic, good(), 2, False, properties(ContentType="application/json", CorrelationData=b"\x00")),
                (topic, padded(16_384), 1, False, None),  # exactly the channel's size: taken
                (topic, padded(16_385), 1, False, properties(MessageExpiryInterval=60)),  # one over: too_large
                (topic, b"", 1, False, None),  # bad_json
                (topic, b"\xef\xbb\xbf" + good(), 1, False, properties(PayloadFormatIndicator=1)),  # BOM: bad_json
                (topic, good(), 1, True, None),  # retained: stored once, also when it comes back
            ]
            for t, payload, qos, retain, props in sends:
                pub.publish(t, payload, qos=qos, retain=retain, properties=props).wait_for_publish(10)
                pub.publish(topic, good(), qos=1).wait_for_publish(10)  # a good one behind each
            wait_until(lambda: c.history.count("event") == 2 * len(sends) - 3 and c.dead_letters.count() == 3,
                       timeout=15)
            time.sleep(0.3)
            assert dict(c.rejected) == {("nodes/events", "too_large"): 1, ("nodes/events", "bad_json"): 2}
            assert c.history.count("event") == 2 * len(sends) - 3
        finally:
            pub.publish(topic, b"", qos=1, retain=True).wait_for_publish(10)  # clear the retained event
            pub.disconnect()
            pub.loop_stop()


@pytest.mark.parametrize("chunk", [3, 11])
def test_the_collector_over_a_chopping_link_stores_and_acknowledges_every_event(inventory, mosquitto, tmp_path,
                                                                                 chunk):
    """The collector itself (manual acknowledgements going out between partial reads) behind
    the chopping link: a queued stream with garbage in it is stored whole, and everything
    is acknowledged — the next run on the session gets nothing back."""
    from collector.service import Collector
    from station.contract import topics
    from station.mqtt import MqttSettings
    from tests.collector.publisher import NODE, SITE, EventPublisher, redelivered
    from tests.conftest import wait_until

    link = ChoppingLink(mosquitto.port, chunk, pause_s=0.0)
    cid = f"collector-chopped-{chunk}"
    settings = MqttSettings(host="127.0.0.1", port=link.port)
    publisher = EventPublisher(mosquitto.port, f"pub-{cid}")
    try:
        with Collector(inventory, settings, client_id=cid, state_dir=tmp_path / "state") as c:
            for _ in range(3):
                publisher.publish(100)
                publisher.client.publish(topics.node_events(SITE, NODE), b"\x00{not json" * 50, qos=1,
                                         properties=properties(UserProperty=[("k", "v")])).wait_for_publish(10)
            wait_until(lambda: c.history.count("event") == 300 and c.dead_letters.count() == 3, timeout=60)
            wait_until(lambda: c.stored_messages >= 300, timeout=10)  # (the refused ones acked apart)
        assert redelivered(lambda: Collector(inventory, settings, client_id=cid, state_dir=tmp_path / "state"),
                           publisher) == 0
    finally:
        publisher.close()
        link.close()
