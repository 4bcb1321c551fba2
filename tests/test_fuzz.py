"""Property tests: hostile input to the token endpoint and the actor-token parser is always a
4xx with an OAuth error — never a 500, never an unhandled exception."""

import base64
import json

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_agent_obo.actors import ActorTokenError, verify_actor_token
from tests.conftest import ISSUER, TOKEN_URL

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
OAUTH_ERRORS = {
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_target",
    "too_many_requests",
    "unsupported_token_type",
}
PARAMS = [
    "grant_type",
    "code",
    "code_verifier",
    "redirect_uri",
    "scope",
    "actor_token",
    "actor_token_type",
    "refresh_token",
    "resource",
    "client_id",
    "subject_token",
    "subject_token_type",
    "audience",
]
GRANTS = [
    "authorization_code",
    "client_credentials",
    "refresh_token",
    "password",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "urn:x:unknown",
    "",
]


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def nested_act_payload(depth: int, actor: str = "agent:x") -> bytes:
    """A claims set whose ``act`` nests ``depth`` levels (built as text: json.dumps would recurse)."""
    act = '{"sub":"a","act":' * depth + '{"sub":"leaf"}' + "}" * depth
    return f'{{"iss":"{actor}","sub":"{actor}","act":{act}}}'.encode()


# NUL and the other control characters, alone or inside ordinary text: the input PostgreSQL
# cannot store (NUL) or OAuth never allows; every test here runs on SQLite and PostgreSQL.
controls = st.sampled_from([chr(c) for c in (*range(0x20), 0x7F)])
hostile_text = st.builds(lambda a, c, b: a + c + b, st.text(max_size=20), controls, st.text(max_size=20))
texts = (
    st.text(max_size=300)
    | st.binary(max_size=300).map(lambda b: b.decode("latin-1"))
    | hostile_text
    | st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=10)
)
jwt_like = st.builds(
    lambda h, p, s: f"{h}.{p}.{s}",
    st.one_of(
        texts.map(lambda t: b64(t.encode())),
        st.just(b64(b'{"alg":"ES256","kid":"x"}')),
        st.just(b64(b'{"alg":"none"}')),
        st.just(b64(b'{"alg":"RS256","alg":"none"}')),
    ),
    st.one_of(
        texts.map(lambda t: b64(t.encode())),
        st.just(b64(nested_act_payload(1000))),
        st.just(b64(nested_act_payload(300))),
        st.just(b64(b'{"iss":"' + ISSUER.encode() + b'","iss":"agent:x"}')),
    ),
    texts.map(lambda t: b64(t.encode())),
)


@pytest.mark.django_db
@FUZZ
@given(
    data=st.dictionaries(st.sampled_from(PARAMS), st.one_of(texts, jwt_like), max_size=8),
    grant=st.sampled_from(GRANTS),
    use_agent=st.booleans(),
)
def test_token_endpoint_answers_hostile_parameters_with_an_oauth_error(agent, data, grant, use_agent):
    data["grant_type"] = grant
    headers = agent.app.basic() if use_agent else {}
    response = Client().post(TOKEN_URL, data, **headers)
    if response.status_code == 200:  # a legitimate client_credentials request may succeed
        assert grant == "client_credentials" and use_agent
        return
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:200])
    assert json.loads(response.content)["error"] in OAUTH_ERRORS


@pytest.mark.django_db
@FUZZ
@given(
    token=st.one_of(
        texts, jwt_like, st.binary(max_size=2000).map(lambda b: b64(b) + "." + b64(b) + "." + b64(b))
    )
)
def test_actor_token_parser_only_ever_refuses_cleanly(agent, token):
    with pytest.raises(ActorTokenError):
        verify_actor_token(token, None, ISSUER + "/o/token/")


@pytest.mark.parametrize("depth", [300, 1000, 5000])
def test_deeply_nested_act_in_an_actor_token_is_refused(agent, settings, depth):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "ACTOR_TOKEN_MAX_BYTES": 10**6}
    payload = nested_act_payload(depth, agent.actor_id)
    token = b64(b'{"alg":"ES256","kid":"k"}') + "." + b64(payload) + "." + b64(b"sig")
    with pytest.raises(ActorTokenError):
        verify_actor_token(token, None, ISSUER)


API = "/api/whoami/"
header_values = st.one_of(
    texts.map(lambda t: "Bearer " + t),
    jwt_like.map(lambda t: "Bearer " + t),
    texts,
    st.just("Bearer"),
    st.just("Bearer " + "A" * 20000),
    st.just("Basic dXNlcjpwYXNz"),
)


@pytest.mark.django_db
@FUZZ
@given(value=header_values)
def test_resource_server_answers_any_authorization_header_with_a_challenge(value):
    value = value.replace("\x00", "").replace("\r", "").replace("\n", "")
    response = Client().get(API, HTTP_AUTHORIZATION=value)
    assert response.status_code in (400, 401), (response.status_code, response.content[:200])
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "\n" not in response["WWW-Authenticate"]


def _signed_with_our_key(payload: bytes) -> str:
    """A correctly signed RS256 JWS over ``payload`` (built by hand: the claims may be
    too deep for json.dumps)."""
    from jwt.algorithms import RSAAlgorithm

    from django_agent_obo import keys

    key = keys.signing_key()
    signing_input = (
        b64(json.dumps({"alg": "RS256", "typ": "at+jwt", "kid": key.kid}).encode()) + "." + b64(payload)
    )
    signature = RSAAlgorithm(RSAAlgorithm.SHA256).sign(signing_input.encode(), key.private_key)
    return signing_input + "." + b64(signature)


@pytest.mark.parametrize("depth", [40, 300])
def test_validly_signed_token_with_an_absurd_act_chain_is_refused(client_app, depth):
    import time

    now = int(time.time())
    act = '{"sub":"a","act":' * depth + '{"sub":"leaf"}' + "}" * depth
    payload = (
        f'{{"iss":"{ISSUER}","sub":"1","aud":"{ISSUER}/api/","client_id":"{client_app.client_id}",'
        f'"scope":"calendar.read","iat":{now},"exp":{now + 60},"jti":"deep-{depth}","act":{act}}}'
    ).encode()
    response = Client().get(API, HTTP_AUTHORIZATION="Bearer " + _signed_with_our_key(payload))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


@pytest.mark.parametrize("depth", [1000, 5000])
def test_deeply_nested_header_is_refused(agent, settings, depth):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "ACTOR_TOKEN_MAX_BYTES": 10**6}
    header = b'{"alg":"ES256","x":' + b"[" * depth + b"]" * depth + b"}"
    token = b64(header) + "." + b64(b'{"iss":"x"}') + "." + b64(b"sig")
    with pytest.raises(ActorTokenError):
        verify_actor_token(token, None, ISSUER)


@pytest.mark.django_db
def test_resource_server_refuses_a_deeply_nested_header_with_a_challenge():
    """About 2.7 kB of header: under every server's header limit, past json's recursion limit."""
    header = b'{"alg":"RS256","x":' + b"[" * 1000 + b"]" * 1000 + b"}"
    token = b64(header) + "." + b64(b'{"iss":"x"}') + "." + b64(b"sig")
    response = Client().get(API, HTTP_AUTHORIZATION="Bearer " + token)
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")


credentials = st.tuples(texts, texts).map(
    lambda pair: "Basic " + base64.b64encode(f"{pair[0]}:{pair[1]}".encode()).decode()
)


@pytest.mark.django_db
@FUZZ
@given(
    data=st.dictionaries(st.sampled_from(PARAMS), st.one_of(texts, jwt_like), max_size=6),
    authorization=st.one_of(st.none(), credentials),
)
def test_token_endpoint_answers_hostile_basic_credentials_with_an_oauth_error(agent, data, authorization):
    data.setdefault("grant_type", "client_credentials")
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = Client().post(TOKEN_URL, data, **headers)
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:200])
    assert json.loads(response.content)["error"] in OAUTH_ERRORS


AUTHORIZE_PARAMS = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "requested_actor",
    "resource",
    "nonce",
    "prompt",
]


@pytest.mark.django_db
@FUZZ
@given(overrides=st.dictionaries(st.sampled_from(AUTHORIZE_PARAMS), texts, min_size=1, max_size=5))
def test_authorization_endpoint_answers_hostile_parameters_without_a_500(user, client_app, agent, overrides):
    from urllib.parse import urlencode

    from tests.conftest import AUTHORIZE_URL, authorize_params, logged_in, pkce

    params = {**authorize_params(client_app, pkce()[1], agent.actor_id), **overrides}
    response = logged_in(user).get(AUTHORIZE_URL + "?" + urlencode(params))
    assert response.status_code in (200, 302, 400), (response.status_code, response.content[:200])
    assert b"Traceback" not in response.content


@pytest.mark.django_db
@FUZZ
@given(
    endpoint=st.sampled_from(["/o/introspect/", "/o/revoke_token/"]),
    data=st.dictionaries(
        st.sampled_from(["token", "token_type_hint", "client_id", "client_secret"]), texts, max_size=4
    ),
    authorization=st.one_of(st.none(), credentials),
    use_client=st.booleans(),
)
def test_introspection_and_revocation_answer_hostile_input_without_a_500(
    client_app, endpoint, data, authorization, use_client
):
    headers = client_app.basic() if use_client else {}
    if authorization:
        headers = {"HTTP_AUTHORIZATION": authorization}
    response = Client().post(endpoint, data, **headers)
    assert response.status_code in (200, 400, 401, 403), (response.status_code, response.content[:200])
    if response.status_code == 400:
        assert json.loads(response.content)["error"] in OAUTH_ERRORS
