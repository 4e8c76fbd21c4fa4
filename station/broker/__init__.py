"""Broker side of La Station: running a development Mosquitto and generating production configs."""
