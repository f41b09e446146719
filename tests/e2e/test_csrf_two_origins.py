"""Cross-site request forgery in a real browser, from a real second origin.

The victim is signed in to the app (the live server). An attacker's page, served by a small
http.server on another port, auto-submits a form and sends a ``fetch(..., {credentials:
"include"})`` to the token page, which would mint an API token for the victim. Nothing may change.

Two attacker origins, because they test different things:

* same site (the app's host name, another port): cookies ignore ports, so the browser sends the
  victim's session cookie and the attacker's script can even read the CSRF cookie and put it in
  the form. Only Django's Origin check stands in the way: the test proves it does.
* cross site (``localhost`` against ``127.0.0.1``): the SameSite=Lax session cookie is not sent
  either, and the CSRF check refuses the request before it matters.

Each ends with a control: the same victim, in the same browser, creates a token through the app's
own form, so the refusals cannot come from a session that never worked.
"""

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from cases.models import ApiToken, AuditEvent
from tests.e2e.conftest import VIEWPORT
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser]

TARGET = "/settings/tokens/"

FORM_ATTACK = """<!doctype html><title>Win a prize</title>
<form id="f" method="post" action="{app}{target}">
  <input name="name" value="forged-by-form"><input name="lifetime" value="">
  <input name="csrfmiddlewaretoken" id="t" value="">
</form>
<script>
  // Cookies ignore ports: on the app's host name this page can read the CSRF cookie.
  const stolen = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
  document.getElementById("t").value = stolen ? stolen.split("=")[1] : "guess";
  document.getElementById("f").submit();
</script>"""

FETCH_ATTACK = """<!doctype html><title>Loading</title>
<script>
  const stolen = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
  const body = new URLSearchParams({{
    name: "forged-by-fetch", lifetime: "",
    csrfmiddlewaretoken: stolen ? stolen.split("=")[1] : "guess",
  }});
  window.outcome = fetch("{app}{target}", {{method: "POST", credentials: "include", body}})
    .then((response) => "read " + response.status, (error) => "blocked: " + error.name);
</script>"""


class AttackerSite:
    """A second origin on this machine: one http.server serving the attack pages."""

    def __init__(self, host: str, pages: dict[str, str]):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = pages.get(self.path, "").encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://{host}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def victim(transactional_db):
    return UserFactory(username="victim")


@pytest.fixture
def victim_browser(browser, live_server, victim):
    """A browser context in which the victim is signed in and has opened the app once (so the
    CSRF cookie is set too), and every POST the browser sends to the app is recorded with the
    headers it really sent (cookies included)."""
    client = Client()
    client.force_login(victim)
    context = browser.new_context(viewport=VIEWPORT)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
                "httpOnly": True,
                "sameSite": "Lax",
            }
        ]
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(live_server.url + TARGET)
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    posts = []
    context.on(
        "request",
        lambda request: (
            request.method == "POST" and request.url.startswith(live_server.url) and posts.append(request)
        ),
    )
    yield page, posts
    context.close()


def other_host(live_server_url: str, same_site: bool) -> str:
    host = urlsplit(live_server_url).hostname
    if same_site:
        return host
    return "127.0.0.1" if host == "localhost" else "localhost"


@pytest.mark.parametrize("same_site", [True, False], ids=["same-site-other-port", "cross-site"])
def test_a_page_on_another_origin_cannot_make_the_signed_in_victim_write(
    victim_browser, live_server, victim, same_site, caplog
):
    caplog.set_level(logging.WARNING, logger="django.security.csrf")
    page, posts = victim_browser
    app = live_server.url
    attacker = AttackerSite(
        other_host(app, same_site),
        {
            "/form.html": FORM_ATTACK.format(app=app, target=TARGET),
            "/fetch.html": FETCH_ATTACK.format(app=app, target=TARGET),
        },
    )
    events = AuditEvent.objects.count()
    try:
        assert attacker.origin != app  # another port, so another origin
        with page.expect_response(lambda r: r.request.method == "POST" and r.url == app + TARGET) as sent:
            page.goto(attacker.origin + "/form.html")
        assert sent.value.status == 403
        expect(page.locator("body")).to_contain_text("CSRF verification failed")

        page.goto(attacker.origin + "/fetch.html")
        outcome = page.evaluate("window.outcome")
        assert outcome == "blocked: TypeError", outcome  # no CORS: the script may not even read it
    finally:
        attacker.close()

    # The server refused both for their origin (the fetch's 403 the browser then kept from the script).
    refusals = [r.getMessage() for r in caplog.records if r.name == "django.security.csrf"]
    assert len(posts) == 2 and len(refusals) == 2, refusals
    assert all(f"Origin checking failed - {attacker.origin} " in refusal for refusal in refusals)
    form_post = posts[0].all_headers()  # as sent, cookies included (a blocked fetch has no such record)
    assert form_post["origin"] == attacker.origin
    assert form_post["sec-fetch-site"] == ("same-site" if same_site else "cross-site")
    # Same site: the browser did send the victim's session; only the CSRF check refused it.
    assert (settings.SESSION_COOKIE_NAME + "=" in form_post.get("cookie", "")) is same_site
    assert not ApiToken.objects.filter(user=victim).exists()
    assert AuditEvent.objects.count() == events

    # The control: the victim's own form on the app's own page works in this very browser.
    page.goto(app + TARGET)
    page.get_by_label("Name").fill("my-laptop")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_text("my-laptop").first).to_be_visible()
    assert list(ApiToken.objects.filter(user=victim).values_list("name", flat=True)) == ["my-laptop"]
