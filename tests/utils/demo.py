"""`station demo` in a subprocess, as a newcomer runs it; its printed lines kept as they come."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from station.broker.dev import free_port

ROOT = Path(__file__).resolve().parents[2]


class Demo:

    def __init__(self, *args: str):
        import os
        import tempfile

        self.port = free_port()
        # A temporary folder of its own (TMPDIR), so the test can tell what this demo left
        # behind; readable by the mosquitto user, which the broker drops to as root.
        self.tmp = Path(tempfile.mkdtemp(prefix="demo-tmp-"))
        self.tmp.chmod(0o755)
        env = {**os.environ, "TMPDIR": str(self.tmp)}
        self.proc = subprocess.Popen([sys.executable, "-m", "lastation.cli", "demo", "--port", str(self.port), *args],
                                     cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if found := re.search(pattern, line):
                    return found
            if self.proc.poll() is not None:
                raise AssertionError("the demo exited:\n" + "".join(self.lines))
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} not printed in {timeout} s:\n" + "".join(self.lines))

    def stop(self, sig=signal.SIGINT) -> float:
        started = time.monotonic()
        self.proc.send_signal(sig)
        self.proc.wait(30)
        return time.monotonic() - started

    def close(self) -> None:
        import shutil

        if self.proc.poll() is None:
            self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def left_behind(self) -> list[Path]:
        """What the stopped demo left in its temporary folder (its keys included)."""
        return sorted(self.tmp.rglob("*"))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
