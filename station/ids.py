"""Identifiers of sites, spaces, doors, machines and nodes: one rule, used everywhere.

Lowercase letters, digits and dashes, 1–63 characters, starting with a letter or digit.
They end up in MQTT topics, broker usernames and file names, so ``+``, ``#``, ``/``,
``..`` and spaces are impossible by construction.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import StringConstraints

IDENT_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
IDENT = re.compile(IDENT_PATTERN)

#: A validated identifier (pydantic type).
Ident = Annotated[str, StringConstraints(pattern=IDENT_PATTERN)]


def is_ident(value: str) -> bool:
    return bool(IDENT.match(value))
