"""A door node in its own process, for the kill test: ``python -m tests.edge.node_process PORT DIR N``.

Opens and closes the door ``N`` times on mock pins, printing ``written SEQ`` for every
event once it is in the outbox, then keeps running (draining) until killed.
"""

import sys
import time

from gpiozero.pins.mock import MockFactory

from edge.node import EdgeNode
from station.inventory import DEFAULT_INVENTORY, load_inventory
from station.mqtt import MqttSettings


def main() -> None:
    port, data_dir, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    factory = MockFactory()
    node = EdgeNode(load_inventory(DEFAULT_INVENTORY), "ls-porte-salle-aiguillage", MqttSettings(port=port),
                    pin_factory=factory, data_dir=data_dir)
    node.emit = _printing(node.emit)
    node.start(wait=None)
    door = factory.pin(node.profile.pins["door_contact"])
    door.drive_low()
    print("started", flush=True)
    for _ in range(count):
        door.drive_high()
        door.drive_low()
        time.sleep(0.002)
    while True:
        time.sleep(1)


def _printing(emit):
    def wrapped(kind, **fields):
        event = emit(kind, **fields)
        if event is not None:
            print(f"written {event.seq}", flush=True)
        return event
    return wrapped


if __name__ == "__main__":
    main()
