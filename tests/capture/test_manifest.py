"""The signed evidence manifest and `manage.py verify_manifest`: it passes on an exported manifest
and its files, and fails when one byte of an artefact or of the manifest changes."""

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client

from cases import signing
from cases.models import Evidence
from cases.services.evidence import retract_evidence
from tests.api.conftest import token_client
from tests.capture.conftest import capture_body, png_bytes, sha

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def exported(case_a, moderator, lead, tmp_path):
    """Two captures (one retracted) exported as a manifest, its files downloaded from the app into a
    folder under their manifest names, and the server's public key saved as PEM."""
    client = token_client(moderator)
    first = client.post("/api/captures/", capture_body(case_a), format="multipart")
    second = client.post(
        "/api/captures/", capture_body(case_a, shot=png_bytes((0, 90, 0))), format="multipart"
    )
    assert first.status_code == second.status_code == 201
    retract_evidence(
        evidence=Evidence.objects.get(pk=second.json()["evidence"][0]["id"]),
        retracted_by=lead,
        reason="Duplicate",
    )
    response = token_client(lead).get(f"/api/cases/{case_a.pk}/manifest/")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="case-{case_a.pk}-manifest.json"'
    manifest_path = tmp_path / "manifest.json"
    manifest_path.write_bytes(response.content)
    files = tmp_path / "files"
    files.mkdir()
    browser = Client()
    browser.force_login(lead)
    for artefact in response.json()["manifest"]["artefacts"]:
        download = browser.get(f"/evidence/files/{artefact['file']}/download/")
        assert download.status_code == 200
        assert artefact["name"] in download["Content-Disposition"]  # the app's download name
        (files / artefact["name"]).write_bytes(b"".join(download.streaming_content))
    key = tmp_path / "key.pem"
    browser_key = browser.get("/settings/signing-key.pem")
    key.write_bytes(browser_key.content)
    return manifest_path, files, key, response.json()


def _verify(manifest_path, files=None, key=None) -> str:
    out = []

    class Out:
        def write(self, text):
            out.append(text)

        def flush(self):
            pass

    options = {"stdout": Out()}
    if files is not None:
        options["files"] = str(files)
    if key is not None:
        options["public_key"] = str(key)
    call_command("verify_manifest", str(manifest_path), **options)
    return "".join(out)


def test_the_manifest_lists_every_artefact_with_its_capture_and_custody(exported, moderator):
    _, _, _, signed = exported
    manifest = signed["manifest"]
    assert manifest["format"] == "osint-annotator/evidence-manifest"
    assert len(manifest["artefacts"]) == 4  # two captures, a screenshot and a page each
    assert {a["sha256"] for a in manifest["artefacts"]} >= {sha(png_bytes()), sha(png_bytes((0, 90, 0)))}
    first = manifest["evidence"][0]
    assert first["capture"]["method"] == "extension" and first["capture"]["persona"] == "sock-puppet-7"
    assert first["capture"]["captured_by"]["username"] == "mod-a"
    assert first["custody"][0]["action"] == "captured"
    assert first["custody"][-1]["action"] == "exported" and first["custody"][-1]["detail"] == {
        "format": "manifest"
    }
    retracted = manifest["evidence"][1]
    assert [e["action"] for e in retracted["custody"]] == ["captured", "retracted", "exported"]
    assert manifest["evidence"][2]["kind"] == "retraction"
    assert signed["signature"]["algorithm"] == "Ed25519"
    assert signed["signature"]["public_key"] == signing.server_public_key().raw_base64


def test_the_signature_covers_the_canonical_json(exported):
    _, _, _, signed = exported
    public = signing.load_public_key(signed["signature"]["public_key"])
    canonical = json.dumps(signed["manifest"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    public.verify(base64.b64decode(signed["signature"]["value"]), canonical.encode("utf-8"))  # raises if not


def test_verify_manifest_passes_on_an_export_and_its_files(exported):
    manifest_path, files, key, _ = exported
    out = _verify(manifest_path, files, key)
    assert "Signature OK" in out and "checked against the given public key" in out
    assert "All 4 artefacts match" in out


def test_verify_manifest_fails_when_one_byte_of_an_artefact_changes(exported):
    manifest_path, files, key, signed = exported
    name = signed["manifest"]["artefacts"][0]["name"]
    data = bytearray((files / name).read_bytes())
    data[len(data) // 2] ^= 0x01
    (files / name).write_bytes(bytes(data))
    with pytest.raises(CommandError) as failure:
        _verify(manifest_path, files, key)
    assert f"{name}: SHA-256" in str(failure.value) and "1 of 4" in str(failure.value)


def test_verify_manifest_fails_when_an_artefact_is_missing_or_longer(exported):
    manifest_path, files, key, signed = exported
    first, second = (a["name"] for a in signed["manifest"]["artefacts"][:2])
    (files / first).unlink()
    with (files / second).open("ab") as handle:
        handle.write(b"\n")
    with pytest.raises(CommandError) as failure:
        _verify(manifest_path, files, key)
    assert f"{first}: missing" in str(failure.value) and f"{second}: size" in str(failure.value)


def test_verify_manifest_fails_when_one_byte_of_the_manifest_changes(exported):
    manifest_path, files, key, signed = exported
    text = manifest_path.read_bytes()
    digest = signed["manifest"]["artefacts"][0]["sha256"].encode()
    at = text.index(digest)
    tampered = text[:at] + (b"0" if digest[:1] != b"0" else b"1") + text[at + 1 :]
    assert len(tampered) == len(text) and sum(a != b for a, b in zip(text, tampered, strict=True)) == 1
    manifest_path.write_bytes(tampered)
    with pytest.raises(CommandError) as failure:
        _verify(manifest_path, files, key)
    assert "signature does not match" in str(failure.value)


def test_verify_manifest_fails_for_another_key(exported, tmp_path):
    manifest_path, files, _, _ = exported
    other = tmp_path / "other.pub"
    other.write_text(signing.describe(Ed25519PrivateKey.generate().public_key()).pem)
    with pytest.raises(CommandError) as failure:
        _verify(manifest_path, files, other)
    assert "not with the given key" in str(failure.value)


def test_verify_manifest_reads_the_manifest_in_a_json_export(exported, case_a, lead, tmp_path):
    _, files, key, _ = exported
    response = token_client(lead).get(f"/api/cases/{case_a.pk}/export/?format=json")
    document = json.loads(b"".join(response.streaming_content))
    assert document["manifest"]["signature"]["algorithm"] == "Ed25519"
    assert document["evidence"] and document["accounts"] == []
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document, indent=2))
    assert "All 4 artefacts match" in _verify(path, files, key)


def test_verify_manifest_exits_non_zero_from_the_command_line(exported):
    manifest_path, files, key, _ = exported
    (files / sorted(os.listdir(files))[0]).write_bytes(b"changed")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    args = [sys.executable, "manage.py", "verify_manifest", str(manifest_path), "--files", str(files)]
    failed = subprocess.run(
        [*args, "--public-key", str(key)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert failed.returncode != 0
    assert "FAILED" in failed.stderr and "do not match" in failed.stderr


def test_the_key_file_is_created_once_with_mode_0600(tmp_path, settings):
    settings.MANIFEST_SIGNING_KEY_FILE = tmp_path / "keys" / "k.pem"
    first = signing.server_public_key()
    assert oct(settings.MANIFEST_SIGNING_KEY_FILE.stat().st_mode & 0o777) == "0o600"
    assert signing.server_public_key() == first
    with open(os.devnull, "w") as quiet:
        call_command("generate_signing_key", stdout=quiet)  # keeps the existing key
    assert signing.server_public_key() == first


def test_the_public_key_is_shown_in_the_app(lead):
    client = Client()
    client.force_login(lead)
    page = client.get("/settings/capture/").content.decode()
    key = signing.server_public_key()
    assert key.raw_base64 in page and key.key_id in page
    assert settings.MANIFEST_SIGNING_KEY_FILE.exists()
