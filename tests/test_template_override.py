"""A site overrides our templates one by one, the ordinary Django way (docs/templates.md)."""

from urllib.parse import urlencode

from tests.conftest import (
    AUTHORIZE_URL,
    authorize_params,
    hidden_fields,
    logged_in,
    pkce,
    redirect_params,
)

SITE_CONSENT = """{% extends "django_agent_obo/base.html" %}
{% block title %}Example Corp sign-off{% endblock %}
{% block content %}
<h1 id="site-consent">Let {{ agent.name }} ({{ agent.actor_id }}) work for you
  through {{ application.name }}?</h1>
<ul>{% for scope, words in scope_items %}<li data-scope="{{ scope }}">{{ words }}</li>{% endfor %}</ul>
<form method="post">{% csrf_token %}
  {% for field in form %}{% if field.is_hidden %}{{ field }}{% endif %}{% endfor %}
  {% if show_duration %}{{ form.duration }}{% endif %}
  <button type="submit" name="allow" value="Authorize">Yes</button>
</form>
{% endblock %}
"""


def override_consent(settings, tmp_path):
    folder = tmp_path / "django_agent_obo"
    folder.mkdir()
    (folder / "consent.html").write_text(SITE_CONSENT)
    engine = dict(settings.TEMPLATES[0])
    engine["DIRS"] = [tmp_path, *engine.get("DIRS", [])]
    settings.TEMPLATES = [engine, *settings.TEMPLATES[1:]]


def test_overridden_consent_template_is_rendered_with_the_documented_context(
    settings, tmp_path, user, client_app, agent
):
    override_consent(settings, tmp_path)
    _, challenge = pkce()
    page = logged_in(user).get(
        AUTHORIZE_URL + "?" + urlencode(authorize_params(client_app, challenge, agent.actor_id))
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "<title>Example Corp sign-off</title>" in html  # the site's block in our base.html
    assert 'id="site-consent">Let Calendar Assistant (agent:calendar-assistant)' in html
    assert 'data-scope="calendar.read">Read your calendar events</li>' in html
    assert "Allow an AI agent to act for you?" not in html  # our own consent.html is not used


def test_overridden_consent_form_still_grants_a_bound_code(settings, tmp_path, user, client_app, agent):
    override_consent(settings, tmp_path)
    browser = logged_in(user)
    _, challenge = pkce()
    params = authorize_params(client_app, challenge, agent.actor_id)
    page = browser.get(AUTHORIZE_URL + "?" + urlencode(params))
    assert 'id="site-consent"' in page.content.decode()
    form = hidden_fields(page.content.decode())
    answer = browser.post(AUTHORIZE_URL, {**form, "allow": "Authorize"})
    values = redirect_params(answer)
    assert values["state"] == params["state"] and values["code"]
