"""``python -m collector run …``: the collector's commands without the rest of `station`."""

from collector.cli import app

app(prog_name="collector")
