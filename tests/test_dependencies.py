"""The venv's packages do not replace one another.

niquests (under grafana-client and caldav) needs urllib3-future. Its PyPI wheel also
ships a `urllib3` package and a startup hook (`urllib3_future.pth`) that copies the fork
over upstream urllib3 at every interpreter start, whatever the install order; requests,
influxdb-client and the Schemathesis CLI then run on the fork (Schemathesis crashed:
`'TrafficPolice' object has no attribute 'keys'`). `make setup` installs urllib3-future
built without the `urllib3` name (scripts/install-python-packages.sh). These tests check
the result in this interpreter, and fail on a venv set up the old way.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import importlib.metadata as md
import os
import sys
import sysconfig
import threading
from collections import defaultdict
from pathlib import Path, PurePosixPath

import pytest

SITE_PACKAGES = sorted({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")})


def _distributions() -> list[md.Distribution]:
    return list(md.distributions(path=SITE_PACKAGES))


def _unchanged(file: md.PackagePath) -> bool:
    """True when the file on disk is the one its distribution's RECORD describes."""
    try:
        data = Path(file.locate()).read_bytes()
    except FileNotFoundError:
        return False
    digest = hashlib.new(file.hash.mode, data).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == file.hash.value


def _assert_installed_by(distribution: str, module) -> None:
    """`module` is loaded from a file that `distribution` installed, as it installed it."""
    dist = md.distribution(distribution)
    files = {os.path.realpath(f.locate()): f for f in dist.files or []}
    path = os.path.realpath(module.__file__)
    assert path in files, f"{module.__name__} ({path}) is not a file of the {distribution} distribution"
    assert _unchanged(files[path]), f"{path} differs from what {distribution} {dist.version} installed"


@pytest.fixture(scope="module")
def local_http():
    """A loopback HTTP server: `/ping` answers like InfluxDB, anything else with a short text."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path.startswith("/ping"):
                self.send_response(204)
                self.send_header("X-Influxdb-Version", "1.8.10")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = b"la station"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_requests_runs_on_the_installed_urllib3(local_http):
    import requests
    import urllib3

    with requests.Session() as session:
        response = session.get(f"{local_http}/hello", timeout=5)
        assert (response.status_code, response.text) == (200, "la station")
        pool_manager = session.get_adapter(local_http).poolmanager
        _assert_installed_by("urllib3", sys.modules[type(pool_manager).__module__])
        # What the Schemathesis CLI reads; urllib3-future's pool container has no keys().
        assert len(list(pool_manager.pools.keys())) == 1
    assert urllib3.__version__ == md.version("urllib3")


def test_influxdb_client_runs_on_the_installed_urllib3(local_http):
    from influxdb_client import InfluxDBClient

    with InfluxDBClient(url=local_http, token="token", org="la-station", timeout=5000) as client:
        assert client.ping() is True
        pool_manager = client.api_client.rest_client.pool_manager
        _assert_installed_by("urllib3", sys.modules[type(pool_manager).__module__])


def test_the_urllib3_name_belongs_to_the_urllib3_distribution():
    import influxdb_client  # noqa: F401  (loads its urllib3 modules)
    import requests  # noqa: F401
    import urllib3

    assert urllib3.__version__ == md.version("urllib3")
    loaded = [m for name, m in sorted(sys.modules.items())
              if (name == "urllib3" or name.startswith("urllib3.")) and getattr(m, "__file__", None)]
    assert len(loaded) > 10
    for module in loaded:
        _assert_installed_by("urllib3", module)


def test_urllib3_future_keeps_to_its_own_name(local_http):
    try:
        dist = md.distribution("urllib3-future")
    except md.PackageNotFoundError:
        pytest.skip("urllib3-future is not installed")
    top_level = {PurePosixPath(str(f)).parts[0] for f in dist.files}
    assert "urllib3" not in top_level, "urllib3-future installed a `urllib3` package"
    assert not [f for f in dist.files if str(f).endswith(".pth")], "urllib3-future installed a startup hook"

    import urllib3
    import urllib3_future

    assert urllib3_future is not urllib3
    assert Path(urllib3_future.__file__).parent.name == "urllib3_future"
    assert urllib3_future.__version__ == dist.version.split("+")[0]
    _assert_installed_by("urllib3-future", urllib3_future)

    import niquests

    assert niquests.packages.urllib3 is urllib3_future
    response = niquests.get(f"{local_http}/hello", timeout=5)
    assert (response.status_code, response.text) == (200, "la station")


def test_no_two_distributions_install_the_same_file():
    owners: dict[str, set[str]] = defaultdict(set)
    for dist in _distributions():
        for file in dist.files or []:
            owners[os.path.realpath(file.locate())].add(dist.metadata["Name"])
    shared = {path: sorted(names) for path, names in owners.items() if len(names) > 1}
    assert not shared, f"{len(shared)} files installed by two distributions, e.g. {next(iter(shared.items()))}"


def test_every_installed_file_is_as_its_distribution_installed_it():
    changed = [f"{dist.metadata['Name']}: {file}" for dist in _distributions()
               for file in dist.files or [] if file.hash and not _unchanged(file)]
    assert not changed, f"{len(changed)} files changed or missing since install, e.g. {changed[:3]}"
