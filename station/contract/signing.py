"""Signatures of grant lists and door commands (Ed25519) and credential hashing (HMAC).

The API holds the private key; every node holds the site's public key and verifies
what it receives before trusting it. Card numbers never leave the reader node: the node
hashes them with the site key, and grant lists carry only hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel


class SignatureError(ValueError):
    """A signed message whose signature is missing or does not verify."""


def canonical_bytes(message: BaseModel) -> bytes:
    """The bytes that are signed: every field but ``signature``, as sorted compact JSON."""
    data = message.model_dump(mode="json", exclude={"signature"})
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(message: BaseModel, key: Ed25519PrivateKey) -> BaseModel:
    """Return a copy of ``message`` with its ``signature`` field set."""
    signature = base64.b64encode(key.sign(canonical_bytes(message))).decode()
    return message.model_copy(update={"signature": signature})


def verify(message: BaseModel, key: Ed25519PublicKey) -> None:
    """Raise SignatureError unless ``message.signature`` is a valid signature by ``key``."""
    raw = getattr(message, "signature", "")
    if not raw:
        raise SignatureError("unsigned message")
    try:
        key.verify(base64.b64decode(raw, validate=True), canonical_bytes(message))
    except (InvalidSignature, ValueError) as exc:
        raise SignatureError("signature does not verify") from exc


def hash_credential(site_key: bytes, card_number: str | int) -> str:
    """HMAC-SHA256 of a card number with the site key, hex encoded (64 characters)."""
    return hmac.new(site_key, str(card_number).encode(), hashlib.sha256).hexdigest()
