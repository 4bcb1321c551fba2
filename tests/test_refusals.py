"""One vocabulary of refusals and audit events (#13): every reason and event declared once, the
docs list exactly those, the code uses no other, and the self-service page says them in the
declared words."""

from __future__ import annotations

import ast
import logging
import re
from pathlib import Path

import pytest

from django_agent_obo import audit, refusals
from django_agent_obo.actors import ActorTokenError
from django_agent_obo.adapter import DelegationRefused
from django_agent_obo.agent_documents import AgentDocumentError
from django_agent_obo.backchannel import PollRefused
from django_agent_obo.client_assertions import ClientAssertionError
from django_agent_obo.dpop import ProofError
from django_agent_obo.models import AuditEvent, Event
from django_agent_obo.resource.policy import Denied
from django_agent_obo.resource.revocation import TokenNotUsable
from django_agent_obo.selfservice import words
from tests.conftest import undeclared

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PACKAGE = ROOT / "django_agent_obo"

ROW = re.compile(r"^\| `([a-z0-9_]+)` \| (?:`([a-z0-9_]+)`|—) \| ([^|]+) \|$", re.M)
ENDING = re.compile(r"^\| `([a-z0-9_]+)` \| ([^|]+) \|$", re.M)


def documented_reasons() -> dict[str, tuple[str | None, str]]:
    rows = ROW.findall((DOCS / "refusals.md").read_text())
    assert len(rows) == len({reason for reason, _, _ in rows}), "a reason is listed twice"
    return {reason: (error or None, description.strip()) for reason, error, description in rows}


def test_the_docs_list_every_declared_reason_with_its_error_and_words():
    declared = {r.reason: (r.error, r.description) for r in refusals.REASONS.values()}
    documented = documented_reasons()
    assert sorted(set(declared) - set(documented)) == [], "declared, not in docs/refusals.md"
    assert sorted(set(documented) - set(declared)) == [], "in docs/refusals.md, not declared"
    assert {r: v for r, v in documented.items() if declared[r] != v} == {}


def test_the_docs_list_every_revocation_cause_with_its_words():
    text = (DOCS / "refusals.md").read_text().split("## Why access ended")[1]
    assert {cause: said.strip() for cause, said in ENDING.findall(text)} == dict(refusals.ENDINGS)


def test_the_reasons_page_is_linked_from_the_audit_page_and_the_index():
    assert "(refusals.md)" in (DOCS / "audit-and-compliance.md").read_text()
    assert "(refusals.md)" in (DOCS / "index.md").read_text()


def test_every_event_is_declared_once_and_documented():
    table = (DOCS / "audit-and-compliance.md").read_text().split("## What is recorded")[1].split("\n\n")[1]
    documented = {
        name
        for first in re.findall(r"^\| ([^|]+) \|", table, re.M)
        for name in re.findall(r"`([a-z]+\.[a-z]+)`", first)
    }
    assert documented == set(Event.values)
    assert len(set(Event.labels)) == len(Event.labels)


def _name(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


# Where a refusal's reason goes in each call that takes one positionally.
REASON_ARGUMENT = {
    "Refusal": 0,
    "ActorTokenError": 0,
    "ClientAssertionError": 0,
    "ProofError": 0,
    "TokenError": 0,
    "DPoPTokenError": 0,
    "TokenNotUsable": 0,
    "AgentDocumentError": 0,
    "AuthorizationDetailsRefused": 0,
    "_audit_denied": 0,
    "refuse": 0,
    "PollRefused": 1,
    "Refused": 1,
    "DelegationRefused": 1,
    "Denied": 1,
}


def reason_literals() -> set[tuple[str, str]]:
    """String literals the package writes as a reason: ``reason=`` arguments, the reason
    argument of the refusal classes and helpers, assignments to ``reason``/``.reason``, and
    what ``unusable_reason``/``dead_reason``/``_reason`` return."""
    found: set[tuple[str, str]] = set()

    def add(node: ast.AST | None, where: str) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value:
            found.add((node.value, where))

    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        where = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "reason":
                        add(keyword.value, where)
                index = REASON_ARGUMENT.get(_name(node.func))
                if index is not None and len(node.args) > index:
                    add(node.args[index], where)
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(_name(t) == "reason" for t in targets):
                    add(node.value, where)
                if any(
                    isinstance(t, ast.Tuple) and any(_name(e) == "reason" for e in t.elts) for t in targets
                ):
                    if isinstance(node.value, ast.Tuple):
                        for t in targets:
                            if isinstance(t, ast.Tuple):
                                for target, value in zip(t.elts, node.value.elts, strict=False):
                                    if _name(target) == "reason":
                                        add(value, where)
            elif isinstance(node, ast.FunctionDef) and node.name in (
                "unusable_reason",
                "dead_reason",
                "_reason",
            ):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Return):
                        add(inner.value, where)
    return found


def test_every_reason_literal_in_the_code_is_declared():
    found = reason_literals()
    assert len(found) > 100  # the scan sees the code's refusals
    allowed = set(refusals.REASONS) | set(refusals.ENDINGS)
    assert sorted((r, where) for r, where in found if r not in allowed) == []


def test_the_scan_finds_each_kind_of_reason_literal():
    found = {reason for reason, _ in reason_literals()}
    # refuse(), state.note(reason=), an exception class, an assignment, a model's *_reason()
    assert {
        "actor_mismatch",
        "invalid_code",
        "actor_token_replayed",
        "duplicate_parameter",
        "agent_expired",
    } <= found


def test_a_refusal_is_one_base_with_reason_error_and_description():
    for refusal in (
        ActorTokenError("actor_token_replayed", "The actor token has already been used."),
        ClientAssertionError("client_assertion_replayed", "The client assertion has already been used."),
        ProofError("dpop_replayed"),
        PollRefused("invalid_grant", "auth_req_id_used", "Already used."),
        DelegationRefused("invalid_request", "unknown_actor", "Unknown."),
        AgentDocumentError("actor_document_url", "Not a document URL."),
        Denied("access_denied", "agent_forbidden", "AI agents may not call this resource."),
        TokenNotUsable("token_revoked"),
    ):
        assert isinstance(refusal, refusals.Refusal)
        assert refusal.declared is refusals.REASONS[refusal.reason]
        assert isinstance(refusal.error, str) and refusal.error


def test_an_endpoint_may_answer_with_another_error_than_the_declared_one():
    refused = DelegationRefused("invalid_request", "agent_disabled", "The requested actor is not available.")
    assert (refused.error, refusals.get("agent_disabled").error) == ("invalid_request", "invalid_grant")
    assert (
        ProofError("dpop_nonce").error == "use_dpop_nonce"
        and ProofError("dpop_htm").error == "invalid_dpop_proof"
    )


def test_each_reason_is_declared_once():
    assert len(refusals.REASONS) == len(refusals._DECLARED)


def test_the_lookup_gives_the_declared_reason():
    assert refusals.get("actor_mismatch") == refusals.Reason(
        "actor_mismatch", "invalid_grant", "a different agent tried to use your consent"
    )


@pytest.mark.undeclared_reasons
def test_an_undeclared_reason_is_logged_never_refused(user, caplog):
    with caplog.at_level(logging.WARNING, logger="django_agent_obo.refusals"):
        row = audit.record("token.refused", outcome=AuditEvent.FAILURE, reason="brand_new_reason", user=user)
    assert AuditEvent.objects.filter(pk=row.pk, reason="brand_new_reason").exists()
    assert "brand_new_reason" in caplog.text
    assert undeclared([row]) == ["brand_new_reason"]  # what fails the test run (conftest)
    assert refusals.get("brand_new_reason") == refusals.Reason("brand_new_reason", None, refusals.TECHNICAL)
    assert refusals.get("actor_token_brand_new").description == "it could not prove who it is"


def test_an_undeclared_revocation_cause_is_caught_too(user):
    row = AuditEvent(event="token.revoked", detail={"reason": "brand_new_cause"})
    assert undeclared([row]) == ["brand_new_cause"]
    assert undeclared([AuditEvent(event="token.revoked", detail={"reason": "user_revoked"})]) == []


def test_an_undeclared_event_is_refused_by_the_writer():
    with pytest.raises(ValueError, match="Unknown audit event"):
        audit.record("token.invented")


def test_the_self_service_words_are_the_declared_ones():
    assert words.EVENT_WORDS == {event.value: event.label for event in Event}
    assert all(words.reason_words(r) == d.description for r, d in refusals.REASONS.items())
    assert words.REVOKE_REASONS is refusals.ENDINGS


def test_the_admin_filters_by_every_declared_event():
    from django_agent_obo.admin_filters import EventFilter

    lookups = dict(EventFilter.lookups(None, None, None))  # type: ignore[arg-type]
    assert set(lookups) == set(Event.values)


def test_the_agent_timeline_says_each_event_with_its_label(django_user_model, agent):
    from django.urls import reverse

    from tests.fixtures_audit import admin_client

    browser, _ = admin_client(django_user_model)
    audit.record(
        Event.TOKEN_REFUSED, outcome=AuditEvent.FAILURE, reason="grant_expired", actor_chain=[agent.actor_id]
    )
    html = browser.get(
        reverse("admin:django_agent_obo_agent_timeline", args=[agent.model.pk])
    ).content.decode()
    assert '<td title="It was refused a token">token.refused</td>' in html
