"""The information notice: its texts filled from the settings, the printable one for the
readers the same as hardware/privacy-notice.md, and the board showing the short one."""

from __future__ import annotations

from pathlib import Path

from api.notice import PrivacyNotice, reader_sign, render
from lastation.cli import app
from station.privacy import RetentionPolicy
from tests.utils.cli import invoke

HARDWARE = Path(__file__).resolve().parents[2] / "hardware"


def test_the_printed_notice_for_the_readers_is_the_default_one():
    assert reader_sign(PrivacyNotice(), RetentionPolicy()) in (HARDWARE / "privacy-notice.md").read_text()


def test_the_texts_follow_the_settings():
    n = render(PrivacyNotice(controller="Tiers-lieu X", contact="rgpd@x.example"),
               RetentionPolicy(access_events_days=30, bookings_anonymise_days=400))
    for lang in ("fr", "en"):
        assert "Tiers-lieu X" in n[lang]["text"] and "rgpd@x.example" in n[lang]["short"]
        assert "30" in n[lang]["short"] and "400" in n[lang]["text"] and "{" not in n[lang]["text"]


def test_privacy_sign_prints_it_from_the_environment():
    r = invoke(app, ["api", "privacy-sign"], env={"STATION_NOTICE_CONTACT": "dpo@ailleurs.example",
                                                  "STATION_RETENTION_ACCESS_EVENTS_DAYS": "60"})
    assert r.exit_code == 0, r.output
    assert "dpo@ailleurs.example" in r.output and "60 jours / days" in r.output


def test_the_board_shows_the_short_notice_and_links_my_data(client, settings):
    page = client.get("/").text
    assert render(settings.notice, settings.retention)["fr"]["short"] in page
    assert 'href="/mes-donnees"' in page
    mine = client.get("/mes-donnees")
    assert mine.status_code == 200 and "92 jours" in mine.text and "CNIL" in mine.text
