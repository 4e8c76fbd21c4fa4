"""The sites' partition across collectors: deterministic, complete, and cheap to rebalance."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from collector.settings import CollectorSettings
from station.partition import Partition, assignment, owner, partition_sites

SITES = [f"site-{i:03d}" for i in range(200)]


def test_every_site_has_exactly_one_collector():
    for count in (1, 2, 3, 5):
        parts = assignment(SITES, count)
        owned = [s for k in parts for s in parts[k]]
        assert sorted(owned) == sorted(SITES)
        assert all(partition_sites(SITES, Partition(k, count)) == parts[k] for k in parts)


def test_the_partition_is_balanced_and_the_same_everywhere():
    parts = assignment(SITES, 2)
    assert 70 <= len(parts[1]) <= 130  # 200 sites, a fair coin each: far inside
    assert assignment(list(reversed(SITES)), 2)[1] == list(reversed(parts[1]))


def test_adding_a_collector_moves_only_the_sites_the_new_one_takes():
    before, after = assignment(SITES, 3), assignment(SITES, 4)
    moved = [s for k in (1, 2, 3) for s in before[k] if s not in after[k]]
    assert sorted(moved) == sorted(after[4])
    assert 20 <= len(moved) <= 80  # about a quarter, not most of them (as with hash mod M)


def test_adding_a_site_moves_no_other_site():
    assert {s: owner(s, 3) for s in SITES} == {s: owner(s, 3) for s in SITES + ["site-new"] if s != "site-new"}


@pytest.mark.parametrize("spec", ["0/2", "3/2", "1", "a/b", "", "1/0"])
def test_a_bad_partition_is_refused(spec):
    with pytest.raises(ValueError):
        Partition.parse(spec)


def test_collector_settings_take_a_partition_from_the_environment(monkeypatch, inventory):
    monkeypatch.setenv("STATION_PARTITION", "2/2")
    settings = CollectorSettings()
    ids = [s.id for s in inventory.sites]
    assert settings.own_sites(inventory) == assignment(ids, 2)[2]
    monkeypatch.setenv("STATION_PARTITION", "3/2")
    with pytest.raises(ValidationError, match="partition"):
        CollectorSettings()


def test_sites_and_partition_together_are_refused(monkeypatch):
    monkeypatch.setenv("STATION_PARTITION", "1/2")
    monkeypatch.setenv("STATION_SITES", "la-station")
    with pytest.raises(ValidationError, match="not both"):
        CollectorSettings()


def test_no_sites_and_no_partition_means_every_site(inventory):
    assert CollectorSettings().own_sites(inventory) is None


def test_a_partition_that_owns_no_site_subscribes_to_nothing(inventory, mqtt_settings, tmp_path):
    from collector.service import Collector

    with Collector(inventory, mqtt_settings, client_id="collector-empty-part", state_dir=tmp_path,
                   sites=[]) as collector:
        assert collector.bus.subscriptions == {}
    with Collector(inventory, mqtt_settings, client_id="collector-all", state_dir=tmp_path / "all") as collector:
        assert "station/v1/+/nodes/+/events" in collector.bus.subscriptions
