"""Files that survive a crash or a power cut, readable by their owner only.

What the components keep at rest — outboxes, grant caches, histories, spools, dead
letters — may carry credential hashes, signed lists and people's comings and goings:
files are created 0600 (0640 when a group must read them), the directories we create
0700. An existing file more open than wanted is tightened when opened.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path | str, mode: int = DIR_MODE) -> Path:
    """Create ``path`` and any missing parents with ``mode``; leave existing ones as they are
    (a directory the operator made, or the current one, is not ours to close)."""
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=mode)
        except FileExistsError:
            continue
        os.chmod(directory, mode)  # mkdir's mode passes through the umask
    return path


def private_file(path: Path | str, mode: int = FILE_MODE) -> Path:
    """Make sure ``path`` exists with at most ``mode`` before anything else opens it."""
    path = Path(path)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, mode)
    try:
        if os.fstat(fd).st_mode & 0o777 & ~mode:  # an older, more open file
            os.fchmod(fd, os.fstat(fd).st_mode & mode & 0o777)
    finally:
        os.close(fd)
    return path


def write_durably(path: Path, data: bytes, mode: int = FILE_MODE) -> None:
    """Write ``data`` to a temporary name beside ``path``, flush it to disk, rename it
    over ``path`` and flush the directory, so that the rename itself is on disk when
    this returns. A crash leaves the old file or the new one, and maybe a ``.tmp``.
    The file is created with ``mode`` (0600). The temporary name is the thread's own, so
    two threads writing the same file never rename each other's half-written one away
    (the last rename wins: callers that care about order serialise their writes)."""
    tmp = path.with_name(f"{path.stem}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with open(fd, "wb") as handle:
        os.fchmod(handle.fileno(), mode)  # a leftover .tmp may have had another mode
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
