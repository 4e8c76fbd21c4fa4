"""Staff commands to a door (or a machine): signed, sequenced, expiring — never replayable.

Each command carries a per-resource sequence number (:func:`station.access.grants.next_version`
gives the next one). A node keeps the last sequence it applied on disk and refuses a
command that is not newer, so a captured command replayed later — even after the node
restarts — does nothing; and since ``normal`` gets a higher sequence than the
``release`` it ends, replaying that ``release`` cannot unlock the door again.
"""

from __future__ import annotations

from datetime import datetime

from .keys import KeyRing
from .signing import SignatureError, verify

#: The largest sequence a node applies: 2**53 - 1, the largest integer every JSON reader
#: holds exactly — milliseconds until the year 287,000, far beyond what
#: :func:`~station.access.grants.next_version` gives. A larger one, even signed, is a
#: signer's bug: applied, the ledger would refuse every real command after it, and the
#: door would stay in that mode until someone edits the node's SD card.
MAX_SEQ = 2 ** 53 - 1


def command_problem(command, *, resource: str, ring: KeyRing | None, now: datetime, last_seq: int) -> str | None:
    """Why a command must not be applied (``None`` when it may be): wrong resource, no keys,
    a sequence beyond :data:`MAX_SEQ`, not newer than ``last_seq``, expired, or a signature
    that does not verify."""
    target = getattr(command, "door", None) or getattr(command, "machine", None)
    if target != resource:
        return f"command for {target}, not {resource}"
    if ring is None:
        return "no site public key configured"
    if command.seq > MAX_SEQ:
        return f"command {command.id}: sequence beyond {MAX_SEQ} (no issuer makes one; it would shut out every later one)"
    if command.seq <= last_seq:
        return f"command {command.id} (seq {command.seq}) is not newer than the last applied (seq {last_seq})"
    if now >= command.expires_at:
        return "command expired"
    try:
        verify(command, ring)
    except SignatureError as exc:
        return str(exc)
    return None
