"""`station api …`: the API and board."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from station.cli_common import (InventoryOpt, MqttHostOpt, MqttPortOpt, VerboseOpt, fail, load_or_fail,
                                setup_logging, wait_for_signal)
from station.inventory import ConfigError

app = typer.Typer(help="The API and the web board.", no_args_is_help=True)


@app.command("run")
def api_run(host: str = typer.Option("127.0.0.1", "--host"), port: int = typer.Option(8000, "--port")) -> None:
    """Serve the API and the board (settings from STATION_* environment variables)."""
    import uvicorn

    from api.app import create_app
    from api.settings import ApiSettings

    try:
        application = create_app(ApiSettings())
    except ConfigError as exc:
        fail(exc)
    uvicorn.run(application, host=host, port=port)
