"""Edge devices: every sensor and actuator of a node, through gpiozero pin factories.

Each device takes ``pin_factory=None`` (``GPIOZERO_PIN_FACTORY=mock`` or an explicit
``MockFactory`` runs it on a laptop) and is a context manager with ``close()``.
"""

from .door_contact import DoorContact
from .motion import MotionDetector
from .sensors import Co2Sensor, SensorFault

__all__ = ["Co2Sensor", "DoorContact", "MotionDetector", "SensorFault"]
