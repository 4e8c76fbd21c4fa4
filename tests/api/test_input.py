"""Hostile input at the API's edge (api/fields.py): control characters, datetimes across the
whole representable range, and what a failed statement leaves in the logs.

The types are checked directly with hypothesis against an independent oracle (Unicode
categories, ``datetime`` arithmetic); the HTTP tests run on SQLite and PostgreSQL, where
a NUL in a text parameter used to be a 500.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi import HTTPException
from hypothesis import given, settings, strategies as st
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import text

import api.routers
from api.deps import SessionDep
from api.fields import EARLIEST, LATEST, Day, Identifier, MultilineText, Text, When

from .conftest import at

ROOM = "salle-aiguillage"
TEXT, MULTILINE, WHEN, DAY, IDENT = (TypeAdapter(t) for t in (Text, MultilineText, When, Day, Identifier))


def refused_by_oracle(value: str, allowed: str = "") -> bool:
    return any(unicodedata.category(c) in ("Cc", "Cs") and c not in allowed for c in value)


# -- the types themselves ------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec=None), max_size=30))
def test_text_refuses_exactly_the_control_characters(value):
    for adapter, allowed in ((TEXT, ""), (MULTILINE, "\t\n\r")):
        if refused_by_oracle(value, allowed):
            with pytest.raises(ValidationError) as info:
                adapter.validate_python(value)
            assert info.value.errors()[0]["type"] == "control_character"
        else:
            assert adapter.validate_python(value) == value


@pytest.mark.parametrize("value", ["\x00", "a\x00b", "\x1b[31m", "\x7f", "\x85", "\ud800", "tab\there"])
def test_one_line_text_names_the_character_and_its_position(value):
    with pytest.raises(ValidationError) as info:
        TEXT.validate_python(value)
    error = info.value.errors()[0]
    bad = next(i for i, c in enumerate(value) if refused_by_oracle(c))
    assert error["ctx"] == {"char": f"U+{ord(value[bad]):04X}", "position": bad}


offsets = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))


@settings(max_examples=400, deadline=None)
@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59), timezones=offsets))
def test_when_accepts_2000_to_2100_in_utc_and_refuses_the_rest_without_overflowing(value):
    try:
        utc = value - value.utcoffset()  # naive arithmetic: overflows only outside year 1..9999
        inside = EARLIEST.replace(tzinfo=None) <= utc.replace(tzinfo=None) < LATEST.replace(tzinfo=None)
    except OverflowError:
        inside = False
    if inside:
        got = WHEN.validate_python(value)
        assert got == value and got.utcoffset() == timedelta(0) and got.tzinfo is UTC
    else:
        with pytest.raises(ValidationError) as info:
            WHEN.validate_python(value)
        assert info.value.errors()[0]["type"] == "datetime_out_of_range"


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "5148-05-28T08:34:02Z",
                                   "1999-12-31T23:59:59Z", "2100-01-01T00:00:00Z", "2100-01-01T06:00:00+05:00"])
def test_when_refuses_the_edges_of_the_calendar_as_json(value):
    with pytest.raises(ValidationError) as info:
        WHEN.validate_json(f'"{value}"')
    assert info.value.errors()[0]["type"] == "datetime_out_of_range"


def test_when_refuses_a_naive_time_and_keeps_the_instant_of_an_offset():
    with pytest.raises(ValidationError):
        WHEN.validate_python("2026-06-10T10:00:00")
    assert WHEN.validate_python("2026-06-10T12:00:00+02:00") == datetime(2026, 6, 10, 10, tzinfo=UTC)
    assert WHEN.validate_python("2099-12-31T23:59:59Z").year == 2099
    assert WHEN.validate_python("2000-01-01T00:00:00Z") == EARLIEST


def test_day_and_identifier():
    assert DAY.validate_python("2099-12-31").year == 2099
    for bad in ("9999-12-31", "0001-01-01", "1999-12-31", "2100-01-01"):
        with pytest.raises(ValidationError):
            DAY.validate_python(bad)
    assert IDENT.validate_python("salle-aiguillage") == "salle-aiguillage"
    for bad in ("", "-x", "Salle", "a/b", "a\x00", "x" * 64, "é"):
        with pytest.raises(ValidationError):
            IDENT.validate_python(bad)


def test_no_router_writes_a_field_type_in_the_form_fastapi_drops_its_validators_from():
    """``token: Text = Path(...)`` would accept a NUL: FastAPI keeps the parameter's own
    FieldInfo and loses the type's validators (``Text | None = Query(...)`` and
    ``Annotated[Text, Path(...)]`` keep them)."""
    routers = Path(api.routers.__file__).parent
    form = re.compile(r":\s*(Text|MultilineText|Identifier|Email|When|Day|LocalDay)\s*=\s*(Query|Path|Header|Cookie|Body)\(")
    found = [f"{f.name}: {m.group(0)}" for f in sorted(routers.glob("*.py")) for m in form.finditer(f.read_text())]
    assert not found


def test_every_operation_declares_its_errors_with_a_body_schema(client):
    schema = client.get("/openapi.json").json()
    operations = [(f"{m.upper()} {p}", op) for p, ops in schema["paths"].items() for m, op in ops.items()]
    assert len(operations) >= 50
    for name, op in operations:
        codes = op["responses"]
        if op.get("security"):
            assert {"401", "403"} <= set(codes), name
        if op.get("parameters") or op.get("requestBody"):
            assert "422" in codes, name
        if op.get("requestBody"):
            assert "400" in codes, name
        for code, response in codes.items():
            if code[0] in "45":
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/HTTPValidationError" if code == "422" else "/ErrorPublic"), (name, code)
    assert schema["components"]["schemas"]["ErrorPublic"]["required"] == ["detail"]


def test_every_integer_parameter_fits_the_databases_integer(client):
    """An id or count in a query or path past 2**31 - 1 is a 500 on PostgreSQL (its
    ``integer`` overflows in the statement), not a 422: every integer parameter is bounded."""
    schema = client.get("/openapi.json").json()
    unbounded = []
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            for param in op.get("parameters", []):
                spec = param["schema"]
                for option in spec.get("anyOf", [spec]):
                    if option.get("type") == "integer" and option.get("maximum", float("inf")) > 2_147_483_647:
                        unbounded.append(f"{method.upper()} {path}: {param['name']}")
    assert not unbounded


# -- over HTTP, SQLite and PostgreSQL ------------------------------------------------------
def detail(r, status=422):
    assert r.status_code == status, r.text
    return r.json()["detail"][0]


def test_history_far_in_the_future_is_a_422_naming_the_field(client):
    d = detail(client.get(f"/api/v1/rooms/{ROOM}/history", params={"end": "5148-05-28T08:34:02Z"}))
    assert d["type"] == "datetime_out_of_range" and d["loc"] == ["query", "end"]
    assert d["msg"].startswith("end: a time between 2000-01-01")
    fr = detail(client.get(f"/api/v1/rooms/{ROOM}/history", params={"start": "0001-01-01T00:00:00+05:00"},
                           headers={"Accept-Language": "fr"}))
    assert fr["msg"].startswith("start : une heure entre 2000-01-01")


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_edges_of_the_calendar_with_an_offset_are_422_everywhere(client, people, when):
    member = people.create()
    staff = people.create("staff")
    assert detail(client.post("/api/v1/bookings", headers=member.headers,
                              json={"space": ROOM, "start": when, "duration_minutes": 30}))["loc"] == ["body", "start"]
    assert detail(client.post("/api/v1/bookings/preview", headers=member.headers,
                              json={"space": ROOM, "start": at(11), "end": when}))["loc"] == ["body", "end"]
    assert detail(client.post(f"/api/v1/members/{member.id}/trainings", headers=staff.headers,
                              json={"space": "fablab-bois", "machine": "laser", "valid_until": when}))["loc"] == \
        ["body", "valid_until"]
    for path in ("/api/v1/audit", "/api/v1/staff/audit.csv"):
        for name in ("since", "until"):
            assert detail(client.get(path, headers=staff.headers, params={name: when}))["loc"] == ["query", name]
    assert detail(client.get("/api/v1/closures", params={"start": when}))["type"] == "datetime_out_of_range"
    assert detail(client.get("/api/v1/schedule", params={"date": when[:10]}))["type"] == "date_out_of_range"
    assert detail(client.get("/api/v1/staff/bookings", headers=staff.headers,
                             params={"day": when[:10]}))["type"] == "date_out_of_range"


def test_a_booking_given_with_an_offset_is_stored_at_the_same_instant_in_utc(client, people):
    member = people.create()
    r = client.post("/api/v1/bookings", headers=member.headers,
                    json={"space": ROOM, "start": "2026-06-10T11:00:00+02:00", "end": "2026-06-10T12:00:00+02:00"})
    assert r.status_code == 201, r.text
    assert datetime.fromisoformat(r.json()["start"]) == datetime(2026, 6, 10, 9, tzinfo=UTC)


@pytest.mark.parametrize("char", ["\x00", "\x1f", "\x7f"])
def test_control_characters_in_any_text_are_422_not_a_database_error(client, people, char):
    member = people.create()
    staff = people.create("staff")
    bad = f"a{char}b"
    cases = [
        ("post", "/api/v1/bookings", member, {"json": {"space": ROOM, "start": at(11), "end": at(12), "title": bad}},
         ["body", "title"]),
        ("post", "/api/v1/members", staff, {"json": {"email": f"x{char}@y.test", "name": "X"}}, ["body", "email"]),
        ("post", "/api/v1/members", staff, {"json": {"email": "x@y.test", "name": bad}}, ["body", "name"]),
        ("post", "/api/v1/auth/login", None, {"json": {"email": f"admin{char}@la-station.test", "password": "p"}},
         ["body", "email"]),
        ("post", "/api/v1/closures/import", staff, {"json": {"ics": "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
                                                              "source": bad}}, ["body", "source"]),
        ("get", "/api/v1/audit", staff, {"params": {"action": bad}}, ["query", "action"]),
        ("get", "/api/v1/staff/members", staff, {"params": {"q": bad}}, ["query", "q"]),
        ("get", "/api/v1/staff/trainings", staff, {"params": {"machine": bad}}, ["query", "machine"]),
        ("get", "/api/v1/bookings", member, {"params": {"space": bad}}, ["query", "space"]),
        ("get", f"/api/v1/calendars/a%{ord(char):02X}b.ics", None, {}, ["path", "token"]),  # as a URL carries it
    ]
    for method, path, who, kwargs, loc in cases:
        r = getattr(client, method)(path, headers=who.headers if who else {}, **kwargs)
        d = detail(r)
        assert d["loc"] == loc, (path, d)
        assert d["type"] in ("control_character", "not_identifier"), (path, d)
        assert d["msg"].startswith(f"{loc[-1]}:"), d
    d = detail(client.get("/api/v1/audit", headers={**staff.headers, "Accept-Language": "fr"},
                          params={"action": bad}))
    assert d["msg"] == f"action : le caractère de contrôle U+{ord(char):04X} (position 1) n'est pas accepté dans un texte."


def test_an_ics_keeps_its_line_breaks_and_tabs(client, people):
    staff = people.create("staff")
    ics = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:a@t\r\n"
           f"DTSTART:20260611T080000Z\r\nDTEND:20260611T090000Z\r\nSUMMARY:Travaux\r\n\tsuite\r\nLOCATION:{ROOM}\r\n"
           "END:VEVENT\r\nEND:VCALENDAR\r\n")
    r = client.post("/api/v1/closures/import", headers=staff.headers, json={"ics": ics, "source": "t"})
    assert r.status_code == 200, r.text
    assert r.json()["periods"] == 1
    d = detail(client.post("/api/v1/closures/import", headers=staff.headers,
                           json={"ics": ics.replace("Travaux", "Trav\x00aux"), "source": "t"}))
    assert d["loc"] == ["body", "ics"] and d["type"] == "control_character"


# -- no values in the logs -------------------------------------------------------------------
def test_a_failed_statement_logs_no_values_and_answers_a_plain_500(app, client, people, caplog):
    """A unique violation whose values are a secret: on PostgreSQL the server's DETAIL line
    quotes them, and SQLAlchemy would print the parameters; neither reaches a log or the client."""
    secret = "argon2-hash-of-a-secret-0123456789"

    def duplicate(session: SessionDep):
        for _ in range(2):
            session.execute(text("INSERT INTO members (email, name, role, status, password_hash, created_at) "
                                 "VALUES (:email, 'x', 'member', 'active', :hash, :now)"),
                            {"email": secret + "@x.test", "hash": secret, "now": datetime.now(UTC)})
        raise HTTPException(500, "unreachable: the second insert fails")

    app.add_api_route("/test/duplicate", duplicate, methods=["POST"])
    caplog.set_level(logging.DEBUG)
    r = client.post("/test/duplicate")
    assert r.status_code == 500 and r.json() == {"detail": "database error"}
    assert "IntegrityError" in caplog.text or "UniqueViolation" in caplog.text, caplog.text
    assert secret not in caplog.text and secret not in r.text
    # and the engine itself hides parameters, whoever logs its exceptions
    with pytest.raises(Exception) as info, app.state.runtime.db.engine.begin() as conn:
        conn.execute(text("INSERT INTO members (id, email, name, role, status, created_at) "
                          "VALUES (1, :email, 'x', 'member', 'active', :now)"), {"email": secret, "now": datetime.now(UTC)})
    assert secret not in str(info.value)
    assert "parameters hidden" in str(info.value)


@pytest.mark.parametrize("number", ["1e400", "-1e400", "NaN", "Infinity", "[1e400]", '{"a": -Infinity}'])
def test_a_number_json_cannot_hold_is_a_422_not_a_500(client, people, number):
    """Python's JSON reader makes 1e400 an infinity and takes the NaN / Infinity literals;
    the 422 that echoes the input must still be JSON (it used to fail to serialise: 500)."""
    member = people.create()
    staff = people.create("staff")
    for path, who, body, field in [
        ("/api/v1/bookings", member, f'{{"space": "{ROOM}", "duration_minutes": {number}}}', "duration_minutes"),
        ("/api/v1/bookings/preview", member, f'{{"space": "{ROOM}", "start": "{at(11)}", "end": "{at(12)}", '
                                             f'"attendees": {number}}}', "attendees"),
        ("/api/v1/members", staff, f'{{"email": "x@y.test", "name": {number}}}', "name"),
    ]:
        r = client.post(path, headers={**who.headers, "Content-Type": "application/json"}, content=body)
        d = detail(r)
        assert d["loc"] == ["body", field], d
        assert "input" not in d or isinstance(d["input"], (str, list, dict)), d
