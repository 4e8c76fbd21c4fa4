"""Push the data source, folder, dashboards and alert rules to a running Grafana.

Through grafana-client (the maintained continuation of grafana-api). Idempotent: each
object is read first and written only when missing or different, so a second run
changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError

from .alerts import FOLDER_TITLE, FOLDER_UID, RULES
from .boards import all_boards
from .build import datasource

log = logging.getLogger(__name__)


@dataclass
class Report:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


def _get(call: Callable[[], Any]) -> Any | None:
    try:
        return call()
    except GrafanaClientError as exc:
        if exc.status_code == 404:
            return None
        raise


def _differs(wanted: dict, current: dict) -> bool:
    """True when any key we set has another value in Grafana (Grafana adds keys of its own)."""
    for key, value in wanted.items():
        if key in ("secureJsonData",):
            continue  # write-only: Grafana never returns it
        if isinstance(value, dict) and isinstance(current.get(key), dict):
            if _differs(value, current[key]):
                return True
        elif current.get(key) != value:
            return True
    return False


class Provisioner:
    def __init__(self, grafana_url: str, token: str, *, influx_url: str, influx_database: str,
                 influx_token: str = "", timeout: float = 10.0):
        self.api = GrafanaApi.from_url(grafana_url, credential=token, timeout=timeout)
        self.datasource = datasource(influx_url, influx_database, influx_token)
        self.report = Report()

    def run(self) -> Report:
        self.ensure_datasource()
        self.ensure_folder()
        for board in all_boards().values():
            self.ensure_dashboard(board)
        for rule in RULES:
            self.ensure_alert_rule(rule.api_body())
        return self.report

    def ensure_datasource(self) -> None:
        uid = self.datasource["uid"]
        current = _get(lambda: self.api.datasource.get_datasource_by_uid(uid))
        if current is None:
            self.api.datasource.create_datasource(self.datasource)
            self.report.created.append(f"datasource {uid}")
        elif _differs(self.datasource, current):
            self.api.datasource.update_datasource_by_uid(uid, self.datasource)
            self.report.updated.append(f"datasource {uid}")
        else:
            self.report.unchanged.append(f"datasource {uid}")

    def ensure_folder(self) -> None:
        current = _get(lambda: self.api.folder.get_folder(FOLDER_UID))
        if current is None:
            self.api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID)
            self.report.created.append(f"folder {FOLDER_UID}")
        elif current.get("title") != FOLDER_TITLE:
            self.api.folder.update_folder(FOLDER_UID, title=FOLDER_TITLE, overwrite=True)
            self.report.updated.append(f"folder {FOLDER_UID}")
        else:
            self.report.unchanged.append(f"folder {FOLDER_UID}")

    def ensure_dashboard(self, board: dict) -> None:
        uid = board["uid"]
        current = _get(lambda: self.api.dashboard.get_dashboard(uid))
        in_folder = current is not None and current.get("meta", {}).get("folderUid") == FOLDER_UID
        if current is not None and in_folder and not _differs(
                {k: v for k, v in board.items() if k != "version"}, current.get("dashboard", {})):
            self.report.unchanged.append(f"dashboard {uid}")
            return
        self.api.dashboard.update_dashboard({"dashboard": board, "folderUid": FOLDER_UID, "overwrite": True,
                                             "message": "station dashboards provision"})
        (self.report.created if current is None else self.report.updated).append(f"dashboard {uid}")

    def ensure_alert_rule(self, body: dict) -> None:
        uid = body["uid"]
        current = _get(lambda: self.api.alertingprovisioning.get_alertrule(uid))
        if current is None:
            self.api.alertingprovisioning.create_alertrule(body)
            self.report.created.append(f"alert rule {uid}")
        elif _differs(body, current):
            self.api.alertingprovisioning.update_alertrule(uid, body)
            self.report.updated.append(f"alert rule {uid}")
        else:
            self.report.unchanged.append(f"alert rule {uid}")
