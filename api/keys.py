"""The API's secrets: the Ed25519 signing key and the site HMAC key.

Read from a file or an environment variable; in development only, generated at run
time when absent (a warning says so: nodes must then be given the matching public key).
``station api keys`` writes a fresh pair of files for a real deployment.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .settings import ApiSettings

log = logging.getLogger(__name__)


class InsecureSettings(RuntimeError):
    """A secret is missing outside development mode."""


@dataclass(frozen=True)
class Keys:
    signing: Ed25519PrivateKey
    key_id: str
    site_key: bytes

    @property
    def public(self) -> Ed25519PublicKey:
        return self.signing.public_key()

    def public_pem(self) -> str:
        return self.public.public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _signing(settings: ApiSettings) -> Ed25519PrivateKey | None:
    pem = settings.signing_key
    if settings.signing_key_file is not None:
        pem = Path(settings.signing_key_file).read_text()
    if not pem:
        return None
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise InsecureSettings("the signing key is not an Ed25519 private key")
    return key


def _site_key(settings: ApiSettings) -> bytes | None:
    text = settings.site_key
    if settings.site_key_file is not None:
        text = Path(settings.site_key_file).read_text().strip()
    if not text:
        return None
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise InsecureSettings("the site key must be hex encoded") from None
    if len(key) < 16:
        raise InsecureSettings("the site key must be at least 16 bytes")
    return key


def load_keys(settings: ApiSettings) -> Keys:
    signing, site_key = _signing(settings), _site_key(settings)
    missing = [name for name, value in (("STATION_SIGNING_KEY_FILE", signing), ("STATION_SITE_KEY_FILE", site_key))
               if value is None]
    if missing and not settings.development:
        raise InsecureSettings(f"missing {', '.join(missing)} (refused outside development; "
                               "generate them with `station api keys DIR`)")
    if missing:
        log.warning("development mode: ephemeral %s generated; nodes need this run's keys", ", ".join(missing))
    return Keys(signing or Ed25519PrivateKey.generate(), settings.signing_key_id,
                site_key or secrets.token_bytes(32))


def write_keys(directory: Path) -> tuple[Path, Path, Path]:
    """Write signing.pem (0600), signing.pub.pem and site.key (hex, 0600) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    private = directory / "signing.pem"
    public = directory / "signing.pub.pem"
    site = directory / "site.key"
    for path, data in (
        (private, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())),
        (site, secrets.token_hex(32).encode() + b"\n"),
    ):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public, site
