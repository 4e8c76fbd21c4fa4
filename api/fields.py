"""What crosses the API's edge: the input types every router and schema uses, and the
error responses every operation declares.

Input — one rule per kind of value, checked before a handler runs, so no text with a
NUL reaches PostgreSQL and no date beyond 2262 reaches a nanosecond conversion::

    class BookingCreate(BaseModel):
        space: Identifier                       # a site / space / door / node id
        title: Text = Field(default="", max_length=120)
        start: When | None = None               # aware, 2000–2100, returned in UTC

    def read_audit(action: Text | None = Query(default=None, max_length=40),
                   since: When | None = None): ...

Write a parameter with a default as ``Text | None = Query(default=None, …)`` or
``Annotated[Text, Path(…)]``: FastAPI drops the validators of a bare ``Text = Path(…)``
(tests/api/test_input.py looks for that form in every router).

- :data:`Text`: no control characters (C0, DEL, C1) and no lone surrogates;
  :data:`MultilineText` allows tab, line feed and carriage return (an iCalendar file).
  Lengths stay with each field (``Field(max_length=…)`` / ``Query(max_length=…)``).
- :data:`Identifier`: the one identifier rule (:mod:`station.ids`); :data:`Email`;
  :data:`CardNumber`: a badge's number, within what a reader can read.
- :data:`When`: an aware datetime between :data:`EARLIEST` and :data:`LATEST`, normalised
  to UTC; :data:`Day`: a calendar day in the same years. A naive time is refused (whose
  clock would it be?), and the bound is checked before the offset is applied, so
  ``0001-01-01T00:00+05:00`` is a 422, not an ``OverflowError``.

Refusals are 422 in FastAPI's shape; ``detail[0].type`` is ``control_character``,
``not_identifier``, ``not_email``, ``card_number_too_wide``, ``datetime_out_of_range`` or
``date_out_of_range``, and the app's
handler (:func:`api.app.create_app`) writes ``detail[0].msg`` from :mod:`api.messages`
in the request's language, naming the field.

Errors — ``responses=errors(404, 409)`` declares codes a handler raises itself, each with
:class:`ErrorPublic` (``{"detail": "…"}``); :func:`declare_errors` adds, for every
operation of the generated OpenAPI, what it answers before its handler runs — 401/403
where its ``security`` lists the login schemes (any login dependency), 400 and 422 for a
body, 422 for parameters — so a new router only declares what its handlers raise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import FastAPI
from pydantic import AfterValidator, AwareDatetime, BaseModel, Field
from pydantic_core import PydanticCustomError

from station.access import MAX_CARD_NUMBER
from station.ids import IDENT, IDENT_PATTERN

# -- text ---------------------------------------------------------------------------------
#: C0 controls, DEL, C1 controls and lone surrogates (which no UTF-8 database can store).
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
#: The same, less tab, line feed and carriage return.
MULTILINE_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# What the OpenAPI says (ECMA regex; surrogates cannot be written there).
TEXT_PATTERN = r"^[^\x00-\x1F\x7F-\x9F]*$"
MULTILINE_PATTERN = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"


class _Pattern:
    """Shows a rule as the JSON schema's ``pattern`` (the validator enforces it, with a
    clearer message than "should match pattern")."""

    def __init__(self, pattern: str):
        self.pattern = pattern

    def __get_pydantic_json_schema__(self, core_schema, handler):
        schema = handler(core_schema)
        schema["pattern"] = self.pattern
        return schema


def _no_controls(rule: re.Pattern[str]) -> Callable[[str], str]:
    def check(value: str) -> str:
        found = rule.search(value)
        if found is not None:
            raise PydanticCustomError(
                "control_character", "control character {char} at position {position}: not allowed in text",
                {"char": f"U+{ord(found.group()):04X}", "position": found.start()})
        return value
    return check


def _identifier(value: str) -> str:
    if not IDENT.match(value):
        raise PydanticCustomError("not_identifier", "not an identifier: lowercase letters, digits and dashes, "
                                  "1 to 63 characters, starting with a letter or digit", {})
    return value


#: One line of text typed by a person or a client: no control characters.
Text = Annotated[str, AfterValidator(_no_controls(CONTROL)), _Pattern(TEXT_PATTERN)]
#: Text over several lines: tab, line feed and carriage return allowed, no other control.
MultilineText = Annotated[str, AfterValidator(_no_controls(MULTILINE_CONTROL)), _Pattern(MULTILINE_PATTERN)]
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
EMAIL_PATTERN = r"^[^@\s\x00-\x1F\x7F-\x9F]+@[^@\s\x00-\x1F\x7F-\x9F]+$"


def _email(value: str) -> str:
    if not EMAIL.match(value):
        raise PydanticCustomError("not_email", "an e-mail address is expected (name@domain)", {})
    return value


#: An e-mail address as a member types it (controls refused first, then the shape).
Email = Annotated[str, Field(min_length=3, max_length=254), AfterValidator(_no_controls(CONTROL)),
                  AfterValidator(_email), _Pattern(EMAIL_PATTERN)]
#: A site, space, door, machine or node id (``station.ids``).
Identifier = Annotated[str, AfterValidator(_identifier), _Pattern(IDENT_PATTERN), Field(max_length=63)]


def _card_number(value: str) -> str:
    if int(value) > MAX_CARD_NUMBER:
        raise PydanticCustomError("card_number_too_wide", "a card number is at most {most} (the readers take "
                                  "26- and 34-bit Wiegand cards)", {"most": MAX_CARD_NUMBER})
    return value


#: A badge's number as staff type it or a reader reads it: decimal Wiegand data bits,
#: without parity, at most :data:`~station.access.MAX_CARD_NUMBER` (leading zeros are the
#: same card: the hash reads the number).
CardNumber = Annotated[str, Field(pattern=r"^[0-9]{1,10}$"), AfterValidator(_card_number)]

# -- time ---------------------------------------------------------------------------------
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)  # excluded


def _bounded_utc(value: datetime) -> datetime:
    # The year first: converting year 1 or 9999 with an offset would overflow.
    if not EARLIEST.year - 1 <= value.year <= LATEST.year or not EARLIEST <= value.astimezone(UTC) < LATEST:
        raise PydanticCustomError("datetime_out_of_range", "a time between {earliest} and {latest} (UTC) is "
                                  "expected", {"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()})
    return value.astimezone(UTC)


def _bounded_day(value: date) -> date:
    if not EARLIEST.date() <= value < LATEST.date():
        raise PydanticCustomError("date_out_of_range", "a day from {earliest} to before {latest} is expected",
                                  {"earliest": EARLIEST.date().isoformat(), "latest": LATEST.date().isoformat()})
    return value


#: An aware datetime in 2000–2099, normalised to UTC.
When = Annotated[AwareDatetime, AfterValidator(_bounded_utc),
                 Field(description="ISO 8601 with its offset (Z or ±hh:mm), from 2000-01-01 to 2100-01-01 UTC")]
#: A calendar day in 2000–2099.
Day = Annotated[date, AfterValidator(_bounded_day)]

#: The error codes of :data:`Text`, :data:`Identifier`, :data:`When` and :data:`Day`
#: (each has its sentence in :mod:`api.messages`).
INPUT_RULES = ("control_character", "not_identifier", "not_email", "card_number_too_wide", "datetime_out_of_range",
               "date_out_of_range")


# -- errors -------------------------------------------------------------------------------
class ErrorPublic(BaseModel):
    """Every error but a 422: ``{"detail": "what went wrong"}``."""

    detail: str = Field(description="What went wrong, in words")


REASONS = {
    400: "The body is not valid JSON (or not UTF-8)",
    401: "Log in first (Authorization: Bearer <token>), or the token is invalid or expired",
    403: "Not allowed for this account (suspended, or the role does not allow it)",
    404: "No such resource",
    409: "Conflicts with the current state",
    422: "A field or a rule is broken: detail[0].loc names the field, detail[0].type the rule, detail[0].msg "
         "says it in the request's language (Accept-Language: fr or en)",
    429: "Too many attempts: retry after Retry-After seconds",
    503: "A service this needs is unavailable",
}


def errors(*codes: int | tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for an operation: ``errors(404, (409, "Card already enrolled"))``.

    Codes other than 422 answer :class:`ErrorPublic`; a 422 answers FastAPI's validation
    error (declared as such by :func:`declare_errors`)."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        status, description = code if isinstance(code, tuple) else (code, REASONS[code])
        out[status] = {"description": description} if status == 422 else {"description": description,
                                                                            "model": ErrorPublic}
    return out


def implied_errors(operation: Mapping[str, Any], by_security: Mapping[str, Iterable[int]]) -> set[int]:
    """The codes an OpenAPI operation can answer whatever its handler does: those of its
    security schemes (``by_security``: the login dependencies), 400 and 422 for a body,
    422 for parameters."""
    codes = {code for requirement in operation.get("security", ()) for scheme in requirement
             for code in by_security.get(scheme, ())}
    if "requestBody" in operation:
        codes |= {400, 422}
    if operation.get("parameters"):
        codes.add(422)
    return codes


HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
VALIDATION_REF = {"$ref": "#/components/schemas/HTTPValidationError"}
ERROR_REF = {"$ref": "#/components/schemas/ErrorPublic"}


def declare_errors(app: FastAPI, by_security: Mapping[str, Iterable[int]]) -> None:
    """Make ``app``'s OpenAPI declare, for every operation, the codes of
    :func:`implied_errors`, and give every error a body schema (:class:`ErrorPublic`, or
    FastAPI's HTTPValidationError for 422) — FastAPI's documented way of extending the
    schema (``app.openapi`` replaced), working from the generated schema only."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if getattr(app.state, "errors_declared", False):
            return app.openapi_schema
        schema = build()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault("ErrorPublic", ErrorPublic.model_json_schema(ref_template="#/components/schemas/{model}"))
        if "HTTPValidationError" not in components:
            from fastapi.openapi.utils import validation_error_definition, validation_error_response_definition
            components["ValidationError"] = validation_error_definition
            components["HTTPValidationError"] = validation_error_response_definition
        for path in schema.get("paths", {}).values():
            for method, operation in path.items():
                if method not in HTTP_METHODS:
                    continue
                responses = operation.setdefault("responses", {})
                for code in sorted(implied_errors(operation, by_security)):
                    responses.setdefault(str(code), {"description": REASONS[code]})
                for code, response in responses.items():
                    if code[0] in "45" and "content" not in response:
                        ref = VALIDATION_REF if code == "422" else ERROR_REF
                        response["content"] = {"application/json": {"schema": ref}}
        app.state.errors_declared = True
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
