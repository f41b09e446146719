"""The hostile corpus (tests/fixtures/hostile/) and the ways into the app, shared by
tests/security/test_hostile_corpus.py (what is stored and served) and
tests/e2e/test_hostile_corpus_pages.py (what the browser makes of it).

Every payload that could run sets ``window.__pwned`` or calls ``alert``: the browser test looks
for both. ``seed_through_every_path`` puts the corpus in through every interface a moderator,
a script or the extension has — bundle and indicator uploads on the import page, the REST API,
the HTML forms, the capture endpoint — and returns what it made, for the pages to be opened.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image
from rest_framework.test import APIClient

from cases.services.tokens import create_token

HOSTILE = Path(__file__).resolve().parents[1] / "fixtures" / "hostile"
# The project's page policy, as settings.CONTENT_SECURITY_POLICY sets it. Files carry a stricter
# one of their own (``sandbox; default-src 'none'``).
PAGE_CSP_PARTS = ("default-src 'self'", "script-src 'self'", "object-src 'none'", "base-uri 'none'")


@cache
def corpus() -> dict[str, Any]:
    return json.loads((HOSTILE / "corpus.json").read_text(encoding="ascii"))


def fixture_bytes(name: str) -> bytes:
    return (HOSTILE / name).read_bytes()


def markup() -> dict[str, str]:
    return corpus()["markup"]


def blob() -> str:
    """Every markup payload in one text: what a bio, a post or a captured page holds."""
    return " ".join(markup().values())


def one_mb_line() -> str:
    """One line of at least 1 MiB (UTF-8) of markup and RTL overrides, no line break."""
    spec = corpus()["one_mb_line"]
    unit = spec["unit"]
    repeat = spec["bytes"] // len(unit.encode()) + 1
    return unit * repeat


def long_file_name(suffix: str = ".png") -> str:
    return "A" * corpus()["file_names"]["long_stem_chars"] + suffix


def invalid_utf8_file_name() -> bytes:
    return bytes.fromhex(corpus()["file_names"]["invalid_utf8_hex"])


def png_bytes(colour=(40, 90, 200), size=(48, 32)) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, colour)
    for x in range(0, size[0], 6):
        for y in range(size[1]):
            image.putpixel((x, y), (250, 250, 250))
    image.save(out, format="PNG")
    return out.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_strict_csp(header: str) -> bool:
    """The page policy, or the stricter sandbox every served file carries. Neither allows inline
    or remote script."""
    if not header or "'unsafe-eval'" in header:
        return False
    directives = {part.strip().split(" ", 1)[0]: part.strip() for part in header.split(";") if part.strip()}
    if "sandbox" in directives and directives.get("default-src") == "default-src 'none'":
        return "script-src" not in directives
    return all(part in header for part in PAGE_CSP_PARTS) and "'unsafe-inline'" not in directives.get(
        "script-src", ""
    )


def raw_multipart(fields: dict[str, str], files: list[tuple[str, bytes, bytes]]) -> tuple[bytes, str]:
    """A multipart body built by hand, so a file name can be bytes that are not UTF-8 (a test
    client would encode a str). ``files``: (field, file name as raw bytes, content)."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, file_name, content in files:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="'.encode()
            + file_name
            + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def api_client(user) -> APIClient:
    _, secret = create_token(user=user, name=f"hostile-{uuid.uuid4().hex[:6]}")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


# --- seeding through every path ------------------------------------------------------------------


@dataclass
class Seeded:
    """What ``seed_through_every_path`` made; ids, so a browser test can open their pages."""

    team: Any
    case: Any  # the case made over the API, with everything on it
    indicator_case: Any = None
    accounts: list[Any] = field(default_factory=list)
    evidence: list[int] = field(default_factory=list)
    jobs: list[int] = field(default_factory=list)
    queue_id: int | None = None
    capture_ids: list[int] = field(default_factory=list)


def _ok(response, *statuses):
    assert response.status_code in (statuses or (200, 201, 202)), (
        response.status_code,
        response.content[:500],
    )
    return response


def seed_api(*, team, moderator, lead) -> Seeded:
    """Accounts, posts, a media brand, a case, evidence, a queue, labels and an actor, all over the
    REST API with a token, every text field full of markup."""
    m, bidi, homo, urls = markup(), corpus()["bidi"], corpus()["homoglyphs"], corpus()["urls"]
    api, lead_api = api_client(moderator), api_client(lead)
    account = _ok(
        api.post(
            "/api/accounts/",
            {
                "team": team.pk,
                "platform": "x",
                "handle": homo["mixed"],
                "display_name": f"{m['img_onerror']} {bidi['rtl_override_text']}",
                "bio": blob(),
                "external_id": m["script"][:100],
                "language": "en",
                "profile_url": urls["http_no_space"],
            },
            format="json",
        )
    ).json()
    real = _ok(
        api.post(
            "/api/accounts/",
            {"team": team.pk, "platform": "x", "handle": homo["real"] + "API", "bio": m["css_close_style"]},
            format="json",
        )
    ).json()
    post = _ok(
        api.post(
            "/api/posts/",
            {
                "account": account["id"],
                "text": f"{blob()}\n{bidi['rtl_override_text']}",
                "url": urls["http_no_space"],
                "links": [urls["javascript"], urls["data_html"], "https://evil.example/<script>"],
                "posted_at": "2026-02-01T10:00:00Z",
            },
            format="json",
        )
    ).json()
    _ok(
        api.post(
            "/api/media-brands/",
            {
                "team": team.pk,
                "name": f"Brand {m['script']}"[:300],
                "impersonates": m["img_onerror"],
                "description": blob(),
                "domains": ["bild[.]pics", "xn--bid-8ta.example"],
                "accounts": [{"account": account["id"], "role": "runs"}],
            },
            format="json",
        )
    ).json()
    case = _ok(
        lead_api.post(
            "/api/cases/",
            {
                "team": team.pk,
                "title": f"Case {m['script']} {m['img_onerror']}"[:300],
                "summary": f"{m['css_close_style']}\n{m['htmx_attrs']}\n{bidi['rtl_override_text']}",
                "lead": lead.pk,
            },
            format="json",
        )
    ).json()
    for account_id in (account["id"], real["id"]):
        _ok(
            lead_api.post(
                f"/api/cases/{case['id']}/accounts/",
                {"account": account_id, "reason": m["autofocus_onfocus"]},
                format="json",
            )
        )
    evidence = [
        _ok(
            api.post(
                "/api/evidence/",
                {
                    "case": case["id"],
                    "kind": "note",
                    "account": account["id"],
                    "title": m["svg_onload"],
                    "captured_text": one_mb_line(),
                },
                format="json",
            )
        ).json()["id"],
        _ok(
            api.post(
                "/api/evidence/",
                {
                    "case": case["id"],
                    "kind": "repost",
                    "account": account["id"],
                    "post": post["id"],
                    "captured_text": f"Copy {m['script']} words",
                    "source_text": f"Source {m['img_onerror']} words",
                    "source_url": urls["http_no_space"],
                    "source_author": m["attribute_breakout"],
                },
                format="json",
            )
        ).json()["id"],
        _ok(
            api.post(
                "/api/evidence/",
                {
                    "case": str(case["id"]),
                    "kind": "screenshot",
                    "account": str(account["id"]),
                    "title": m["css_expression"],
                    "file": upload(corpus()["file_names"]["script"], fixture_bytes("polyglot.png")),
                },
                format="multipart",
            )
        ).json()["id"],
        _ok(
            api.post(
                "/api/evidence/",
                {
                    "case": str(case["id"]),
                    "kind": "page_capture",
                    "url": "https://evil.example/page",
                    "file": upload(long_file_name(".html"), blob().encode()),
                },
                format="multipart",
            )
        ).json()["id"],
    ]
    _ok(
        lead_api.post(
            "/api/actors/",
            {"team": team.pk, "name": f"Actor {m['script']}"[:200], "aliases": [m["img_onerror"]]},
            format="json",
        )
    )
    queue = _ok(
        lead_api.post(
            "/api/queues/",
            {"case": case["id"], "name": f"Queue {m['script']}"[:200], "labels_per_item": 2},
            format="json",
        )
    ).json()
    _ok(
        lead_api.put(
            f"/api/cases/{case['id']}/labels/{account['id']}/",
            {"verdict": "inauthentic", "note": blob()},
            format="json",
        )
    )
    from cases.models import Account, Case

    return Seeded(
        team=team,
        case=Case.objects.get(pk=case["id"]),
        accounts=list(Account.objects.filter(pk__in=[account["id"], real["id"]]).order_by("pk")),
        evidence=evidence,
        queue_id=queue["id"],
    )


def seed_capture(*, seeded: Seeded, moderator) -> None:
    """The extension's capture endpoint: a page capture and a repost, each with both files."""
    m = markup()
    api = api_client(moderator)
    shot, page = fixture_bytes("polyglot.png"), (blob() + "\n").encode() + b"\xff\xfe invalid utf-8"
    page_html = b"<!doctype html><html><body>" + page + b"</body></html>"
    for body in (
        {
            "action": "page",
            "url": "https://x.com/AtlantaOnline/status/1",
            "title": m["script_breakout"],
            "selection": f"{m['img_onerror']} {corpus()['bidi']['rtl_override_text']}",
            "persona": m["attribute_breakout"],
            "user_agent": m["svg_onload"],
        },
        {
            "action": "repost",
            "url": "https://x.com/AtlantaOnline/status/2",
            "title": m["autofocus_onfocus"],
            "selection": f"Copied {m['script']} words",
            "source_url": corpus()["urls"]["http_no_space"],
            "source_text": f"Source {m['svg_onload']} words",
            "source_author": m["single_quote_breakout"],
        },
    ):
        response = _ok(
            api.post(
                "/api/captures/",
                {
                    "case": seeded.case.pk,
                    "method": "extension",
                    "captured_at": "2026-11-28T10:00:00Z",
                    "screenshot": upload(corpus()["bidi"]["rtl_override_filename"] + ".png", shot),
                    "screenshot_sha256": sha256(shot),
                    "page": upload(m["script"] + ".html", page_html),
                    "page_sha256": sha256(page_html),
                    **body,
                },
                format="multipart",
            ),
            201,
        )
        seeded.capture_ids.extend(item["id"] for item in response.json()["evidence"])


def seed_forms(*, seeded: Seeded, moderator, lead) -> None:
    """The HTML forms: evidence (a note, a link, a screenshot with a hostile name), a vote."""
    m = markup()
    client = page_client(moderator)
    case = seeded.case
    handle = seeded.accounts[0].handle
    for data in (
        {"kind": "note", "account": handle, "title": m["details_ontoggle"], "captured_text": blob()},
        {"kind": "link", "title": m["script"], "url": corpus()["urls"]["http_no_space"]},
        {
            "kind": "screenshot",
            "title": m["mathml"],
            "screenshot_file": upload(corpus()["bidi"]["rtl_override_filename"] + ".png", png_bytes()),
        },
    ):
        response = client.post(f"/cases/{case.pk}/evidence/new/", data)
        assert response.status_code == 302, response.context["evidence_form"].errors
    from cases.models import Actor

    actor = Actor.objects.filter(team=seeded.team).first()
    _ok(
        page_client(lead).post(
            f"/cases/{case.pk}/vote/", {"actor": actor.pk, "confidence": "high", "rationale": blob()}
        ),
        200,
        302,
    )
    seeded.evidence = list(case.evidence.order_by("pk").values_list("pk", flat=True))


def start_imports(*, seeded: Seeded, moderator) -> None:
    """The import page: both bundles and the hostile indicator file, each a job."""
    client = page_client(moderator)
    for kind, name in (
        ("bundle", "bundle-bad-lines.jsonl"),
        ("bundle", "bundle-bad-lines.csv"),
        ("indicators", "indicators-hostile.csv"),
    ):
        response = _ok(
            client.post(
                "/imports/",
                {
                    "team": seeded.team.slug,
                    "kind": kind,
                    "files": upload(f"{markup()['img_onerror']}{name}", fixture_bytes(name)),
                },
            ),
            302,
        )
        seeded.jobs.append(int(response["Location"].rstrip("/").rsplit("/", 1)[1]))
