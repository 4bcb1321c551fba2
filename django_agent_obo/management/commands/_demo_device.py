"""The demo's chapter "a device without a browser": the device grant with an actor (RFC 8628,
draft -02 §4; docs/device-flow.md)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from oauth2_provider.models import get_application_model

from ...actors import TOKEN_TYPE_ACCESS_TOKEN
from ...models import Agent
from ...resource import validate_access_token
from ._demo_async import wait_out
from ._demo_browser import forms_of
from ._demo_common import DEMO_ACTOR_ID, DEMO_SCOPE, DEMO_USERNAME, expect, json_of, truncated

DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
DEMO_DEVICE_CLIENT_ID = "demo-tv-client"


class DeviceChapter:
    """Steps run by ``obo_demo`` after the CIBA chapter; they reuse its clients and helpers."""

    app: Any
    browser: Any
    actor_token_value: str
    token: str
    say: Callable[[str], None]
    show: Callable[[str, Any], None]

    def device_seed(self) -> None:
        """A public client (it keeps no secret, RFC 8628 §3.1) on which the demo agent runs."""

        Application = get_application_model()
        with transaction.atomic():
            client, _ = Application.objects.get_or_create(client_id=DEMO_DEVICE_CLIENT_ID)
            client.name = "Demo TV Client"
            client.client_type = Application.CLIENT_PUBLIC
            client.authorization_grant_type = Application.GRANT_DEVICE_CODE
            client.redirect_uris = ""
            client.save()
            Agent.objects.get(actor_id=DEMO_ACTOR_ID).allowed_clients.add(client)
        self.show("device client", f"{DEMO_DEVICE_CLIENT_ID} (public, grant type {DEVICE_CODE})")
        self.show("agent", f"{DEMO_ACTOR_ID}, allowed on {DEMO_DEVICE_CLIENT_ID}")

    def device_request(self) -> None:

        response = self.app.post_form(
            "/o/device-authorization/",
            {"client_id": DEMO_DEVICE_CLIENT_ID, "scope": DEMO_SCOPE, "requested_actor": DEMO_ACTOR_ID},
        )
        body = json_of(response)
        expect(
            response.status_code == 200, f"/o/device-authorization/ answered {response.status_code}: {body}"
        )
        self.device_code, self.user_code = str(body["device_code"]), str(body["user_code"])
        self.device_interval = int(body["interval"])
        self.say(
            f"POST /o/device-authorization/ client_id={DEMO_DEVICE_CLIENT_ID} requested_actor={DEMO_ACTOR_ID}"
        )
        self.show("answer (device_code truncated)", {**body, "device_code": truncated(self.device_code)})
        self.show("the device shows", f"Open {body['verification_uri']} and enter {self.user_code}")

    def _device_poll(self) -> Any:
        response = self.app.post_form(
            "/o/token/",
            {
                "grant_type": DEVICE_CODE,
                "client_id": DEMO_DEVICE_CLIENT_ID,
                "device_code": self.device_code,
                "actor_token": self.actor_token_value,
                "actor_token_type": TOKEN_TYPE_ACCESS_TOKEN,
            },
        )
        self.device_polled_at = time.monotonic()
        return response

    def device_pending(self) -> None:

        response = self._device_poll()
        body = json_of(response)
        expect(
            response.status_code == 400 and body.get("error") == "authorization_pending",
            f"the first poll answered {response.status_code}: {body}",
        )
        self.show("poll before the user answers", body)

    def device_enter_code(self) -> None:

        page = self.browser.get("/o/device/")
        forms = [form for form in forms_of(page.content.decode()) if "user_code" in form.fields]
        expect(page.status_code == 200, f"/o/device/ answered {page.status_code} (is the browser signed in?)")
        expect(len(forms) == 1, "no code form on /o/device/")
        answer = self.browser.submit(forms[0], "/o/device/", user_code=self.user_code)
        expect(answer.status_code == 302, f"entering the code answered {answer.status_code}")
        self.confirm_url = str(answer["Location"])
        self.show("signed in as", f"{DEMO_USERNAME} (the browser of the steps above)")
        self.show("entered", f"{self.user_code} at /o/device/, redirected to {self.confirm_url}")

    def device_confirm(self) -> None:

        page = self.browser.get(self.confirm_url)
        html = page.content.decode()
        expect(page.status_code == 200, f"the confirmation page answered {page.status_code}")
        expect(
            DEMO_ACTOR_ID in html and "Demo Calendar Assistant" in html and "Demo TV Client" in html,
            "the confirmation page does not name the agent and the device client",
        )
        expect(self.user_code in html, "the confirmation page does not show the code to compare")
        forms = [
            form for form in forms_of(html) if form.method == "post" and "csrfmiddlewaretoken" in form.fields
        ]
        expect(len(forms) == 1, "no confirmation form on the page")
        self.show(
            "the page names the agent",
            f"Demo Calendar Assistant ({DEMO_ACTOR_ID}), Example Agents Inc., through Demo TV Client",
        )
        self.show("the page shows the code to compare", self.user_code)
        answer = self.browser.submit(forms[0], self.confirm_url, allow="Authorize")
        expect(answer.status_code == 302, f"allowing answered {answer.status_code}")
        done = self.browser.get(answer["Location"])
        expect(b"Device connected" in done.content, "the answer page does not say the device is connected")
        self.show("the user allowed; the answer page", f"{answer['Location']}: Device connected")

    def device_token(self) -> None:

        wait_out(self.device_interval, self.device_polled_at, self.say)
        response = self._device_poll()
        body = json_of(response)
        expect(
            response.status_code == 200, f"the poll after approval answered {response.status_code}: {body}"
        )
        expect("refresh_token" not in body, "the device got a refresh token")
        self.token = str(body["access_token"])
        info = validate_access_token(self.token)
        user = get_user_model()._default_manager.get(username=DEMO_USERNAME)
        expect(info.user.pk == user.pk, f"sub {info.sub} is not the demo user")
        expect(info.client_id == DEMO_DEVICE_CLIENT_ID, f"client_id is {info.client_id}")
        expect(info.actor_chain == (DEMO_ACTOR_ID,), f"act is {info.claims.get('act')}")
        self.show("token response", {k: v for k, v in body.items() if k != "access_token"})
        self.show("claims", {k: info.claims[k] for k in ("sub", "client_id", "act", "scope")})
        again = json_of(self._device_poll())
        expect(again.get("error") in ("invalid_grant", "slow_down"), f"a second poll answered {again}")
        self.show("a second poll", again)
