"""The site's keys, one set for the API, the doors and the machines, in one format.

A key set is a directory of three files (``station api keys DIR`` writes one)::

    signing.pem        Ed25519 private key (PEM, PKCS#8) — the API only, mode 0600
    signing.pub.pem    its public key (PEM) — every node, to verify grant lists and commands
    site-hmac.key      the site HMAC key (hex, 32 bytes) — the API and every reader node,
                       to hash card numbers; mode 0600

A key's id is derived from the public key itself (``ed25519:`` and 16 hex digits of
the SHA-256 of its raw bytes), so a signer and a verifier can never disagree about it.
Every signed message carries the id of the key that signed it; a node verifies with
the key of that id from its :class:`KeyRing` and refuses an id it does not trust.

**Rotation** (documented in ``docs/security.md``): give every node the next public
key beside the current one (``signing.next.pub.pem``; edge config
``keys.next_public_key``) — nodes then accept both; switch the API to the next private
key; once every door and machine has received lists signed by the new key and the
old lists have expired (the grant validity, 24 h by default, is the overlap to wait),
make the next key the current one on the nodes and drop the old one.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from station.yamlfile import ConfigError

PRIVATE_KEY = "signing.pem"
PUBLIC_KEY = "signing.pub.pem"
NEXT_PUBLIC_KEY = "signing.next.pub.pem"
HMAC_KEY = "site-hmac.key"
MIN_HMAC_BYTES = 16


def key_id(public: Ed25519PublicKey) -> str:
    """The id of a public key: ``ed25519:`` + 16 hex digits of the SHA-256 of its raw bytes."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@dataclass(frozen=True)
class Signer:
    """The API's private key; ``key_id`` goes into every message it signs."""

    private_key: Ed25519PrivateKey = field(repr=False)

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def sign_bytes(self, data: bytes) -> bytes:
        return self.private_key.sign(data)


@dataclass(frozen=True)
class KeyRing:
    """The public keys a node trusts, by id: the current one, and the next during a rotation."""

    keys: dict[str, Ed25519PublicKey]

    @classmethod
    def of(cls, *public_keys: Ed25519PublicKey) -> "KeyRing":
        return cls({key_id(k): k for k in public_keys})

    def get(self, ident: str) -> Ed25519PublicKey | None:
        return self.keys.get(ident)

    @property
    def ids(self) -> list[str]:
        return sorted(self.keys)


@dataclass(frozen=True)
class NodeKeys:
    """What a reader node holds: the key ring to verify, the HMAC key to hash card numbers."""

    ring: KeyRing
    hmac_key: bytes = field(repr=False)

    def credential_hash(self, card_number: str | int) -> str:
        from .signing import hash_credential

        return hash_credential(self.hmac_key, card_number)


@dataclass(frozen=True)
class KeySetPaths:
    private: Path
    public: Path
    hmac: Path


def paths_in(directory: Path) -> KeySetPaths:
    directory = Path(directory)
    return KeySetPaths(directory / PRIVATE_KEY, directory / PUBLIC_KEY, directory / HMAC_KEY)


# --------------------------------------------------------------------------- reading
def _read(path: Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the {what}: {exc.strerror}"]) from None


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(_read(path, "signing key"), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError([f"{path}:1: not a PEM private key without a passphrase: {exc}"]) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError([f"{path}:1: the signing key must be Ed25519"])
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(_read(path, "public key"))
    except ValueError as exc:
        raise ConfigError([f"{path}:1: not a PEM public key: {exc}"]) from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError([f"{path}:1: the public key must be Ed25519"])
    return key


def parse_hmac_key(text: str | bytes, source: str = "the site HMAC key") -> bytes:
    """The site HMAC key from its hex text (what ``site-hmac.key`` holds)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise ConfigError([f"{source}: must be hex digits"]) from None
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise ConfigError([f"{source}: must be hex digits"]) from None
    if len(key) < MIN_HMAC_BYTES:
        raise ConfigError([f"{source}: too short ({len(key)} bytes, need at least {MIN_HMAC_BYTES})"])
    return key


def load_hmac_key(path: Path) -> bytes:
    return parse_hmac_key(_read(path, "site HMAC key"), f"{path}:1")


def load_node_keys(public_key: Path, hmac_key: Path, next_public_key: Path | None = None) -> NodeKeys:
    keys = [load_public_key(public_key)]
    if next_public_key is not None:
        keys.append(load_public_key(next_public_key))
    return NodeKeys(KeyRing.of(*keys), load_hmac_key(hmac_key))


# --------------------------------------------------------------------------- writing
def _write_new(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def generate_key_set(directory: Path) -> KeySetPaths:
    """Write a key set into ``directory`` (mode 0700): files that exist are kept, so the
    call is idempotent; secrets are created mode 0600, the public key 0644."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    paths = paths_in(directory)
    if not paths.private.exists():
        private = Ed25519PrivateKey.generate()
        _write_new(paths.private, private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()), 0o600)
    if not paths.public.exists():
        _write_new(paths.public, public_pem(load_private_key(paths.private).public_key()).encode(), 0o644)
    if not paths.hmac.exists():
        _write_new(paths.hmac, (secrets.token_hex(32) + "\n").encode(), 0o600)
    return paths
