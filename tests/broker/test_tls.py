"""TLS with the generated development CA, against a real Mosquitto."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cryptography import x509

from station.broker.certs import create_ca, ensure_dev_tls, issue_server_cert
from station.broker.dev import free_port
from station.broker.probe import Probe
from lastation.cli import app
from station.contract import EventKind, NodeEvent, topics
from tests.utils.cli import flat, invoke

from .conftest import start_central

pytestmark = pytest.mark.mosquitto


@pytest.fixture()
def tls_central(gen_root, inventory):
    c = start_central(gen_root, inventory, tls_dir=gen_root / "tls")
    yield c
    c.broker.stop()


def test_client_trusting_the_generated_ca_connects_over_tls(tls_central):
    p = tls_central.probe("collector")
    assert p.connack.code == 0, p.connack
    assert p.publish("station/v1/la-station/rooms/guichet/occupancy", b"{}").refused is False
    p.close()


def test_client_without_the_ca_is_refused(tls_central):
    # Trusting the system's CAs only: the handshake fails, nothing is sent.
    p = Probe("collector", tls_central.password("collector"), port=tls_central.port,
              ca=ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt", timeout=3)
    answer = p.connect()
    assert answer.code is None and "SSL" in answer.name, answer
    p.close()


def test_plain_mqtt_on_the_tls_port_gets_no_connack(tls_central):
    p = Probe("collector", tls_central.password("collector"), port=tls_central.port, timeout=2)
    answer = p.connect()
    assert answer.refused and answer.code is None, answer
    p.close()


def test_server_certificate_names_the_broker_and_is_signed_by_the_ca(gen_root):
    files = ensure_dev_tls(gen_root / "tls", ["broker.la-station.example", "127.0.0.1"])
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "broker.la-station.example" in san.get_values_for_type(x509.DNSName)
    assert cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)


def test_existing_certificates_are_kept(gen_root):
    first = ensure_dev_tls(gen_root / "tls")
    before = first.cert.read_bytes(), first.ca.read_bytes()
    again = ensure_dev_tls(gen_root / "tls")
    assert (again.cert.read_bytes(), again.ca.read_bytes()) == before


def test_missing_server_certificate_without_ca_key_is_an_error(gen_root):
    create_ca(gen_root / "tls")
    (gen_root / "tls" / "ca.key").unlink()
    with pytest.raises(FileNotFoundError, match="no ca.key"):
        ensure_dev_tls(gen_root / "tls")


def test_issued_certificate_works_for_a_tls_handshake(gen_root):
    create_ca(gen_root / "tls")
    files = issue_server_cert(gen_root / "tls", ["localhost", "127.0.0.1"], name="site")
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(files.cert, files.key)
    client_ctx = ssl.create_default_context(cafile=str(files.ca))
    a, b = socket.socketpair()
    import threading

    t = threading.Thread(target=lambda: server_ctx.wrap_socket(a, server_side=True).close())
    t.start()
    with client_ctx.wrap_socket(b, server_hostname="localhost") as s:
        assert s.version() in ("TLSv1.2", "TLSv1.3")
    t.join(5)


def test_local_listener_serves_same_host_services_without_tls(gen_root, inventory):
    from station.broker.dev import free_port

    local = free_port()
    c = start_central(gen_root, inventory, tls_dir=gen_root / "tls", local_port=local)
    try:
        plain = Probe("collector", c.password("collector"), port=local, timeout=3)
        assert plain.connect().code == 0
        assert plain.publish("station/v1/la-station/doors/porte-guichet/grants", b"x").code == 0x87
        plain.close()
        anon = Probe(None, None, port=local, timeout=3)
        assert anon.connect().refused
        anon.close()
    finally:
        c.broker.stop()


def test_collector_cli_connects_over_tls_with_its_own_account(tls_central, inventory, tmp_path):
    """`station collector run --mqtt-tls-ca`: a collector on another host than the broker."""
    site, node = next((s, n) for s, n in inventory.nodes() if n.profile.value == "room_node")
    metrics = free_port()
    env = dict(os.environ, STATION_MQTT_USERNAME="collector", STATION_MQTT_PASSWORD=tls_central.password("collector"))
    proc = subprocess.Popen([sys.executable, "-m", "lastation.cli", "collector", "run", "--mqtt-port",
                             str(tls_central.port), "--mqtt-tls-ca", str(tls_central.tls_ca), "--state-dir",
                             str(tmp_path / "collector"), "--metrics-port", str(metrics)],
                            env={**env, "COLUMNS": "500"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        event = NodeEvent(id="tls-event-0001", seq=1, node=node.id, kind=EventKind.motion, space=node.space,
                          ts=datetime.now(timezone.utc))
        seen = ""
        deadline = time.monotonic() + 20
        counted = 'station_collector_messages_total{channel="nodes/events"}'
        while time.monotonic() < deadline and counted not in seen:
            p = tls_central.probe(node.id)
            p.publish(topics.node_events(site.id, node.id), event.to_json())
            p.close()
            time.sleep(0.5)
            try:
                seen = urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=2).read().decode()
            except OSError:
                continue
        assert counted in seen, proc.poll()
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0].decode()
    assert "connected to mqtts://collector@127.0.0.1" in flat(out), out[-2000:]


# At 80 columns, 45–68 characters of directory push "does not exist" onto the next line
# and 62–68 split the path itself: the lengths that made this test red for newcomers.
@pytest.mark.parametrize("length", [1, 50, 65, 300])
def test_collector_cli_names_a_missing_ca_file(length):
    missing = Path("/nonexistent") / ("d" * length) / "nope.crt"
    result = invoke(app, ["collector", "run", "--mqtt-tls-ca", str(missing)])
    assert result.exit_code == 2, result.output
    assert "nope.crt" in flat(result.output) and "does not exist" in flat(result.output)
