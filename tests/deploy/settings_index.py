"""What the deployment files may refer to: the settings the code reads, found by introspection.

Collected at test time, so that settings added by other components are recognised and
settings removed make the deployment files fail.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import typer

REPO = Path(__file__).resolve().parents[2]


def settings_env_vars(model) -> set[str]:
    """Every variable a pydantic-settings model reads: its fields, and one level of nested
    models (``STATION_MQTT_HOST`` for ``mqtt.host``)."""
    from pydantic import BaseModel

    prefix = model.model_config.get("env_prefix", "")
    names = set()
    for name, field in model.model_fields.items():
        names.add(f"{prefix}{name}".upper())
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            names |= {f"{prefix}{name}_{sub}".upper() for sub in kind.model_fields}
    return names


def api_env_vars() -> set[str]:
    from api.settings import ApiSettings

    return settings_env_vars(ApiSettings)


def command(group: typer.Typer, name: str) -> click.Command:
    return typer.main.get_command(group).commands[name]


def command_env_vars(cmd: click.Command, source: Path) -> set[str]:
    """Option envvars of a CLI command, plus variables its module reads with os.environ."""
    names = {p.envvar for p in cmd.params if isinstance(getattr(p, "envvar", None), str)}
    names |= set(re.findall(r"""environ(?:\.get)?\(\s*["'](STATION_[A-Z0-9_]+)""", source.read_text()))
    names |= set(re.findall(r"""environ\[\s*["'](STATION_[A-Z0-9_]+)""", source.read_text()))
    return names


def collector_env_vars() -> set[str]:
    from collector.settings import CollectorSettings

    return settings_env_vars(CollectorSettings)


def options_of(cmd: click.Command) -> set[str]:
    return {opt for p in cmd.params for opt in getattr(p, "opts", [])}


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values
