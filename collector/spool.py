"""A disk spool: batches that could not be written to InfluxDB wait here, in order.

One file per batch (``000000000042.lp``, line protocol), written to a temporary name,
flushed to disk and renamed (the directory flushed too), so a crash or a power cut
leaves either a whole batch or none. Files are 0600, the directory
0700. Batches are replayed oldest first (:class:`collector.influx.InfluxWriter`);
lines InfluxDB refuses for good go to the dead letters, so nothing blocks the spool.
The spool has a ceiling (``max_bytes``): a batch that would go beyond it raises
:class:`SpoolFull`, which the store thread takes as "the store is down" (it retries and
acknowledges nothing meanwhile; the broker keeps the messages), so a long outage never
fills the disk.
"""

from __future__ import annotations

import threading
from pathlib import Path

from station.durable import private_dir, write_durably


class SpoolFull(OSError):
    """The spool holds its ``max_bytes``: not now (the store is down until it drains)."""


class Spool:
    """Ordered batches on disk, at most ``max_bytes`` of them; safe to share between threads."""

    SUFFIX = ".lp"

    def __init__(self, directory: Path | str, max_bytes: int | None = None):
        self.dir = private_dir(directory)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        for leftover in self.dir.glob("*.tmp"):  # a crash mid-write: the batch was never acknowledged
            leftover.unlink()
        self._files = sorted(self.dir.glob(f"*{self.SUFFIX}"))
        self._next = int(self._files[-1].stem) + 1 if self._files else 0
        self._sizes = {path: path.stat().st_size for path in self._files}
        self.bytes = sum(self._sizes.values())

    def push(self, lines: bytes) -> Path:
        """Append one batch durably; return its file. SpoolFull beyond ``max_bytes``."""
        with self._lock:
            if self.max_bytes is not None and self.bytes + len(lines) > self.max_bytes:
                raise SpoolFull(f"the spool holds {self.bytes} bytes; at most {self.max_bytes}")
            path = self.dir / f"{self._next:012d}{self.SUFFIX}"
            self._next += 1
            write_durably(path, lines)  # the batch and its rename on disk before the ack
            self._files.append(path)
            self._sizes[path] = len(lines)
            self.bytes += len(lines)
            return path

    def oldest(self) -> tuple[Path, bytes] | None:
        with self._lock:
            if not self._files:
                return None
            path = self._files[0]
        return path, path.read_bytes()

    def pop(self, path: Path) -> None:
        """Forget a batch once InfluxDB has it."""
        with self._lock:
            self._files.remove(path)
            self.bytes -= self._sizes.pop(path, 0)
            path.unlink(missing_ok=True)

    def __len__(self) -> int:
        with self._lock:
            return len(self._files)
