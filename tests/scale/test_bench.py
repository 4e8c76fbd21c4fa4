"""bench/scale.py at a toy size: it runs end to end, loses nothing and reports what it promises."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.mosquitto]
REPO = Path(__file__).resolve().parents[2]


def test_scale_bench_runs_small_and_loses_nothing():
    run = subprocess.run([sys.executable, "bench/scale.py", "--sites", "4", "--nodes", "8", "--seconds", "4",
                          "--event-every", "2", "--burst", "5", "--publishers", "2", "--api-seconds", "2",
                          "--api-clients", "2"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["nodes"] == 32 and result["api_rooms"] == 32
    assert result["lost"] == 0
    phases = result["phases"]
    assert phases["saturation_one"]["sent"] == phases["saturation_two"]["sent"] == 32 * 5
    assert phases["steady_one"]["sent"] > 0 and phases["steady_two"]["sent"] > 0
    for key in ("msgs_per_s", "collector_cpu_pct_per_1000_nodes", "p99_publish_to_stored_ms", "scaling_1_to_2",
                "api_rooms_p99_ms", "collector_rss_mb_per_1000_nodes"):
        assert key in result
