"""The shared access module: keys and their ids, signatures, versions, decisions, commands."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from station.access import (GrantIndex, KeyRing, SignatureError, Signer, command_problem, generate_key_set,
                            hash_credential, issue_grant_list, key_id, load_node_keys, next_version, paths_in, sign,
                            verify)
from station.contract import DoorAction, DoorCommand, GrantEntry, GrantList, GrantRole
from station.yamlfile import ConfigError

NOW = datetime(2026, 6, 10, 8, 0, tzinfo=timezone.utc)


def signer() -> Signer:
    return Signer(Ed25519PrivateKey.generate())


def test_a_signed_list_carries_the_signers_key_id_and_tampering_is_detected():
    s = signer()
    card = hash_credential(b"site-key-of-16-bytes", "1234567")
    grants = GrantList(site="la-station", door="porte-salle-depot", version=3, key_id="unsigned",
                       expires_at=NOW + timedelta(days=1), entries=[GrantEntry(credential_hash=card)])
    signed = sign(grants, s)
    assert signed.key_id == s.key_id == key_id(s.public_key) and signed.key_id.startswith("ed25519:")
    ring = KeyRing.of(s.public_key)
    verify(GrantList.model_validate_json(signed.to_json()), ring)
    with pytest.raises(SignatureError, match="does not verify"):
        verify(signed.model_copy(update={"version": 4}), ring)
    with pytest.raises(SignatureError, match="unsigned"):
        verify(grants.model_copy(update={"signature": ""}), ring)
    with pytest.raises(SignatureError, match="does not trust"):
        verify(signed, KeyRing.of(signer().public_key))


def test_card_hashes_depend_on_the_site_key_and_not_on_leading_zeros():
    assert hash_credential(b"a" * 16, 42) != hash_credential(b"b" * 16, 42)
    assert hash_credential(b"a" * 16, "0042") == hash_credential(b"a" * 16, 42)
    assert len(hash_credential(b"a" * 16, 42)) == 64


def test_versions_only_grow_even_from_a_lost_database():
    first = next_version(None)
    assert first > 1_700_000_000_000  # wall-clock milliseconds: a new database starts above any old list
    assert next_version(first) > first
    assert next_version(10**15) == 10**15 + 1  # a list from the future is still overtaken


def test_one_decision_rule_for_windows_roles_and_expiry():
    s = signer()
    h = [hash_credential(b"k" * 16, n) for n in (1, 2, 3)]
    grants = issue_grant_list(site="la-station", door="porte-salle-depot", now=NOW, expires_at=NOW + timedelta(hours=1),
                              previous_version=None, signer=s, entries=[
                                  GrantEntry(credential_hash=h[0], role=GrantRole.staff),
                                  GrantEntry(credential_hash=h[1], role=GrantRole.member,
                                             not_before=NOW - timedelta(minutes=10), not_after=NOW + timedelta(hours=1)),
                                  GrantEntry(credential_hash=h[2], role=GrantRole.trained,
                                             not_before=NOW + timedelta(minutes=30))])
    index = GrantIndex(grants)
    assert index.decide(h[0], NOW).granted and index.decide(h[1], NOW).granted
    assert index.decide(h[2], NOW).reason == "outside its validity window"
    assert index.decide(hash_credential(b"k" * 16, 9), NOW).reason == "unknown badge"
    later = NOW + timedelta(hours=2)  # the list expired: staff only (when configured)
    assert index.decide(h[0], later).granted and index.decide(h[0], later).reason == "granted (staff, list expired)"
    assert not index.decide(h[0], later, staff_when_expired=False).granted
    assert index.decide(h[1], NOW + timedelta(hours=1)).reason == "outside its validity window"  # booking over


def test_a_command_must_be_newer_unexpired_for_this_door_and_signed_by_a_trusted_key():
    s = signer()
    ring = KeyRing.of(s.public_key)
    command = sign(DoorCommand(id="cmd-00000001", seq=5, door="porte-salle-depot", action=DoorAction.release,
                               expires_at=NOW + timedelta(minutes=1), issued_by="member:1", key_id="x"), s)
    ok = dict(resource="porte-salle-depot", ring=ring, now=NOW)
    assert command_problem(command, last_seq=4, **ok) is None
    assert "not newer" in command_problem(command, last_seq=5, **ok)
    assert "not newer" in command_problem(command, last_seq=9, **ok)
    assert command_problem(command, last_seq=0, **{**ok, "now": NOW + timedelta(minutes=2)}) == "command expired"
    assert "for porte-salle-depot, not" in command_problem(command, last_seq=0, **{**ok, "resource": "other"})
    assert "does not trust" in command_problem(command, last_seq=0, **{**ok, "ring": KeyRing.of(signer().public_key)})
    assert command_problem(command, last_seq=0, **{**ok, "ring": None}) == "no site public key configured"


def test_a_key_set_is_written_once_with_private_files_and_read_back_by_a_node(tmp_path):
    paths = generate_key_set(tmp_path / "keys")
    assert paths == paths_in(tmp_path / "keys")
    assert (tmp_path / "keys").stat().st_mode & 0o777 == 0o700
    for secret in (paths.private, paths.hmac):
        assert secret.stat().st_mode & 0o777 == 0o600
    public = paths.public.read_bytes()
    generate_key_set(tmp_path / "keys")
    assert paths.public.read_bytes() == public
    keys = load_node_keys(paths.public, paths.hmac)
    assert len(keys.ring.ids) == 1 and keys.credential_hash(7) == hash_credential(keys.hmac_key, 7)


def test_unreadable_or_wrong_key_files_name_the_file(tmp_path):
    paths = generate_key_set(tmp_path / "keys")
    with pytest.raises(ConfigError, match="missing.pem: cannot read the public key"):
        load_node_keys(tmp_path / "missing.pem", paths.hmac)
    with pytest.raises(ConfigError, match="site-hmac.key:1: not a PEM public key"):
        load_node_keys(paths.hmac, paths.hmac)
    (tmp_path / "short.key").write_text("abcd\n")
    with pytest.raises(ConfigError, match="too short"):
        load_node_keys(paths.public, tmp_path / "short.key")


def test_a_signed_command_with_an_absurd_sequence_is_refused_so_it_cannot_shut_out_every_later_one():
    """A signer-side bug (or a misused key) signs seq = 2**63: applied, the node's ledger
    would refuse every real command after it (their sequences are wall-clock milliseconds)
    and the door would stay in that mode until someone edits the node's SD card."""
    s = signer()
    ring = KeyRing.of(s.public_key)
    ok = dict(resource="porte-salle-depot", ring=ring, now=NOW, last_seq=0)

    def command(seq: int) -> DoorCommand:
        return sign(DoorCommand(id="cmd-00000001", seq=seq, door="porte-salle-depot", action=DoorAction.lockdown,
                                expires_at=NOW + timedelta(minutes=1), issued_by="member:1", key_id="x"), s)

    assert "sequence" in command_problem(command(2 ** 63 - 1), **ok)  # the most the contract lets through
    assert "sequence" in command_problem(command(2 ** 53), **ok)
    assert command_problem(command(2 ** 53 - 1), **ok) is None
    assert command_problem(command(next_version(None)), **ok) is None  # what the API issues
