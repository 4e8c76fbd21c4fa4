"""paho-mqtt for a heavy consumer (the collector): the same protocol, less Python per message.

Profiled on the collector's drain (``bench/collector_throughput.py``, py-spy), stock paho
2.2 spends, for every received MQTT v5 PUBLISH:

- about five ``recv`` calls (command byte, each length byte, the rest) and a return to
  ``select`` after every packet;
- a new :class:`~paho.mqtt.properties.Properties`, whose constructor rebuilds the whole
  MQTT v5 property table (two dictionaries, through a checking ``__setattr__``): a
  quarter of the network thread's time, for packets that carry no property at all;
- an ``MQTTMessageInfo`` with its ``Condition`` (used only for outgoing messages);
- a walk of the subscription trie to find the message's callbacks.

:class:`ThroughputClient` keeps paho's state machine, acknowledgements and callbacks,
and changes only those four costs:

- reads come from one 64 KiB ``recv``; runs of plain PUBLISH packets in it are framed
  here (:meth:`~ThroughputClient._read_publishes`), and any other packet, or one split
  across two reads, goes through paho's ``_packet_read``; ``loop_read`` goes on while the
  buffer holds data, at most ``MAX_PACKETS`` a round so acks and keepalive go out, and
  every loop round starts with what the buffer holds (``select`` cannot see it). (Packets
  framed here do not refresh paho's keepalive clock: paho sends a PINGREQ once a
  keepalive period, and the PINGRESP, which paho frames, refreshes it.)
- a QoS 0/1 PUBLISH *without properties* is decoded here into a :class:`ReceivedMessage`
  whose ``properties`` (empty) and ``info`` are made only if someone asks; any packet with
  properties, QoS 2, or a protocol before v5 goes through paho's own decoder;
- topic → callbacks is remembered (:class:`RouteCache`), forgotten on any change of
  the subscriptions' callbacks.

It relies on paho's private members (:data:`_PRIVATE`: ``_sock_recv``, ``_loop``,
``_in_packet``, ``_handle_publish``, ``_on_message_filtered``…); :func:`supported` checks
the paho version (:data:`CHECKED_PAHO`, the minor versions pyproject.toml allows) and
that they are there, and :class:`station.mqtt.MqttBus` falls back to the stock client
otherwise. The tests compare its messages with stock paho's, byte for byte, over a real
broker, with its own framing and with paho's (``LEAN_FRAMING = False``).
"""

from __future__ import annotations

import functools
import time

import paho.mqtt
import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.matcher import MQTTMatcher
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

_PRIVATE = ("_sock_recv", "_loop", "_sock", "_sockpairR", "_sockpairW", "_in_packet", "_protocol", "_manual_ack",
            "_logger", "_handle_publish", "_handle_on_message", "_send_puback", "_on_message_filtered",
            "_packet_queue", "_loop_rc_handle")
#: paho minor versions this client was checked against (its tests compare it with stock
#: paho over Mosquitto); pyproject.toml pins paho-mqtt to them. Any other paho: stock client.
CHECKED_PAHO = ("2.2",)
_SLOT_INFO = mqtt.MQTTMessage.__dict__.get("info")
_SLOT_PROPERTIES = mqtt.MQTTMessage.__dict__.get("properties")


@functools.cache
def supported() -> bool:
    """True on a checked paho (:data:`CHECKED_PAHO`) that has the members
    :class:`ThroughputClient` builds on (checked once)."""
    if ".".join(paho.mqtt.__version__.split(".")[:2]) not in CHECKED_PAHO:
        return False
    probe = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    try:
        return (_SLOT_INFO is not None and _SLOT_PROPERTIES is not None
                and all(hasattr(probe, name) for name in _PRIVATE)
                and isinstance(probe._on_message_filtered, MQTTMatcher))
    finally:
        for sock in (probe._sockpairR, probe._sockpairW):
            if sock is not None:
                sock.close()


class ReceivedMessage(mqtt.MQTTMessage):
    """An incoming PUBLISH without properties; ``properties`` and ``info`` made on demand."""

    __slots__ = ()

    def __init__(self, mid: int, topic: bytes, header: int, payload: bytes):  # noqa: D107 - no super(): no Condition
        self.timestamp = time.monotonic()  # paho's time_func
        self.state = mqtt.mqtt_ms_invalid
        self.mid = mid
        self._topic = topic
        self.payload = payload
        self.dup = bool(header & 0x08)
        self.qos = (header & 0x06) >> 1
        self.retain = bool(header & 0x01)

    @property
    def properties(self) -> Properties:
        try:
            return _SLOT_PROPERTIES.__get__(self)
        except AttributeError:
            props = Properties(PacketTypes.PUBLISH)
            _SLOT_PROPERTIES.__set__(self, props)
            return props

    @properties.setter
    def properties(self, value) -> None:
        _SLOT_PROPERTIES.__set__(self, value)

    @property
    def info(self) -> mqtt.MQTTMessageInfo:
        try:
            return _SLOT_INFO.__get__(self)
        except AttributeError:
            info = mqtt.MQTTMessageInfo(self.mid)
            _SLOT_INFO.__set__(self, info)
            return info

    @info.setter
    def info(self, value) -> None:
        _SLOT_INFO.__set__(self, value)


class RouteCache(MQTTMatcher):
    """paho's subscription trie, remembering which callbacks each topic went to.

    paho reads and changes it under its callback lock; any change forgets every route.
    """

    MAX_TOPICS = 50_000  # the whole building has a few hundred; a flood of odd topics is bounded

    def __init__(self):
        super().__init__()
        self._routes: dict[str, tuple] = {}

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self._routes.clear()

    def __delitem__(self, key):
        super().__delitem__(key)
        self._routes.clear()

    def iter_match(self, topic):
        routes = self._routes.get(topic)
        if routes is None:
            routes = tuple(super().iter_match(topic))
            if len(self._routes) >= self.MAX_TOPICS:
                self._routes.clear()
            self._routes[topic] = routes
        return iter(routes)


class ThroughputClient(mqtt.Client):
    """paho's client with buffered reads, a lean PUBLISH decoder and cached routes."""

    CHUNK = 65536
    MAX_PACKETS = 1000  # per loop_read, before paho's loop writes and checks the keepalive
    LEAN_FRAMING = True  # runs of plain PUBLISH packets framed here (False: paho frames every packet)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._rbuf = b""
        self._rbuf_pos = 0
        self._rbuf_sock = None
        self._on_message_filtered = RouteCache()

    # -- reading ------------------------------------------------------------------------
    def _buffered(self) -> int:
        return len(self._rbuf) - self._rbuf_pos if self._rbuf_sock is self._sock else 0

    def _sock_recv(self, bufsize: int) -> bytes:
        """paho's small reads, served from one large ``recv`` (a new socket starts empty)."""
        if not self._buffered():
            sock = self._sock
            data = super()._sock_recv(max(bufsize, self.CHUNK))  # raises as paho expects
            if len(data) <= bufsize:
                self._rbuf, self._rbuf_pos, self._rbuf_sock = b"", 0, None
                return data
            self._rbuf, self._rbuf_pos, self._rbuf_sock = data, 0, sock
        start = self._rbuf_pos
        self._rbuf_pos = end = min(start + bufsize, len(self._rbuf))
        return self._rbuf[start:end]

    def _fill(self) -> mqtt.MQTTErrorCode:
        """One ``recv`` into the empty buffer (nothing there yet is not an error).

        A lost connection is what paho's reader would say of it: ``MQTT_ERR_CONN_LOST``.
        """
        sock = self._sock
        try:
            data = super()._sock_recv(self.CHUNK)
        except BlockingIOError:
            return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
        except OSError:
            return mqtt.MQTTErrorCode.MQTT_ERR_CONN_LOST
        if not data:
            return mqtt.MQTTErrorCode.MQTT_ERR_CONN_LOST
        self._rbuf, self._rbuf_pos, self._rbuf_sock = data, 0, sock
        return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        """One read, then what the buffer holds, at most ``MAX_PACKETS`` packets a call.

        Runs of plain PUBLISH packets are framed and decoded straight from the buffer
        (:meth:`_read_publishes`); any other packet, and a packet the buffer holds only
        part of, goes through paho's ``_packet_read``, which reads through
        :meth:`_sock_recv`, so from the buffer first.
        """
        lean = self.LEAN_FRAMING and self._lean_ok()
        budget = self.MAX_PACKETS  # bounded: writes (acks) and keepalive wait meanwhile
        rc = mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
        if not lean:
            rc = super().loop_read(max_packets)
            budget -= 1
        elif not self._buffered():
            rc = self._fill()
            if rc:
                return self._loop_rc_handle(rc)
        while budget > 0 and rc == mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS and self._sock is not None \
                and self._buffered():
            if lean and self._in_packet["command"] == 0:
                done, rc = self._read_publishes(budget)
                budget -= done
                if rc:
                    return self._loop_rc_handle(rc)
                if budget <= 0 or not self._buffered():
                    break
            rc = super().loop_read(max_packets)  # the one packet the lean reader stopped at
            budget -= 1
        return rc

    def _loop(self, timeout: float = 1.0) -> mqtt.MQTTErrorCode:
        """paho's loop round, which first parses what the read buffer holds.

        ``select`` cannot see the buffer: a round that stopped at ``MAX_PACKETS`` leaves
        packets there, and if the broker sends nothing more (the end of a stream, or it
        waits for our acks) they would wait for the next keepalive. (A wake-up byte on
        paho's socket pair does not do: paho's round empties that pair after reading.)
        """
        if self._sock is not None and self._buffered():
            rc = self.loop_read()
            if rc or self._sock is None:
                return rc
            if self._buffered():
                timeout = 0.0  # more to parse: write the acks, then come straight back
        return super()._loop(timeout)

    # -- decoding -----------------------------------------------------------------------
    def _lean_ok(self) -> bool:
        """The lean decoder's conditions: MQTT v5 and no paho logging (paho logs each PUBLISH)."""
        return self._protocol == MQTTProtocolVersion.MQTTv5 and self._logger is None and self.on_log is None

    def _read_publishes(self, budget: int) -> tuple[int, mqtt.MQTTErrorCode]:
        """Decode and dispatch the complete QoS 0/1 PUBLISH packets without properties at
        the head of the read buffer, up to ``budget``; stop at anything else.

        Returns (packets handled, paho error code). What it stops at — another packet
        type, QoS 2, properties, a malformed or partial packet — is left in the buffer for
        paho's own reader, which decodes it (or says how it is malformed).
        """
        buf, handled = self._rbuf, 0
        end, manual = len(buf), self._manual_ack
        while handled < budget:
            pos = self._rbuf_pos
            if pos >= end or self._rbuf is not buf:
                break
            header = buf[pos]
            qos = (header & 0x06) >> 1
            if header & 0xF0 != 0x30 or qos == 2 or qos == 3:
                break
            length, shift, p = 0, 0, pos + 1
            while p < end and shift < 28:  # the remaining length: at most four bytes
                byte = buf[p]
                p += 1
                length |= (byte & 0x7F) << shift
                shift += 7
                if not byte & 0x80:
                    break
            else:
                break  # partial (or malformed) length
            stop = p + length
            if stop > end or length < 3:
                break
            topic_end = p + 2 + ((buf[p] << 8) | buf[p + 1])
            q, mid = topic_end, 0
            if qos:
                if stop < topic_end + 3:
                    break
                mid = (buf[q] << 8) | buf[q + 1]
                q += 2
            if q >= stop or buf[q] != 0:
                break  # properties (or malformed): paho's own decoder
            self._rbuf_pos = stop
            self._handle_on_message(ReceivedMessage(mid, buf[p + 2:topic_end], header, buf[q + 1:stop]))
            handled += 1
            if qos == 1 and not manual:
                rc = self._send_puback(mid)
                if rc:
                    return handled, rc
        return handled, mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS

    def _handle_publish(self) -> mqtt.MQTTErrorCode:
        header = self._in_packet["command"]
        packet = self._in_packet["packet"]
        qos = (header & 0x06) >> 1
        if len(packet) < 3 or qos == 2 or not self._lean_ok():
            return super()._handle_publish()
        topic_end = pos = 2 + ((packet[0] << 8) | packet[1])
        mid = 0
        if qos:
            if len(packet) < pos + 3:
                return super()._handle_publish()  # malformed: paho says how
            mid = (packet[pos] << 8) | packet[pos + 1]
            pos += 2
        if len(packet) <= pos or packet[pos] != 0:  # properties (or malformed): paho's own decoder
            return super()._handle_publish()
        message = ReceivedMessage(mid, bytes(packet[2:topic_end]), header, bytes(packet[pos + 1:]))
        self._handle_on_message(message)
        if qos == 1 and not self._manual_ack:
            return self._send_puback(mid)
        return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
