"""``station broker``: generate the broker configuration and check a running broker.

    station broker gen --inventory inventory/la-station.yaml --out /etc/station/broker --tls-dir /etc/station/tls
    station broker check --config /etc/station/broker
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from station.cli_common import InventoryOpt, load_or_fail

app = typer.Typer(help="Broker security: generated Mosquitto configs, credentials, bridges, checks.",
                  no_args_is_help=True)


@app.command("gen")
def gen(inventory: Path = InventoryOpt,
        out: Path = typer.Option(..., "--out", help="Directory to write the configuration into."),
        port: Optional[int] = typer.Option(None, "--port", help="Central listener port (8883 with TLS, else 1883)."),
        bind: str = typer.Option("", "--bind", help="Central listener address (default: all interfaces)."),
        tls_dir: Optional[Path] = typer.Option(None, "--tls-dir",
                                               help="ca.crt, server.crt, server.key; a development CA is "
                                                    "created there when they are missing."),
        tls_host: list[str] = typer.Option(["localhost", "127.0.0.1"], "--tls-host",
                                           help="Names of the central broker in a new server certificate."),
        central_host: str = typer.Option("localhost", "--central-host",
                                         help="Address the site brokers bridge to."),
        site_port: Optional[int] = typer.Option(None, "--site-port",
                                                help="Listener port of each site broker (8883 with --site-tls, else 1883)."),
        site_tls: bool = typer.Option(False, "--site-tls", help="TLS on the site brokers' listeners too "
                                                                 "(a certificate per site from the CA in --tls-dir)."),
        site_host: str = typer.Option("{site}.local", "--site-host",
                                      help="Name of a site broker in its certificate; {site} is the site id."),
        site_bind: str = typer.Option("", "--site-bind", help="Listener address of each site broker."),
        broker_user: str = typer.Option("mosquitto", "--broker-user",
                                        help="User mosquitto drops to when started as root."),
        local_port: Optional[int] = typer.Option(None, "--local-port",
                                                 help="Also listen without TLS on this port, for the collector "
                                                      "and the API on the same host."),
        local_bind: str = typer.Option("127.0.0.1", "--local-bind", help="Address of the --local-port listener."),
        collectors: int = typer.Option(1, "--collector-instances", "--collectors", min=1,
                                       help="Collector instances: one account, session and site partition "
                                            "each (collector-1 … collector-M; one: `collector`)."),
        apis: int = typer.Option(1, "--api-instances", min=1,
                                 help="API instances: one account and session each (api-1 … api-N; one: `api`)."),
        rotate: bool = typer.Option(False, "--rotate", help="Issue new passwords for every account.")) -> None:
    """Write mosquitto.conf, passwd, acl, credentials.json and one bridged config per site broker."""
    from .gen import GenError, GenOptions, generate

    inv = load_or_fail(inventory)
    options = GenOptions(port=port, bind=bind, tls_dir=tls_dir, tls_hosts=tuple(tls_host), rotate=rotate,
                         central_host=central_host, site_port=site_port, site_bind=site_bind,
                         site_tls=site_tls, site_host=site_host,
                         broker_user=broker_user, local_port=local_port, local_bind=local_bind,
                         collectors=collectors, apis=apis)
    try:
        result = generate(inv, out, options)
    except GenError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{result.config}: central broker on port {options.central_port}"
               f"{' (TLS)' if result.tls else ' (no TLS: loopback or a segmented LAN only)'}, "
               f"{len(result.central_users)} accounts")
    for site, sdir in result.site_dirs.items():
        typer.echo(f"{sdir / 'mosquitto.conf'}: site broker {site} on port {options.site_listener_port}"
                   f"{' (TLS)' if site_tls else ''}, bridged to {central_host}:{options.central_port}")
    typer.echo(f"{result.out / 'credentials.json'}: {result.created} new, {result.kept} kept passwords (mode 0600)")


@app.command("check")
def check(config: Path = typer.Option(..., "--config", help="Directory written by `station broker gen`."),
          host: Optional[str] = typer.Option(None, "--host", help="Broker address (default: from broker.json)."),
          port: Optional[int] = typer.Option(None, "--port", help="Broker port (default: from broker.json)."),
          site: Optional[str] = typer.Option(None, "--site", help="Check this site broker instead of the central one."),
          user: list[str] = typer.Option([], "--user", help="Only these accounts (repeatable)."),
          timeout: float = typer.Option(3.0, "--timeout", help="Seconds to wait for each broker answer.")) -> None:
    """Connect as each generated user, try what it must not do, print what was refused."""
    from rich.console import Console

    from .check import load_config, render_table, run_check

    try:
        cfg = load_config(config, host=host, port=port, site=site)
    except (OSError, ValueError, KeyError) as exc:
        typer.echo(f"error: {config}: cannot read the generated configuration ({exc})", err=True)
        raise typer.Exit(2) from None
    attempts = run_check(cfg, only=set(user) or None, timeout=timeout)
    Console(width=200).print(render_table(attempts))
    holes = [a for a in attempts if not a.refused]
    typer.echo(f"{len(attempts) - len(holes)} of {len(attempts)} forbidden attempts refused")
    if holes:
        raise typer.Exit(1)


@app.command("examples")
def examples(directory: Path = typer.Argument(Path("broker_config"), help="Where to write the examples.")) -> None:
    """Write the production and site broker configurations as gen renders them, for reading."""
    from .templates import examples as render

    for name, text in render().items():
        (directory / name).write_text(text)
        typer.echo(f"wrote {directory / name}")
