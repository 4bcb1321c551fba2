"""Every place this package relies on DOT below its public API, in one module.

DOT has no public hook for these, so each is a thin override or call of a private method of
``OAuth2Validator`` (or of DOT's request handling); ``tests/test_dot_adapter.py`` fails loudly
when DOT's behaviour under one of them changes:

* the :class:`~django_agent_obo.issuance.Issuance` reaches oauthlib's request because DOT's
  ``OAuthLibCore.extract_headers`` copies the Django request's ``META`` into the headers;
* the token's record is written where DOT stores its rows (``_save_bearer_token`` calls
  ``_create_access_token``, then ``_create_refresh_token`` for the same access token), in
  the view's transaction rather than DOT's savepoint;
* RFC 8707 ``resource`` of a code is narrowed to the Grant claimed once, not read again
  (``_check_and_set_request_resource`` reads the Grant only for ``authorization_code``);
* Basic credentials and the client row are read with DOT's own helpers
  (``_extract_basic_auth``, ``_load_application``); a Client ID Metadata Document is resolved
  there in a savepoint, checked as registration metadata, and backed off as DOT does
  (``cimd._backoff_cache_key``) when refused.

And what DOT 3.4.1's device flow needs to run with oauthlib 4.0.1 (NOTES-DOT §14; RFC 8628):

1. ``DeviceAuthorizationView`` builds ``DeviceCodeResponse(**answer)`` from oauthlib's answer,
   which also carries ``scope``: a ``TypeError`` (500) on every request.
   :func:`rfc8628_answer` keeps the RFC 8628 §3.2 members DOT's dataclass knows.
2. DOT passes ``OAUTH_DEVICE_VERIFICATION_URI`` (``None`` unless set) as the ``verification_uri``
   the answer MUST carry (§3.2): :func:`device_server_kwargs` fills in this site's ``/o/device/``.
3. The token request: oauthlib's ``DeviceCodeGrant`` calls a ``validate_device_code`` DOT's
   validator lacks, after DOT's pre-token hook ``set_oauthlib_user_to_device_request_user``,
   which reads the row with ``.get()`` (an unknown ``device_code`` is a 500). Our server replaces
   that grant (``oauth/device.py``), so neither runs.
4. DOT never marks a ``DeviceGrant`` used (an approved code would redeem again): the claim is
   ``DeviceAuthorization.redeemed_at`` (:func:`django_agent_obo.device.claim`).
5. DOT's ``TokenView.post`` answers device codes itself before oauthlib (a 404 for an unknown
   code, a 500 without one, no ``slow_down``, no single use); ``AgentTokenView`` calls DOT's
   ``authorization_flow_token_response`` for every grant, so device codes reach our grant too.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.core.cache import cache
from django.db import router, transaction
from django.db.transaction import TransactionManagementError
from django.http import HttpRequest
from django.urls import reverse
from oauth2_provider import cimd
from oauth2_provider.models import DeviceCodeResponse, get_access_token_model, get_application_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749 import errors

from .. import issuance
from ..registration import metadata_problem
from ..tokens import issuer
from .errors import refuse

RFC8628_FIELDS = frozenset(field.name for field in dataclasses.fields(DeviceCodeResponse))


def attach(request: HttpRequest, current: issuance.Issuance) -> None:
    """Hand ``current`` to oauthlib with ``request`` (it arrives in ``request.headers``)."""
    request.META[issuance.ENVIRON_KEY] = current


def attached(request: HttpRequest) -> issuance.Issuance | None:
    """What :func:`attach` handed over with ``request``."""
    found = request.META.get(issuance.ENVIRON_KEY)
    return found if isinstance(found, issuance.Issuance) else None


class _RefusedDocument(Exception):
    """A metadata document's client, stored by DOT, that our registration checks refuse."""


def _document_problem(client: Any) -> str | None:
    """:func:`~django_agent_obo.registration.metadata_problem` of what DOT stored from a
    metadata document (RFC 7591 names; DOT keeps one grant type)."""
    if client.registration_source != client.RegistrationSource.CIMD:
        return None
    grant = {client.GRANT_AUTHORIZATION_CODE: "authorization_code"}.get(
        client.authorization_grant_type, client.authorization_grant_type
    )
    return metadata_problem(
        {"client_name": client.name, "redirect_uris": client.redirect_uris.split(), "grant_types": [grant]}
    )


class DOTAdapter(OAuth2Validator):
    """The private parts of DOT's validator this package builds on (see the module)."""

    # --- reading the client ----------------------------------------------------------------

    def basic_credentials_sent(self, request: Any) -> bool:
        return bool(self._extract_basic_auth(request))

    def load_client(self, client_id: str, request: Any) -> Any:
        return self._load_application(client_id, request)

    def _load_application(self, client_id: str, request: Any) -> Any:
        """DOT's, with a Client ID Metadata Document resolved in a savepoint: a document whose
        row the database refuses (DOT catches the error, the transaction stays broken) or whose
        metadata our registration checks refuse is rolled back and names no client."""
        if not cimd.is_cimd_client_id(client_id):
            return super()._load_application(client_id, request)
        try:
            with transaction.atomic(using=router.db_for_write(get_application_model())):
                client = super()._load_application(client_id, request)
                if client is not None and _document_problem(client) is not None:
                    raise _RefusedDocument
        except (_RefusedDocument, TransactionManagementError):
            # TransactionManagementError: DOT caught the database's refusal, then queried again
            # (its backoff in a database cache). Both get DOT's failure backoff.
            cache.set(cimd._backoff_cache_key(client_id), True, oauth2_settings.CIMD_FAILURE_BACKOFF_SECONDS)
            return None
        return client

    # --- storing the token, and recording it with its rows ---------------------------------

    def save_bearer_token(self, token: dict[str, Any], request: Any, *args: Any, **kwargs: Any) -> Any:
        """DOT's, without its savepoint: the token view runs the whole request in one
        transaction, and any failure while saving rolls all of it back."""
        with transaction.atomic(using=router.db_for_write(get_access_token_model()), savepoint=False):
            return self._save_bearer_token(token, request, *args, **kwargs)

    def _create_access_token(
        self, expires: Any, request: Any, token: dict[str, Any], source_refresh_token: Any = None
    ) -> Any:
        current = issuance.of(request)
        if current.signed is not None:
            stop = current.hold()
            if stop is not None:
                refuse(stop, "The delegation has ended.", request, error="invalid_grant")
        access_token = super()._create_access_token(expires, request, token, source_refresh_token)
        current.access_token, current.expires = access_token, expires
        if current.signed is not None and not token.get("refresh_token"):
            self._record(request, current, refresh_token=None)
        return access_token  # with a refresh token DOT creates next, recorded with it

    def _create_refresh_token(
        self, request: Any, refresh_token_code: str, access_token: Any, previous_refresh_token: Any
    ) -> Any:
        refresh_token = super()._create_refresh_token(
            request, refresh_token_code, access_token, previous_refresh_token
        )
        current = issuance.of(request)
        if current.signed is not None and current.access_token is access_token:
            self._record(request, current, refresh_token=refresh_token)
        return refresh_token

    def _record(self, request: Any, current: issuance.Issuance, refresh_token: Any) -> None:
        current.record(
            access_token=current.access_token,
            refresh_token=refresh_token,
            client=request.client,
            user=request.user,
            grant_type=request.grant_type,
        )

    # --- RFC 8707 resource, settled once --------------------------------------------------------

    def _check_and_set_request_resource(self, request: Any) -> None:
        """``resource`` settled once: before signing (by the grants' post-token hooks), not
        again on saving. For a code, DOT's version reads the Grant again to narrow the
        resources to those granted; here its normalisation runs alone and the narrowing uses
        the row claimed once."""
        current = issuance.of(request)
        if current.resource_settled:
            return
        if request.grant_type == "authorization_code" and current.code is not None:
            request.grant_type = None  # DOT narrows to the Grant only for this grant type
            try:
                super()._check_and_set_request_resource(request)
            finally:
                request.grant_type = "authorization_code"
            self._narrow_to_granted(request, current.code.resource or [])
        else:
            super()._check_and_set_request_resource(request)
        current.resource_settled = True

    def _narrow_to_granted(self, request: Any, granted: list[str]) -> None:
        """RFC 8707 §2.2 as DOT applies it to a code: the requested resources must be among
        those granted; when none is requested, the token gets all of those granted."""
        if request.resource and granted:
            for resource in request.resource:
                if resource not in granted:
                    raise errors.CustomOAuth2Error(
                        error="invalid_target",
                        description=f"The requested resource '{resource}' was not granted with this code.",
                        request=request,
                    )
        elif granted:
            self._validate_resource_uris(request, granted)  # rows may predate the check
            request.resource = granted


# --- the device flow (RFC 8628), numbered as in the module docstring ---------------------------


def rfc8628_answer(answer: dict[str, Any]) -> dict[str, Any]:
    """oauthlib's device authorization answer without the members DOT cannot take (1.)."""
    return {name: value for name, value in answer.items() if name in RFC8628_FIELDS}


def device_server_kwargs() -> dict[str, Any]:
    """DOT's server arguments, with this site's verification URIs where none is set (2.)."""
    kwargs = dict(oauth2_settings.server_kwargs)
    if not kwargs.get("verification_uri"):
        kwargs["verification_uri"] = issuer() + reverse("oauth2_provider:device")
        if not kwargs.get("verification_uri_complete"):
            kwargs["verification_uri_complete"] = kwargs["verification_uri"] + "?user_code={user_code}"
    return kwargs
