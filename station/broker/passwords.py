"""Mosquitto's password file, written from Python in Mosquitto's own hash format.

Mosquitto 2.0 stores ``username:$7$<iterations>$<salt>$<hash>`` where the hash is
PBKDF2-HMAC-SHA512 over the password with a 12-byte random salt, 101 iterations, a
64-byte digest, and salt and hash are standard base64 (with padding) — the same
lines ``mosquitto_passwd`` writes::

    line = password_line("collector", "s3cret")
    assert verify("s3cret", line.split(":", 1)[1])
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

ITERATIONS = 101
SALT_BYTES = 12
DIGEST = "sha512"


class PasswordFileError(ValueError):
    """A password file line that is not ``username:$7$iterations$salt$hash``."""


def new_password() -> str:
    """A random password: 32 URL-safe characters (192 bits)."""
    return secrets.token_urlsafe(24)


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """Mosquitto's ``$7$`` hash of ``password``."""
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac(DIGEST, password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify(password: str, hashed: str) -> bool:
    """True when ``password`` matches a ``$7$`` hash (as Mosquitto checks it)."""
    parts = hashed.split("$")
    if len(parts) != 5 or parts[0] != "" or parts[1] != "7" or not parts[2].isdigit():
        raise PasswordFileError(f"not a mosquitto $7$ hash: {hashed[:12]}…")
    salt, expected = base64.b64decode(parts[3]), base64.b64decode(parts[4])
    actual = hashlib.pbkdf2_hmac(DIGEST, password.encode(), salt, int(parts[2]), len(expected))
    return hmac.compare_digest(actual, expected)


def password_line(username: str, password: str) -> str:
    if not username or ":" in username or "\n" in username:
        raise PasswordFileError(f"invalid username {username!r}")
    return f"{username}:{hash_password(password)}"


def write_password_file(path: Path, credentials: dict[str, str]) -> None:
    """Write one hashed line per user, mode 0600 (only the broker's user reads it)."""
    text = "".join(password_line(user, pw) + "\n" for user, pw in sorted(credentials.items()))
    write_secret(path, text)


def read_password_file(path: Path) -> dict[str, str]:
    """username → ``$7$`` hash; raise PasswordFileError naming the file and line."""
    users: dict[str, str] = {}
    for n, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        user, sep, hashed = line.partition(":")
        if not sep or not hashed.startswith("$7$"):
            raise PasswordFileError(f"{path}:{n}: not a 'username:$7$…' line")
        users[user] = hashed
    return users


def write_secret(path: Path, text: str, mode: int = 0o600) -> None:
    """Create ``path`` with ``mode`` before writing, so the secret is never world-readable."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
