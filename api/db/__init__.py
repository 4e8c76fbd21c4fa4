"""Relational store of the API: members, badges, bookings, trainings, grants, audit."""

from .models import (AuditEntry, Badge, Base, Booking, BookingStatus, DoorGrantState, DoorRow, Member,
                     MemberStatus, Role, SiteRow, SpaceRow, Token, Training)
from .calendars import BlockedPeriod, CalDavEvent, CalendarFeed
from .machines import MachineBooking, MachineGrantState, MachineRow, MachineSession
from .session import Database

__all__ = ["AuditEntry", "Badge", "Base", "BlockedPeriod", "CalDavEvent", "CalendarFeed", "Booking", "BookingStatus", "Database", "DoorGrantState", "DoorRow",
           "MachineBooking", "MachineGrantState", "MachineRow", "MachineSession", "Member", "MemberStatus", "Role", "SiteRow", "SpaceRow", "Token", "Training"]
