"""Signatures of grant lists and commands (Ed25519 with a key id), and card hashing (HMAC).

The API signs with its :class:`~station.access.keys.Signer`; every node verifies with
its :class:`~station.access.keys.KeyRing` before trusting anything it receives. Card
numbers never leave the reader node: it hashes them with the site HMAC key, and grant
lists carry only hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import TypeVar

from cryptography.exceptions import InvalidSignature
from pydantic import BaseModel

from .keys import KeyRing, Signer

M = TypeVar("M", bound=BaseModel)


class SignatureError(ValueError):
    """A signed message whose signature is missing, by an unknown key, or does not verify."""


def canonical_bytes(message: BaseModel) -> bytes:
    """The bytes that are signed: every field but ``signature``, as sorted compact JSON."""
    data = message.model_dump(mode="json", exclude={"signature"})
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(message: M, signer: Signer) -> M:
    """A copy of ``message`` with ``key_id`` set to the signer's and ``signature`` filled in."""
    stamped = message.model_copy(update={"key_id": signer.key_id, "signature": ""})
    signature = base64.b64encode(signer.sign_bytes(canonical_bytes(stamped))).decode()
    return stamped.model_copy(update={"signature": signature})


def verify(message: BaseModel, ring: KeyRing) -> None:
    """Raise SignatureError unless ``message`` is signed by a key of ``ring`` (by its ``key_id``)."""
    raw = getattr(message, "signature", "")
    if not raw:
        raise SignatureError("unsigned message")
    ident = getattr(message, "key_id", "")
    key = ring.get(ident)
    if key is None:
        raise SignatureError(f"signed by key {ident!r}, which this node does not trust "
                             f"(trusted: {', '.join(ring.ids) or 'none'})")
    try:
        key.verify(base64.b64decode(raw, validate=True), canonical_bytes(message))
    except (InvalidSignature, ValueError) as exc:
        raise SignatureError("signature does not verify") from exc


#: The widest card number a reader hands over: a 34-bit Wiegand frame carries 32 data bits
#: (``edge/devices/wiegand.py``). A badge enrolled above it could never be read.
MAX_CARD_NUMBER = (1 << 32) - 1


def hash_credential(site_key: bytes, card_number: str | int) -> str:
    """HMAC-SHA256 of a card number (decimal, no leading zeros) with the site key, hex."""
    return hmac.new(site_key, str(int(card_number)).encode(), hashlib.sha256).hexdigest()
