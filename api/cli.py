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
def api_keys(directory: Path = typer.Argument(..., help="Where to write signing.pem, signing.pub.pem, "
                                                        "site-hmac.key")) -> None:
    """Write the site's key set: the Ed25519 signing key pair and the HMAC key (secrets
    mode 0600, folder 0700; files that exist are kept). The nodes get the public key and,
    door nodes, the HMAC key — the same file names (see station/access/keys.py)."""
    from station.access import generate_key_set, key_id, load_public_key

    paths = generate_key_set(directory)
    typer.echo(f"STATION_SIGNING_KEY_FILE={paths.private}\nSTATION_SITE_KEY_FILE={paths.hmac}\n"
               f"for the nodes: keys.public_key={paths.public} (key id {key_id(load_public_key(paths.public))}), "
               f"keys.hmac_key={paths.hmac}")


@app.command("import-closures")
def api_import_closures(source: str = typer.Argument(..., help="An ICS file or an http(s) URL"),
                        space: list[str] = typer.Option([], "--space", help="Space of events whose LOCATION names none"),
                        site: str | None = typer.Option(None, "--site", help="Every space of this site"),
                        kind: str = typer.Option("closure", "--kind", help="closure or event (a programme)")) -> None:
    """Import space closures or a programme (the venue's) from iCalendar; they block bookings.
    Importing the same source again replaces what it gave before. Database from STATION_*."""
    from datetime import datetime, timezone

    from api.app import database_url
    from api.closures import CalendarUnreadable, import_calendar, read_source
    from api.db import Database
    from api.settings import ApiSettings
    from station.cli_common import fail
    from station.inventory import load_inventory

    if kind not in ("closure", "event"):
        typer.echo("--kind is closure or event", err=True)
        raise typer.Exit(2)
    settings = ApiSettings()
    try:
        inventory = load_inventory(settings.inventory)
    except ConfigError as exc:
        fail(exc)
    spaces = list(space)
    if site is not None:
        spaces += [s.id for s in inventory.site(site).spaces]
    try:
        for space_id in spaces:
            inventory.space(space_id)
    except KeyError as exc:
        typer.echo(str(exc.args[0]), err=True)
        raise typer.Exit(2)
    db = Database(database_url(settings))
    db.migrate()
    db.seed(inventory)
    try:
        result = import_calendar(db, inventory, read_source(source), source=source, now=datetime.now(timezone.utc),
                                 horizon_days=settings.booking_horizon_days, spaces=spaces, kind=kind)
    except CalendarUnreadable as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1)
    typer.echo(f"{result.periods} blocked period(s) from {source} in {', '.join(sorted(result.spaces)) or 'no space'}")
    for line in result.skipped:
        typer.echo(f"skipped: {line}")
    if result.overlapping:
        typer.echo(f"bookings already over them (not cancelled; tell their members): {result.overlapping}")


def privacy_held() -> list[dict]:
    """What the API's database holds of personal data, per table (``station privacy report``);
    the database from ``STATION_*`` (read only: no migration, no seed)."""
    from api.app import database_url
    from api.db import Database
    from api.retention import Retention
    from api.settings import ApiSettings
    from station.clock import Clock

    settings = ApiSettings()
    db = Database(database_url(settings))
    try:
        return [h.as_dict() for h in Retention(db, settings.retention, Clock()).held()]
    finally:
        db.engine.dispose()


@app.command("privacy-sweep")
def api_privacy_sweep() -> None:
    """Remove or anonymise now what crossed its retention horizon in the API's database (the
    running API does it every STATION_RETENTION_SWEEP_INTERVAL_S). Database from STATION_*."""
    from api.app import database_url
    from api.db import Database
    from api.retention import Retention
    from api.settings import ApiSettings
    from station.clock import Clock

    settings = ApiSettings()
    db = Database(database_url(settings))
    try:
        for what, n in Retention(db, settings.retention, Clock()).sweep().items():
            typer.echo(f"{what}: {n}")
    finally:
        db.engine.dispose()


@app.command("privacy-sign")
def api_privacy_sign() -> None:
    """Print the notice to post beside each badge reader (Markdown, fr/en), from the
    settings (STATION_NOTICE_*, STATION_RETENTION_*); hardware/privacy-notice.md holds
    the default one."""
    from api.notice import reader_sign
    from api.settings import ApiSettings

    settings = ApiSettings()
    typer.echo(reader_sign(settings.notice, settings.retention))
