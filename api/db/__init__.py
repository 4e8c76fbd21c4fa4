"""Relational store of the API: members, badges, bookings, trainings, grants, audit."""

from .models import (AuditEntry, Badge, Base, Booking, BookingStatus, DoorGrantState, DoorRow, Member,
                     MemberStatus, Role, SiteRow, SpaceRow, Token, Training)
from .session import Database

__all__ = ["AuditEntry", "Badge", "Base", "Booking", "BookingStatus", "Database", "DoorGrantState", "DoorRow",
           "Member", "MemberStatus", "Role", "SiteRow", "SpaceRow", "Token", "Training"]
