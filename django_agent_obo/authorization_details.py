"""Rich authorization requests (RFC 9396): parse, check, narrow and describe ``authorization_details``.

The public API, used by the authorization endpoint, the token endpoint (codes, refresh, token
exchange), the backchannel endpoint and the resource toolkit:

* :func:`parse` ``(raw, *, agent) -> list[dict]``: the parameter's JSON text, checked against the
  types the site declares and the types the agent may be given; raises
  :class:`AuthorizationDetailsRefused` (OAuth error ``invalid_authorization_details``, §5).
* :func:`narrow` ``(parent, requested) -> list[dict]``: what a derived token may carry; refuses
  anything not inside ``parent`` (§6.1, RFC 8693 exchange, refresh).
* :func:`covers` ``(approved, detail) -> bool``: is ``detail`` inside one approved object (what a
  resource server asks, and what :func:`narrow` asks of each requested object).
* :func:`describe` ``(details) -> list[str]``: each object in words, for people (consent pages).
* :func:`types_supported` ``() -> list[str]``: for ``authorization_details_types_supported`` (§10).

Sites declare each type in ``AGENT_OBO["AUTHORIZATION_DETAILS_TYPES"]`` as
``{"type_name": "dotted.path.to.DetailType subclass"}``. A :class:`DetailType` validates an object
(``validate``: the validator, which must refuse unknown members, §5), says it in words
(``describe``, or a ``template``), and decides containment (``contains``) when the generic rule
does not fit (e.g. date ranges).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from django.template.loader import render_to_string
from django.utils.module_loading import import_string

from .conf import agent_obo_settings
from .refusals import DelegationRefused

ERROR = "invalid_authorization_details"  # RFC 9396 §5
MAX_BYTES = 8192  # the parameter's JSON text
MAX_DEPTH = 6  # nesting of arrays and objects, the top-level array counting as 1
MAX_DETAILS = 16  # objects in the array
MAX_STRING = 1000  # characters of any one string (keys included)


class AuthorizationDetailsRefused(DelegationRefused):
    """``authorization_details`` we will not accept (RFC 9396 §5): ``error`` is always
    ``invalid_authorization_details``; ``reason`` the audit reason; ``description`` readable.

    A :class:`~django_agent_obo.refusals.DelegationRefused`, so the authorization endpoint
    redirects with it (and ``state``) as with its other refusals.
    """

    def __init__(self, reason: str, description: str) -> None:
        super().__init__(ERROR, reason, description)


class InvalidDetail(ValueError):
    """Raised by :meth:`DetailType.validate` with a readable message."""


class DetailType:
    """One declared ``type`` of authorization details. Subclass it and declare it by path.

    * :meth:`validate` (required): check one object and return it normalised; raise
      :class:`InvalidDetail` with a readable message. Refuse members you do not know (§5).
    * :meth:`describe`: the object in words; by default renders :attr:`template` (context
      ``detail``) when set, else lists the members.
    * :meth:`contains`: whether ``requested`` asks for nothing beyond ``approved`` (both of
      this type, both validated); the default is the generic rule of :func:`generic_contains`.
    """

    template: str | None = None

    def __init__(self, name: str) -> None:
        self.name = name

    def validate(self, detail: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__}.validate")

    def describe(self, detail: Mapping[str, Any]) -> str:
        if self.template:
            return render_to_string(self.template, {"detail": detail, "type": self.name}).strip()
        members = ", ".join(f"{key}: {_words(value)}" for key, value in detail.items() if key != "type")
        return f"{self.name} ({members})" if members else self.name

    def contains(self, approved: Mapping[str, Any], requested: Mapping[str, Any]) -> bool:
        return generic_contains(approved, requested)


def _words(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_words(item) for item in value)
    return str(value)


def generic_contains(approved: Mapping[str, Any], requested: Mapping[str, Any]) -> bool:
    """The default containment rule: every member ``approved`` restricts is restricted at least
    as much in ``requested`` — an array to a subset of its values, anything else to an equal
    value. A member ``requested`` leaves out is unrestricted, hence wider (RFC 9396 §2).
    """
    if approved.get("type") != requested.get("type"):
        return False
    for key, allowed in approved.items():
        if key == "type":
            continue
        if key not in requested:
            return False
        asked = requested[key]
        if isinstance(allowed, list):
            if not isinstance(asked, list) or any(item not in allowed for item in asked):
                return False
        elif asked != allowed:
            return False
    return True


# --- the registry ----------------------------------------------------------------------------


def declared_types() -> dict[str, DetailType]:
    """``{type name: DetailType instance}`` from ``AUTHORIZATION_DETAILS_TYPES``."""
    found: dict[str, DetailType] = {}
    for name, spec in (agent_obo_settings.AUTHORIZATION_DETAILS_TYPES or {}).items():
        cls = import_string(spec) if isinstance(spec, str) else spec
        found[str(name)] = cls(str(name))
    return found


def types_supported() -> list[str]:
    """The declared type names, for ``authorization_details_types_supported`` (RFC 9396 §10)."""
    return sorted(declared_types())


# --- parse -------------------------------------------------------------------------------------


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members: dict[str, Any] = {}
    for key, value in pairs:
        if key in members:  # two parsers could read `{"type": "a", "type": "b"}` differently
            raise ValueError(f"duplicate member {key!r}")
        members[key] = value
    return members


def _check_shape(value: Any, depth: int) -> None:
    """Bounded nesting; every string (keys too) short, without NUL, encodable as UTF-8
    (PostgreSQL refuses ``\\u0000`` in ``jsonb``; a lone surrogate cannot be stored)."""
    if depth > MAX_DEPTH:
        raise AuthorizationDetailsRefused(
            "authorization_details_too_deep", "authorization_details is nested too deeply."
        )
    strings: Iterable[Any] = ()
    if isinstance(value, dict):
        strings = value.keys()
        for item in value.values():
            _check_shape(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_shape(item, depth + 1)
    elif isinstance(value, str):
        strings = (value,)
    for text in strings:
        if len(text) > MAX_STRING or "\x00" in text:
            raise AuthorizationDetailsRefused(
                "authorization_details_malformed", "authorization_details holds an unacceptable string."
            )
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise AuthorizationDetailsRefused(
                "authorization_details_malformed", "authorization_details holds an unacceptable string."
            ) from None


def load(raw: str) -> list[Any]:
    """The JSON array of ``raw``, within the size, nesting and string limits (no type checks)."""
    if len(raw) > MAX_BYTES:
        raise AuthorizationDetailsRefused(
            "authorization_details_too_large", f"authorization_details is longer than {MAX_BYTES} bytes."
        )
    try:
        value = json.loads(raw, object_pairs_hook=_object, parse_constant=_no_constants)
    except RecursionError:
        raise AuthorizationDetailsRefused(
            "authorization_details_too_deep", "authorization_details is nested too deeply."
        ) from None
    except ValueError:
        raise AuthorizationDetailsRefused(
            "authorization_details_malformed", "authorization_details is not valid JSON."
        ) from None
    if not isinstance(value, list):
        raise AuthorizationDetailsRefused(
            "authorization_details_malformed", "authorization_details must be a JSON array of objects."
        )
    _check_shape(value, 1)
    return value


def check(details: list[Any], *, agent: Any = None) -> list[dict[str, Any]]:
    """Each object validated by its declared type, and allowed for ``agent`` (None: no agent).

    Returns the normalised objects; raises :class:`AuthorizationDetailsRefused`.
    """
    if len(details) > MAX_DETAILS:
        raise AuthorizationDetailsRefused(
            "authorization_details_too_large", f"authorization_details holds more than {MAX_DETAILS} objects."
        )
    registry = declared_types()
    allowed = agent.authorization_details_type_set if agent is not None else None
    result = []
    for index, detail in enumerate(details):
        if not isinstance(detail, dict) or not isinstance(detail.get("type"), str):
            raise AuthorizationDetailsRefused(
                "authorization_details_malformed",
                f"authorization_details[{index}] must be an object with a string type.",
            )
        name = detail["type"]
        detail_type = registry.get(name)
        if detail_type is None:
            raise AuthorizationDetailsRefused(
                "authorization_details_unknown_type",
                f"authorization_details[{index}]: unknown type {name[:100]!r}.",
            )
        if allowed and name not in allowed:
            raise AuthorizationDetailsRefused(
                "authorization_details_type_not_allowed",
                f"authorization_details[{index}]: the agent may not be granted type {name!r}.",
            )
        try:
            normalised = detail_type.validate(dict(detail))
        except InvalidDetail as exc:
            raise AuthorizationDetailsRefused(
                "authorization_details_invalid", f"authorization_details[{index}] ({name}): {exc}"
            ) from None
        result.append({**normalised, "type": name})
    return result


def parse(raw: str | None, *, agent: Any = None) -> list[dict[str, Any]]:
    """The ``authorization_details`` parameter (RFC 9396 §2), checked; ``[]`` when absent.

    ``agent``: the :class:`~django_agent_obo.models.Agent` the details would be granted to
    (limited to its ``authorization_details_types`` when it has any), or None.
    An empty array is refused: it asks for nothing and can only hide a mistake.
    """
    if raw is None or raw == "":
        return []
    details = load(raw)
    if not details:
        raise AuthorizationDetailsRefused(
            "authorization_details_malformed", "authorization_details must not be an empty array."
        )
    return check(details, agent=agent)


# --- narrow, covers, describe -----------------------------------------------------------------


def covers(approved: Iterable[Mapping[str, Any]], detail: Mapping[str, Any]) -> bool:
    """Whether ``detail`` falls inside one of the ``approved`` objects (by its type's ``contains``;
    an undeclared type by :func:`generic_contains`)."""
    registry = declared_types()
    name = detail.get("type")
    rule = registry.get(name) if isinstance(name, str) else None
    for candidate in approved:
        if not isinstance(candidate, Mapping) or candidate.get("type") != name:
            continue
        if rule.contains(candidate, detail) if rule is not None else generic_contains(candidate, detail):
            return True
    return False


def narrow(parent: list[dict[str, Any]], requested: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a token derived from one carrying ``parent`` may carry (RFC 9396 §6.1, §7).

    ``requested`` empty: ``parent``, unchanged. Otherwise every requested object must fall
    inside an object of ``parent``; a parent without details can gain none (the user never
    saw them). Raises :class:`AuthorizationDetailsRefused` (``authorization_details_widened``).
    """
    if not requested:
        return list(parent)
    if not parent:
        raise AuthorizationDetailsRefused(
            "authorization_details_widened",
            "No authorization_details were approved for this grant; none can be added.",
        )
    for index, detail in enumerate(requested):
        if not covers(parent, detail):
            raise AuthorizationDetailsRefused(
                "authorization_details_widened",
                f"authorization_details[{index}] asks for more than was approved.",
            )
    return list(requested)


def describe(details: Iterable[Mapping[str, Any]]) -> list[str]:
    """Each object in words, by its declared type (an undeclared one: its members listed)."""
    registry = declared_types()
    words = []
    for detail in details:
        name = str(detail.get("type", ""))
        words.append((registry.get(name) or DetailType(name)).describe(detail))
    return words
