"""The machine rule of the shared access engine: trained ∧ (booked by them ∨ free to use) ∧ in service."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from station.access import GrantIndex, KeyRing, SignatureError, Signer, hash_credential, issue_grant_list, verify
from station.contract import GrantEntry, GrantRole, MachineGrantList, Window, topics

NOW = datetime(2026, 6, 10, 10, 0, tzinfo=timezone.utc)
KEY = b"site-key-of-16-bytes"
TRAINED, BOOKER, UNTRAINED, LAPSED = (hash_credential(KEY, n) for n in (1, 2, 3, 4))
H = timedelta(hours=1)
SIGNER = Signer(Ed25519PrivateKey.generate())


def machine_list(*, free_to_use=True, out_of_order=False, booked=((NOW + H, NOW + 2 * H),), expires=NOW + 24 * H,
                 **extra) -> MachineGrantList:
    """Open 08:00-20:00; BOOKER booked 11:00-12:00; TRAINED and BOOKER trained; LAPSED's training ended."""
    day = NOW.replace(hour=8)
    entries = [GrantEntry(credential_hash=h, role=GrantRole.trained, not_after=NOW + 30 * 24 * H)
               for h in (TRAINED, BOOKER)]
    entries.append(GrantEntry(credential_hash=LAPSED, role=GrantRole.trained, not_after=NOW - H))
    entries += [GrantEntry(credential_hash=BOOKER, role=GrantRole.member, not_before=lo, not_after=hi)
                for lo, hi in booked]
    free = [Window(start=day, end=booked[0][0]), Window(start=booked[0][1], end=day + 12 * H)] if booked else \
        [Window(start=day, end=day + 12 * H)]
    return issue_grant_list(site="la-station", machine="laser-trotec", entries=entries, now=NOW - H,
                            expires_at=expires, previous_version=None, signer=SIGNER, free_to_use=free_to_use,
                            free_windows=free if free_to_use else [],
                            booked_windows=[Window(start=lo, end=hi) for lo, hi in booked],
                            out_of_order=out_of_order, **extra)


def test_machine_list_is_signed_and_verified_like_a_door_list():
    grants = machine_list()
    ring = KeyRing.of(SIGNER.public_key)
    verify(MachineGrantList.model_validate_json(grants.to_json()), ring)
    with pytest.raises(SignatureError, match="does not verify"):
        verify(grants.model_copy(update={"out_of_order": True}), ring)
    assert topics.parse(topics.machine_grants("la-station", "laser-trotec")).channel.model is MachineGrantList
    with pytest.raises(ValueError, match="one door or one machine"):
        issue_grant_list(site="la-station", entries=[], now=NOW, expires_at=NOW + H, previous_version=None,
                         signer=SIGNER)
    with pytest.raises(ValueError, match="not fields of a door"):
        issue_grant_list(site="la-station", door="porte-guichet", entries=[], now=NOW, expires_at=NOW + H,
                         previous_version=None, signer=SIGNER, out_of_order=True)


def test_untrained_member_is_refused_and_lapsed_training_says_so():
    index = GrantIndex(machine_list())
    assert index.decide(UNTRAINED, NOW) == index.decide(UNTRAINED, NOW)
    assert index.decide(UNTRAINED, NOW).reason == "not trained on this machine"
    assert not index.decide(UNTRAINED, NOW).granted
    lapsed = index.decide(LAPSED, NOW)
    assert not lapsed.granted and lapsed.reason == "training expired"


def test_trained_member_uses_a_free_machine_until_the_next_booking():
    decision = GrantIndex(machine_list()).decide(TRAINED, NOW)
    assert decision.granted and decision.reason == "free to use" and decision.until == NOW + H


def test_booked_by_someone_else_is_refused_and_the_booker_is_admitted_until_the_end():
    index = GrantIndex(machine_list())
    during = NOW + 1.5 * H
    other = index.decide(TRAINED, during)
    assert not other.granted and other.reason == "booked by someone else"
    mine = index.decide(BOOKER, during)
    assert mine.granted and mine.reason == "booked" and mine.until == NOW + 2 * H
    assert index.decide(TRAINED, NOW + 2 * H).granted  # the booking ended: free again


def test_closed_booking_only_out_of_order_and_expired_lists_admit_nobody():
    index = GrantIndex(machine_list())
    assert index.decide(TRAINED, NOW.replace(hour=21)).reason == "outside opening hours"
    booking_only = GrantIndex(machine_list(free_to_use=False))
    assert booking_only.decide(TRAINED, NOW).reason == "this machine needs a booking"
    assert booking_only.decide(BOOKER, NOW + 1.5 * H).granted
    broken = GrantIndex(machine_list(out_of_order=True, out_of_order_reason="tube replaced"))
    assert broken.decide(BOOKER, NOW + 1.5 * H).reason == "out of order: tube replaced"
    expired = GrantIndex(machine_list(expires=NOW))
    assert expired.decide(TRAINED, NOW).reason == "grant list expired"


def test_staff_entries_do_not_power_a_machine_and_door_lists_keep_their_rule():
    staff = hash_credential(KEY, 9)
    grants = issue_grant_list(site="la-station", machine="laser-trotec", now=NOW, expires_at=NOW + H,
                              previous_version=None, signer=SIGNER,
                              entries=[GrantEntry(credential_hash=staff, role=GrantRole.staff)],
                              free_windows=[Window(start=NOW - H, end=NOW + H)])
    assert GrantIndex(grants).decide(staff, NOW).reason == "not trained on this machine"
    door = issue_grant_list(site="la-station", door="porte-fablab-numerique", now=NOW, expires_at=NOW + H,
                            previous_version=None, signer=SIGNER,
                            entries=[GrantEntry(credential_hash=staff, role=GrantRole.staff)])
    index = GrantIndex(door)
    assert index.kind == "door" and index.resource == "porte-fablab-numerique"
    assert index.decide(staff, NOW).granted and index.decide(staff, NOW + 2 * H).granted  # staff when expired
