"""The plumbing of ``obo_demo``: an in-process HTTP client that keeps cookies, enforces
CSRF like a browser session would, and reads forms out of real HTML pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpResponse
from django.http.request import validate_host
from django.test import Client


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class FormReader(HTMLParser):
    """Collects each ``<form>`` with the values a browser would submit (inputs and the
    selected option of each ``<select>``; buttons are left to the caller)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._select: str | None = None
        self._first_option: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(values.get("action", ""), values.get("method", "get").lower()))
        elif not self.forms:
            return
        elif tag == "input" and values.get("name") and values.get("type", "text") not in ("submit", "button"):
            self.forms[-1].fields[values["name"]] = values.get("value", "")
        elif tag == "select" and values.get("name"):
            self._select, self._first_option = values["name"], None
        elif tag == "option" and self._select is not None:
            value = values.get("value", "")
            if self._first_option is None:
                self._first_option = value
                self.forms[-1].fields.setdefault(self._select, value)
            if "selected" in values:
                self.forms[-1].fields[self._select] = value

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def forms_of(html: str) -> list[Form]:
    reader = FormReader()
    reader.feed(html)
    return reader.forms


class Browser:
    """Django's test client addressed at the issuer's host, with browser-style CSRF checks."""

    def __init__(self, issuer: str) -> None:
        parts = urlsplit(issuer)
        host = parts.netloc if validate_host(parts.hostname or "", settings.ALLOWED_HOSTS) else "testserver"
        self.secure = parts.scheme == "https"
        self.origin = f"{parts.scheme}://{host}"
        self.client = Client(enforce_csrf_checks=True, HTTP_HOST=host)

    def local(self, url: str) -> str:
        """The path and query of a URL of this site."""
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def get(self, url: str, **headers: Any) -> HttpResponse:
        response: Any = self.client.get(self.local(url), secure=self.secure, **headers)
        return response

    def post(self, url: str, data: Any = None, **extra: Any) -> HttpResponse:
        response: Any = self.client.post(self.local(url), data, secure=self.secure, **extra)
        return response

    def post_form(self, url: str, data: dict[str, str], **extra: Any) -> HttpResponse:
        """Post as an OAuth client does: ``application/x-www-form-urlencoded`` (RFC 8628 §3.1)."""
        return self.post(url, urlencode(data), content_type="application/x-www-form-urlencoded", **extra)

    def submit(self, form: Form, page_url: str, **extra_fields: str) -> HttpResponse:
        """Post ``form`` as a browser would (an empty action means the page's own URL)."""
        return self.post(form.action or page_url, {**form.fields, **extra_fields})
