"""A development certificate authority and broker certificates, with ``cryptography``.

For tests and first installs only: a real deployment uses certificates from the
organisation's CA or from Let's Encrypt (see ``broker_config/README.md``)::

    tls = ensure_dev_tls(Path("/etc/station/tls"), hosts=["broker.la-station.fr"])
    tls.ca, tls.cert, tls.key   # paths for mosquitto's cafile / certfile / keyfile

Keys are EC P-256 and written with mode 0600; certificates with 0644.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .passwords import write_secret

CA_NAME = "La Station development CA"
DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "La Station"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    write_secret(path, pem.decode())


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.chmod(0o644)


def create_ca(directory: Path, *, days: int = 3650, common_name: str = CA_NAME) -> tuple[Path, Path]:
    """Write ``ca.crt`` and ``ca.key``; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(_name(common_name)).issuer_name(_name(common_name))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    ca_crt, ca_key = directory / "ca.crt", directory / "ca.key"
    _write_key(ca_key, key)
    _write_cert(ca_crt, cert)
    return ca_crt, ca_key


def issue_server_cert(directory: Path, hosts: list[str] | tuple[str, ...], *, name: str = "server",
                      days: int = 825) -> TlsFiles:
    """Sign ``<name>.crt``/``<name>.key`` for ``hosts`` (DNS names or IP addresses) with the CA in ``directory``."""
    ca_crt, ca_key = directory / "ca.crt", directory / "ca.key"
    ca_cert = x509.load_pem_x509_certificate(ca_crt.read_bytes())
    ca_private = serialization.load_pem_private_key(ca_key.read_bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = []
    for host in hosts:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt.append(x509.DNSName(host))
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(_name(hosts[0])).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),
                           critical=False)
            .sign(ca_private, hashes.SHA256()))
    files = TlsFiles(ca_crt, directory / f"{name}.crt", directory / f"{name}.key")
    _write_key(files.key, key)
    _write_cert(files.cert, cert)
    return files


def ensure_dev_tls(directory: Path, hosts: list[str] | tuple[str, ...] = DEFAULT_HOSTS) -> TlsFiles:
    """Use ``ca.crt``/``server.crt``/``server.key`` in ``directory``; create what is missing.

    An existing server certificate is kept (even if it came from a real CA): only a
    missing one is issued, and only when the development CA key is there to sign it.
    """
    directory = Path(directory)
    files = TlsFiles(directory / "ca.crt", directory / "server.crt", directory / "server.key")
    if files.ca.exists() and files.cert.exists() and files.key.exists():
        return files
    if not files.ca.exists():
        create_ca(directory)
    if not (directory / "ca.key").exists():
        raise FileNotFoundError(f"{directory}: server.crt/server.key missing and no ca.key to issue them")
    return issue_server_cert(directory, list(hosts))
