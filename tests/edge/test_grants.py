"""The grant cache: signatures, versions, validity windows, expiry, and the copy on disk."""

import json
from datetime import datetime, timedelta, timezone

import pytest

from edge.grants import GrantCache, GrantRejected
from tests.edge.helpers import KeySet

DOOR = "porte-salle-aiguillage"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)


@pytest.fixture()
def keys(tmp_path):
    return KeySet(tmp_path / "keys")


def cache(tmp_path, keys, **kw) -> GrantCache:
    return GrantCache(tmp_path / "grants", "la-station", [DOOR], keys.site, **kw)


def test_signed_list_admits_its_badges_and_nobody_else(tmp_path, keys):
    c = cache(tmp_path, keys)
    assert c.update(DOOR, keys.grants(DOOR, 1, {"1001": "member"}, now=NOW)) is True
    assert c.decide(DOOR, keys.credential("1001"), NOW).granted
    denied = c.decide(DOOR, keys.credential("1002"), NOW)
    assert not denied.granted and denied.reason == "unknown badge"
    assert c.versions() == {DOOR: 1}


def test_tampered_list_is_rejected_and_the_cache_kept(tmp_path, keys):
    c = cache(tmp_path, keys)
    c.update(DOOR, keys.grants(DOOR, 1, {"1001": "member"}, now=NOW))
    forged = keys.grants(DOOR, 2, {"1001": "member"}, now=NOW)
    forged = forged.model_copy(update={"entries": forged.entries + [
        forged.entries[0].model_copy(update={"credential_hash": keys.credential("6666")})]})
    with pytest.raises(GrantRejected, match="signature does not verify"):
        c.update(DOOR, forged)
    with pytest.raises(GrantRejected, match="unsigned"):
        c.update(DOOR, forged.model_copy(update={"signature": ""}))
    assert c.versions() == {DOOR: 1}
    assert not c.decide(DOOR, keys.credential("6666"), NOW).granted


def test_list_signed_by_a_key_the_node_does_not_trust_is_rejected_naming_the_key(tmp_path, keys):
    other = KeySet(tmp_path / "other")
    with pytest.raises(GrantRejected, match=f"signed by key '{other.signer.key_id}', which this node does not trust"):
        cache(tmp_path, keys).update(DOOR, other.grants(DOOR, 1, {"1001": "member"}, now=NOW))


def test_a_list_claiming_a_trusted_key_id_but_signed_by_another_key_is_rejected(tmp_path, keys):
    from station.access import sign

    other = KeySet(tmp_path / "other")
    forged = sign(keys.grants(DOOR, 1, {"1001": "staff"}, now=NOW), other.signer)
    forged = forged.model_copy(update={"key_id": keys.signer.key_id})  # lies about who signed it
    with pytest.raises(GrantRejected, match="signature does not verify"):
        cache(tmp_path, keys).update(DOOR, forged)


def test_during_a_rotation_the_node_accepts_the_current_and_the_next_key(tmp_path, keys):
    from station.access import NodeKeys, load_node_keys, sign

    nxt = KeySet(tmp_path / "next")  # only the signing key rotates; the site HMAC key stays
    ring = load_node_keys(keys.paths.public, keys.paths.hmac, next_public_key=nxt.paths.public)
    assert set(ring.ring.ids) == {keys.signer.key_id, nxt.signer.key_id}
    c = GrantCache(tmp_path / "grants", "la-station", [DOOR], ring)
    c.update(DOOR, keys.grants(DOOR, 1, {"1001": "member"}, now=NOW))  # still the old key
    c.update(DOOR, sign(keys.grants(DOOR, 2, {"1002": "member"}, now=NOW), nxt.signer))  # the API switched
    assert c.decide(DOOR, keys.credential("1002"), NOW).granted
    after = GrantCache(tmp_path / "after", "la-station", [DOOR], NodeKeys(nxt.site.ring, keys.site.hmac_key))
    with pytest.raises(GrantRejected, match="does not trust"):  # rotation over: the old key is gone
        after.update(DOOR, keys.grants(DOOR, 3, {"1001": "member"}, now=NOW))


def test_older_version_is_rejected_and_same_version_is_a_quiet_redelivery(tmp_path, keys):
    c = cache(tmp_path, keys)
    v2 = keys.grants(DOOR, 2, {"1001": "member"}, now=NOW)
    c.update(DOOR, v2)
    with pytest.raises(GrantRejected, match="older"):
        c.update(DOOR, keys.grants(DOOR, 1, {"1001": "member", "1002": "member"}, now=NOW))
    assert c.update(DOOR, v2) is False


def test_list_for_another_door_is_rejected(tmp_path, keys):
    with pytest.raises(GrantRejected, match="porte-guichet"):
        cache(tmp_path, keys).update(DOOR, keys.grants("porte-guichet", 1, {"1": "member"}, now=NOW))


def test_validity_windows_are_applied(tmp_path, keys):
    c = cache(tmp_path, keys)
    start, end = NOW + timedelta(minutes=10), NOW + timedelta(hours=1)
    c.update(DOOR, keys.grants(DOOR, 1, {"1001": ("member", start, end)}, now=NOW))
    h = keys.credential("1001")
    assert not c.decide(DOOR, h, NOW).granted
    assert c.decide(DOOR, h, start).granted
    assert not c.decide(DOOR, h, end).granted
    assert c.decide(DOOR, h, end).reason == "outside its validity window"


@pytest.mark.parametrize("staff_when_expired", [True, False])
def test_expired_list_stops_members_and_staff_as_configured(tmp_path, keys, staff_when_expired):
    c = cache(tmp_path, keys, staff_when_expired=staff_when_expired)
    c.update(DOOR, keys.grants(DOOR, 1, {"1001": "member", "9001": "staff"}, now=NOW,
                               expires_in=timedelta(hours=1)))
    later = NOW + timedelta(hours=2)
    member = c.decide(DOOR, keys.credential("1001"), later)
    assert not member.granted and member.reason == "grant list expired"
    assert c.decide(DOOR, keys.credential("9001"), later).granted is staff_when_expired


def test_cache_survives_a_restart_and_a_tampered_file_is_refused(tmp_path, keys):
    c = cache(tmp_path, keys)
    c.update(DOOR, keys.grants(DOOR, 3, {"1001": "member"}, now=NOW))
    again = cache(tmp_path, keys)
    assert again.versions() == {DOOR: 3}
    assert again.decide(DOOR, keys.credential("1001"), NOW).granted
    path = tmp_path / "grants" / f"{DOOR}.json"
    data = json.loads(path.read_text())
    data["entries"][0]["credential_hash"] = keys.credential("6666")
    path.write_text(json.dumps(data))
    tampered = cache(tmp_path, keys)
    assert tampered.versions() == {}
    assert "signature does not verify" in tampered.load_problems[0]
    assert not tampered.decide(DOOR, keys.credential("6666"), NOW).granted


def test_without_a_public_key_nothing_is_trusted(tmp_path, keys):
    c = GrantCache(tmp_path / "g", "la-station", [DOOR], None)
    with pytest.raises(GrantRejected, match="no site public key"):
        c.update(DOOR, keys.grants(DOOR, 1, {"1001": "member"}, now=NOW))


def test_a_cached_list_still_decides_after_a_restart_with_the_clock_set_back(tmp_path, keys):
    """A Pi has no real-time clock: it can boot days behind (or in 1970) with the network
    down. The list it verified before must still decide — refusing it for a ``ts`` "in the
    future" would leave the door shut to everyone, staff included. The signature is
    checked again; the times are not judged against a clock that may be wrong."""
    from station.access import sign

    ahead = datetime.now(timezone.utc) + timedelta(days=3)  # the clock when the list arrived
    grants = keys.grants(DOOR, 3, {"9001": "staff"}, now=ahead)
    cache(tmp_path, keys).update(DOOR, sign(grants.model_copy(update={"ts": ahead}), keys.signer))
    again = cache(tmp_path, keys)  # restarted; the clock now reads three days earlier
    assert again.load_problems == [] and again.versions() == {DOOR: 3}
    assert again.decide(DOOR, keys.credential("9001"), datetime.now(timezone.utc)).granted
