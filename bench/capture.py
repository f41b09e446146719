"""Browser capture and the signed manifest, in-process server time:

* ``POST /api/captures/`` with a ~1 MB PNG screenshot and a ~300 KB HTML page (both hashed, decoded,
  stored), next to ``POST /api/evidence/`` with a note as the baseline, same run;
* the evidence page with its custody INSERT, next to the same page's reads alone (the custody
  write's share of a view);
* ``GET /api/cases/{id}/manifest/`` for a case with BENCH_EVIDENCE items (two files each) and
  BENCH_CUSTODY custody events, and ``manage.py verify_manifest`` on it with every file.

    python -m bench capture                                    # SQLite, in a temp dir
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x python -m bench capture

With a PostgreSQL DATABASE_URL the benchmark creates its own scratch database (BENCH_DB, default
``bench_capture``) and drops it at the end (BENCH_KEEP_DB=1 keeps it). Targets: a capture p95 under
500 ms; a manifest of 2,000 items under 5 s.

Environment: BENCH_ROUNDS (20), BENCH_EVIDENCE (2,000), BENCH_CUSTODY (20,000).
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import statistics
import sys
import time
from pathlib import Path

from bench.review_screen import env_int, percentile
from bench.scratch import scratch_django

TARGET_CAPTURE_P95_MS = 500
TARGET_MANIFEST_S = 5.0


def main() -> None:
    with scratch_django("bench_capture") as workdir:
        ok = run(
            workdir=workdir,
            rounds=env_int("BENCH_ROUNDS", 20),
            evidence=env_int("BENCH_EVIDENCE", 2_000),
            custody=env_int("BENCH_CUSTODY", 20_000),
        )
    if not ok:
        sys.exit(1)


def _png(size: int, seed: int) -> bytes:
    """A noisy PNG of roughly ``size`` bytes (noise does not compress, like a real screenshot)."""
    from PIL import Image

    side = int((size / 3) ** 0.5)
    rng = random.Random(seed)
    image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def _html(size: int) -> bytes:
    row = b"<p>Energy prices: the truth they hide from you. <a href='https://x.com/a'>@a</a></p>\n"
    return (
        b"<!doctype html><html><head><title>t</title></head><body>"
        + row * (size // len(row))
        + b"</body></html>"
    )


def _ms(samples: list[float]) -> str:
    return (
        f"p50 {statistics.median(samples):7.1f} ms   p95 {percentile(samples, 0.95):7.1f} ms   "
        f"(n={len(samples)})"
    )


def run(*, workdir: Path, rounds: int, evidence: int, custody: int) -> bool:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test.utils import override_settings

    call_command("migrate", verbosity=0)
    static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    with override_settings(STORAGES={**settings.STORAGES, "staticfiles": static}):
        return measure(workdir=workdir, rounds=rounds, evidence=evidence, custody=custody)


def measure(*, workdir: Path, rounds: int, evidence: int, custody: int) -> bool:
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone
    from rest_framework.test import APIClient

    from cases.models import CustodyEvent, Evidence, EvidenceFile, Membership, Role, Team
    from cases.services.cases import create_case
    from cases.services.custody import record_custody_event
    from cases.services.tokens import create_token

    team = Team.objects.create(slug="bench", name="Bench")
    user = get_user_model().objects.create_user("bench")
    Membership.objects.create(team=team, user=user, role=Role.LEAD)
    case = create_case(team=team, title="Capture bench", created_by=user)
    _, secret = create_token(user=user, name="bench")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    print(f"{connection.vendor}")

    shots = [_png(1_000_000, n) for n in range(rounds + 2)]
    page = _html(300_000)
    page_sha = hashlib.sha256(page).hexdigest()

    def capture(n: int) -> float:
        shot = shots[n]
        body = {
            "case": case.pk,
            "url": f"https://x.com/AtlantaOnline/status/{n}",
            "title": "Atlanta Online",
            "persona": "sock-puppet-7",
            "screenshot": SimpleUploadedFile("s.png", shot),
            "screenshot_sha256": hashlib.sha256(shot).hexdigest(),
            "page": SimpleUploadedFile("p.html", page),
            "page_sha256": page_sha,
        }
        started = time.perf_counter()
        response = api.post("/api/captures/", body, format="multipart")
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 201, response.content
        return elapsed

    def note(n: int) -> float:
        started = time.perf_counter()
        response = api.post(
            "/api/evidence/", {"case": case.pk, "kind": "note", "captured_text": f"note {n}"}, format="json"
        )
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 201, response.content
        return elapsed

    for n in range(2):
        capture(rounds + n)
        note(rounds + n)
    capture_ms = [capture(n) for n in range(rounds)]
    note_ms = [note(n) for n in range(rounds)]
    print(f"  baseline: POST /api/evidence/ (note)              {_ms(note_ms)}")
    print(f"  POST /api/captures/ (1 MB PNG + 300 KB HTML)      {_ms(capture_ms)}")
    print(f"  ratio capture / note (p50): {statistics.median(capture_ms) / statistics.median(note_ms):.1f}x")

    # A view of the evidence page, and the same page's custody write alone.
    browser = Client()
    browser.force_login(user)
    item = Evidence.objects.filter(kind="page_capture").first()
    view_ms, write_ms = [], []
    for _ in range(rounds + 2):
        started = time.perf_counter()
        assert browser.get(f"/evidence/{item.pk}/").status_code == 200
        view_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        record_custody_event(evidence=item, action="viewed", user=user)
        write_ms.append((time.perf_counter() - started) * 1000)
    print(f"  evidence page (reads + one custody INSERT)        {_ms(view_ms[2:])}")
    print(f"  the custody INSERT alone                          {_ms(write_ms[2:])}")

    # A big case: bulk rows (the services would take minutes; the manifest only reads them).
    started = time.perf_counter()
    big = create_case(team=team, title="Big manifest", created_by=user)
    now = timezone.now()
    items = Evidence.objects.bulk_create(
        [
            Evidence(
                case=big,
                kind="screenshot",
                url=f"https://x.com/a/status/{n}",
                captured_by=user,
                captured_at=now,
                capture_method="extension",
                content_sha256="0" * 64,
            )
            for n in range(evidence)
        ],
        batch_size=2000,
    )
    # Small artefacts (10 KB PNG, 20 KB page) so verifying reads 30 KB per item, not 1.3 MB.
    small_shot, small_page = _png(10_000, 99), _html(20_000)
    small = api.post(
        "/api/captures/",
        {
            "case": big.pk,
            "url": "https://x.com/a",
            "screenshot": SimpleUploadedFile("s.png", small_shot),
            "screenshot_sha256": hashlib.sha256(small_shot).hexdigest(),
            "page": SimpleUploadedFile("p.html", small_page),
            "page_sha256": hashlib.sha256(small_page).hexdigest(),
        },
        format="multipart",
    )
    assert small.status_code == 201, small.content
    source = EvidenceFile.objects.filter(evidence_id=small.json()["evidence"][0]["id"]).order_by("pk")
    files = []
    for ev in items:
        for f in source:
            files.append(
                EvidenceFile(
                    evidence=ev,
                    role=f.role,
                    file=f.file.name,
                    content_type=f.content_type,
                    size=f.size,
                    sha256=f.sha256,
                    phash=f.phash,
                )
            )
    EvidenceFile.objects.bulk_create(files, batch_size=5000)
    rng = random.Random(7)
    CustodyEvent.objects.bulk_create(
        [
            CustodyEvent(evidence=rng.choice(items), action=rng.choice(["viewed", "downloaded"]), user=user)
            for _ in range(custody)
        ],
        batch_size=5000,
    )
    print(
        f"  big case: {evidence:,} items, {len(files):,} files, {custody:,} custody events; "
        f"built in {time.perf_counter() - started:.1f} s"
    )
    started = time.perf_counter()
    response = api.get(f"/api/cases/{big.pk}/manifest/")
    manifest_s = time.perf_counter() - started
    assert response.status_code == 200
    manifest_path = workdir / "manifest.json"
    manifest_path.write_bytes(response.content)
    print(
        f"  GET manifest: {manifest_s:.2f} s, {len(response.content) / 1e6:.1f} MB "
        f"(target < {TARGET_MANIFEST_S:.0f} s; includes {evidence:,} export events written)"
    )
    folder = workdir / "artefacts"
    folder.mkdir()
    for artefact in response.json()["manifest"]["artefacts"]:
        target = folder / artefact["name"]
        if not target.exists():
            with EvidenceFile.objects.get(pk=artefact["file"]).file.open("rb") as handle:
                target.write_bytes(handle.read())
    started = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        call_command("verify_manifest", str(manifest_path), files=str(folder), stdout=quiet)
    print(
        f"  verify_manifest with --files: {time.perf_counter() - started:.2f} s "
        f"({len(response.json()['manifest']['artefacts']):,} artefacts hashed)"
    )
    ok = percentile(capture_ms, 0.95) < TARGET_CAPTURE_P95_MS and manifest_s < TARGET_MANIFEST_S
    print("  OK" if ok else "  MISSED a target")
    return ok
