#!/usr/bin/env bash
# Turn a fresh Raspberry Pi OS Lite (Bookworm, 64-bit) into a La Station edge node.
#
#   sudo hardware/install-raspberry-pi-os.sh [--source DIR] [--dry-run]
#
# Installs the system packages, turns on UART (console off), SPI and I2C, creates the
# `station` user (groups gpio, dialout, spi, i2c), installs the project with its `edge`
# extra into /opt/station/venv, creates /etc/station and /var/lib/station, and installs
# the systemd unit (not enabled: write /etc/station/edge.yaml first, validate it, then
# `systemctl enable --now station-edge`). Idempotent: run it again after an update.
set -euo pipefail

SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DRY_RUN=0
while [ $# -gt 0 ]; do
  case "$1" in
    --source) SOURCE="$2"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done

run() { if [ "$DRY_RUN" = 1 ]; then echo "+ $*"; else "$@"; fi; }

if [ "$DRY_RUN" = 0 ] && [ "$(id -u)" != 0 ]; then
  echo "run as root (sudo $0)" >&2; exit 1
fi
[ -f "$SOURCE/pyproject.toml" ] || { echo "$SOURCE is not a La Station checkout" >&2; exit 2; }

echo "== packages"
run apt-get update
run apt-get install -y --no-install-recommends python3 python3-venv python3-dev python3-lgpio \
    liblgpio-dev swig build-essential chrony

echo "== interfaces: UART on (console off), SPI and I2C on"
if command -v raspi-config >/dev/null; then
  run raspi-config nonint do_serial_hw 0
  run raspi-config nonint do_serial_cons 1
  run raspi-config nonint do_spi 0
  run raspi-config nonint do_i2c 0
else
  echo "raspi-config not found: enable UART, SPI and I2C in /boot/firmware/config.txt yourself"
fi

echo "== user and directories"
if ! id station >/dev/null 2>&1; then
  run useradd --system --home-dir /var/lib/station --shell /usr/sbin/nologin station
fi
for group in gpio dialout spi i2c; do
  if getent group "$group" >/dev/null; then run usermod -aG "$group" station; fi
done
run install -d -m 0750 -o station -g station /var/lib/station
run install -d -m 0750 -o root -g station /etc/station /etc/station/keys /etc/station/secrets

echo "== the station package (edge extra) in /opt/station/venv"
run python3 -m venv --system-site-packages /opt/station/venv
run /opt/station/venv/bin/pip install --upgrade pip
run /opt/station/venv/bin/pip install "$SOURCE[edge]"

echo "== systemd unit"
run install -m 0644 "$SOURCE/hardware/station-edge.service" /etc/systemd/system/station-edge.service
if [ ! -f /etc/station/edge.yaml ]; then
  run install -m 0640 -o root -g station "$SOURCE/hardware/edge.example.yaml" /etc/station/edge.yaml
fi
run systemctl daemon-reload

echo "== SD card: noatime on /"
if ! grep -qE '\s/\s.*noatime' /etc/fstab; then
  run sed -i -E 's#^(\S+\s+/\s+\S+\s+)(\S+)#\1\2,noatime#' /etc/fstab
fi

cat <<'NEXT'
Done. Next:
  1. edit /etc/station/edge.yaml (node id, broker, key paths);
  2. copy the site's public key and HMAC key into /etc/station/keys and /etc/station/secrets
     (chgrp station, chmod 0640) — never the private signing key;
  3. sudo -u station /opt/station/venv/bin/station edge run --config /etc/station/edge.yaml --validate-config
  4. sudo systemctl enable --now station-edge && journalctl -u station-edge -f
NEXT
