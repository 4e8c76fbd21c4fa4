"""`station api …`: the API and board, and the keys it signs and hashes with."""

from __future__ import annotations

from pathlib import Path

import typer

from station.inventory import ConfigError

app = typer.Typer(help="The API and the web board.", no_args_is_help=True)


@app.command("run")
def api_run(host: str = typer.Option("127.0.0.1", "--host"), port: int = typer.Option(8000, "--port")) -> None:
    """Serve the API and the board (settings from STATION_* environment variables)."""
    import uvicorn
    from pydantic import ValidationError

    from api.app import create_app
    from api.keys import InsecureSettings
    from api.settings import ApiSettings
    from station.cli_common import fail

    try:
        application = create_app(ApiSettings())
    except ValidationError as exc:  # a STATION_* variable that does not parse
        for error in exc.errors():
            name = "STATION_" + "_".join(map(str, error["loc"])).upper()
            typer.echo(f"environment: {name}: {error['msg']}", err=True)
        raise typer.Exit(2)
    except ConfigError as exc:
        fail(exc)
    except InsecureSettings as exc:
        typer.echo(f"refusing to start: {exc}", err=True)
        raise typer.Exit(2)
    # SSE streams never end by themselves: give them a second, then close them.
    uvicorn.run(application, host=host, port=port, timeout_graceful_shutdown=2)


@app.command("keys")
def api_keys(directory: Path = typer.Argument(..., help="Where to write signing.pem, signing.pub.pem, site.key")) -> None:
    """Generate the Ed25519 signing key pair and the site HMAC key (files mode 0600)."""
    from api.keys import write_keys

    private, public, site = write_keys(directory)
    typer.echo(f"STATION_SIGNING_KEY_FILE={private}\nSTATION_SITE_KEY_FILE={site}\n"
               f"public key for the nodes: {public}")
