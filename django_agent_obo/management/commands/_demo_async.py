"""The demo's chapter "the agent asks while the user is away" (OpenID CIBA, poll mode)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ...actors import TOKEN_TYPE_ACCESS_TOKEN
from ...resource import validate_access_token
from ._demo_browser import forms_of
from ._demo_common import DEMO_ACTOR_ID, DEMO_CLIENT_ID, DEMO_USERNAME, basic, expect, json_of

CIBA = "urn:openid:params:grant-type:ciba"


def wait_out(interval: int, polled_at: float, say: Callable[[str], None]) -> None:
    """Sleep until ``interval`` seconds have passed since the last poll (CIBA §7.3, RFC 8628
    §3.5: polling sooner is ``slow_down``)."""
    wait = interval - (time.monotonic() - polled_at)
    if wait > 0:
        say(f"waiting {wait:.1f} s: the interval the server asked for")
        time.sleep(wait)


class AsyncApprovalChapter:
    """Steps run by ``obo_demo`` after the consent story; they reuse its clients and helpers."""

    app: Any
    browser: Any
    client_secret: str
    actor_token_value: str

    def _basic(self) -> dict[str, str]:

        return basic(DEMO_CLIENT_ID, self.client_secret)

    def _poll(self) -> Any:
        response = self.app.post(
            "/o/token/",
            {
                "grant_type": CIBA,
                "auth_req_id": self.auth_req_id,
                "actor_token": self.actor_token_value,
                "actor_token_type": TOKEN_TYPE_ACCESS_TOKEN,
            },
            **self._basic(),
        )
        self.polled_at = time.monotonic()  # the server counts from its own stamp, set before this
        return response

    def async_request(self) -> None:

        response = self.app.post(
            "/o/bc-authorize/",
            {
                "login_hint": DEMO_USERNAME,
                "scope": "calendar.read",
                "binding_message": "Read the calendar for the 03:00 trip",
                "requested_actor": DEMO_ACTOR_ID,
            },
            **self._basic(),
        )
        body = json_of(response)
        expect(response.status_code == 200, f"/o/bc-authorize/ answered {response.status_code}: {body}")
        self.auth_req_id = str(body["auth_req_id"])
        self.interval = int(body["interval"])
        self.say("POST /o/bc-authorize/ login_hint=demo requested_actor=" + DEMO_ACTOR_ID)  # type: ignore[attr-defined]
        self.show("answer", {"expires_in": body["expires_in"], "interval": body["interval"]})  # type: ignore[attr-defined]

    def async_pending(self) -> None:

        response = self._poll()
        body = json_of(response)
        expect(body.get("error") == "authorization_pending", f"the first poll answered {body}")
        self.show("poll before the user answers", body)  # type: ignore[attr-defined]

    def async_approve(self) -> None:
        page = self.browser.get("/agents/requests/")
        html = page.content.decode()
        expect(page.status_code == 200, f"/agents/requests/ answered {page.status_code}")
        expect("Read the calendar for the 03:00 trip" in html, "the page does not show the binding message")
        forms = [f for f in forms_of(html) if f.method == "post" and "/agents/requests/" in f.action]
        expect(len(forms) >= 1, "no answer form on /agents/requests/")
        answer = self.browser.submit(forms[0], "/agents/requests/", allow="yes")
        expect(answer.status_code == 302, f"approving answered {answer.status_code}")
        self.show("the user approved at", "/agents/requests/ (the page names the agent and the message)")  # type: ignore[attr-defined]

    def async_token(self) -> None:

        wait_out(self.interval, self.polled_at, self.say)  # type: ignore[attr-defined]
        response = self._poll()
        body = json_of(response)
        expect(response.status_code == 200, f"the poll after approval answered {body}")
        info = validate_access_token(str(body["access_token"]))
        expect(info.actor_chain == (DEMO_ACTOR_ID,), f"act is {info.claims.get('act')}")
        self.show("claims", {k: info.claims[k] for k in ("sub", "client_id", "act", "scope")})  # type: ignore[attr-defined]
        again = json_of(self._poll())
        expect(again.get("error") in ("invalid_grant", "slow_down"), f"a second poll answered {again}")
        self.show("a second poll", again)  # type: ignore[attr-defined]
