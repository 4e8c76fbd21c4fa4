"""The site's keys as a node holds them: the Ed25519 public key and the HMAC key.

The API signs grant lists and door commands with the site's Ed25519 private key; the
node holds only the public key (PEM) to verify them, and the site HMAC key to hash card
numbers. Both are files whose paths come from the edge config — never the repository.
``generate_dev_keys(DIR)`` (``station edge keys --out DIR``) writes a development set.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from station.contract.signing import hash_credential
from station.yamlfile import ConfigError

PRIVATE_NAME = "site-signing.pem"
PUBLIC_NAME = "site-signing.pub.pem"
HMAC_NAME = "site-hmac.key"


@dataclass(frozen=True)
class SiteKeys:
    """What a node needs: ``public_key`` to verify, ``hmac_key`` to hash card numbers."""

    public_key: Ed25519PublicKey
    hmac_key: bytes
    key_id: str = "site"

    def credential_hash(self, card_number: str | int) -> str:
        return hash_credential(self.hmac_key, card_number)


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the site public key: {exc.strerror}"]) from None
    except ValueError as exc:
        raise ConfigError([f"{path}:1: not a PEM public key: {exc}"]) from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError([f"{path}:1: the site public key must be Ed25519"])
    return key


def load_hmac_key(path: Path) -> bytes:
    """The site HMAC key: a file holding hex (64+ hex digits) or at least 32 raw bytes."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the site HMAC key: {exc.strerror}"]) from None
    text = raw.strip()
    try:
        key = bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        key = raw
    if len(key) < 16:
        raise ConfigError([f"{path}:1: the site HMAC key is too short ({len(key)} bytes, need ≥ 16)"])
    return key


def load_site_keys(public_key: Path, hmac_key: Path, key_id: str = "site") -> SiteKeys:
    return SiteKeys(load_public_key(public_key), load_hmac_key(hmac_key), key_id)


def generate_dev_keys(directory: Path) -> dict[str, Path]:
    """Write a development key set (private + public Ed25519 PEM, hex HMAC key).

    Files are created mode 0600; existing files are kept, so the call is idempotent.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"private": directory / PRIVATE_NAME, "public": directory / PUBLIC_NAME, "hmac": directory / HMAC_NAME}
    if not paths["private"].exists():
        private = Ed25519PrivateKey.generate()
        _write(paths["private"], private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    private = load_private_key(paths["private"])
    if not paths["public"].exists():
        _write(paths["public"], private.public_key().public_bytes(serialization.Encoding.PEM,
                                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    if not paths["hmac"].exists():
        _write(paths["hmac"], (secrets.token_hex(32) + "\n").encode())
    return paths


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    return key


def _write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
