"""The API's secrets: the Ed25519 signing key and the site HMAC key (:mod:`station.access`).

Read from a file or an environment variable; in development only, generated at run
time when absent (a warning says so: nodes must then be given the matching public key).
``station api keys DIR`` writes a key set for a real deployment — the same files the
nodes read (``signing.pem``, ``signing.pub.pem``, ``site-hmac.key``).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from station.access import Signer, load_hmac_key, load_private_key, parse_hmac_key, public_pem
from station.yamlfile import ConfigError

from .settings import ApiSettings

log = logging.getLogger(__name__)


class InsecureSettings(RuntimeError):
    """A secret is missing or unusable outside development mode."""


@dataclass(frozen=True)
class Keys:
    signer: Signer
    site_key: bytes = field(repr=False)

    @property
    def key_id(self) -> str:
        return self.signer.key_id

    def public_pem(self) -> str:
        return public_pem(self.signer.public_key)


def _signing(settings: ApiSettings) -> Ed25519PrivateKey | None:
    if settings.signing_key_file is not None:
        return load_private_key(settings.signing_key_file)
    if not settings.signing_key:
        return None
    try:
        key = serialization.load_pem_private_key(settings.signing_key.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise InsecureSettings(f"STATION_SIGNING_KEY is not a PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InsecureSettings("STATION_SIGNING_KEY is not an Ed25519 private key")
    return key


def _site_key(settings: ApiSettings) -> bytes | None:
    if settings.site_key_file is not None:
        return load_hmac_key(settings.site_key_file)
    if not settings.site_key:
        return None
    return parse_hmac_key(settings.site_key, "STATION_SITE_KEY")


def load_keys(settings: ApiSettings) -> Keys:
    try:
        signing, site_key = _signing(settings), _site_key(settings)
    except ConfigError as exc:
        raise InsecureSettings(str(exc)) from None
    missing = [name for name, value in (("STATION_SIGNING_KEY_FILE", signing), ("STATION_SITE_KEY_FILE", site_key))
               if value is None]
    if missing and not settings.development:
        raise InsecureSettings(f"missing {', '.join(missing)} (refused outside development; "
                               "generate them with `station api keys DIR`)")
    if missing:
        log.warning("development mode: ephemeral %s generated; nodes need this run's keys", ", ".join(missing))
    return Keys(Signer(signing or Ed25519PrivateKey.generate()), site_key or secrets.token_bytes(32))
