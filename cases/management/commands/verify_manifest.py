import hashlib
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cases import signing
from cases.exporters.manifest import FORMAT

CHUNK = 1024 * 1024


def _sha256_and_size(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


class Command(BaseCommand):
    help = (
        "Check a signed evidence manifest: its Ed25519 signature and, with --files, the SHA-256 and "
        "size of every artefact it lists. Takes the manifest as GET /api/cases/{id}/manifest/ returns "
        "it, or a case export (format=json) that carries one. Exits non-zero on any mismatch."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("manifest", help="the manifest (or case export) JSON file")
        parser.add_argument(
            "--files", metavar="DIR", help="the folder holding the artefacts, by their manifest names"
        )
        parser.add_argument(
            "--public-key",
            metavar="FILE",
            help="the server's published public key (PEM, or raw base64); without it the key embedded "
            "in the manifest is used, which proves integrity but not who signed",
        )

    def handle(self, *args, manifest, files=None, public_key=None, **options):
        try:
            document = json.loads(Path(manifest).read_bytes())
        except OSError as exc:
            raise CommandError(f"Cannot read {manifest}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise CommandError(f"{manifest} is not JSON: {exc}") from None
        if (
            isinstance(document, dict)
            and "signature" not in document
            and isinstance(document.get("manifest"), dict)
        ):
            document = document["manifest"]  # a case export that carries the signed manifest
        trusted = None
        if public_key:
            try:
                trusted = signing.load_public_key(Path(public_key).read_bytes())
            except OSError as exc:
                raise CommandError(f"Cannot read {public_key}: {exc.strerror or exc}") from None
            except signing.SignatureError as exc:
                raise CommandError(str(exc)) from None
        try:
            key = signing.verify(document, trusted)
        except signing.SignatureError as exc:
            raise CommandError(f"FAILED: {exc}") from None
        body = document["manifest"]
        if body.get("format") != FORMAT:
            raise CommandError(f"FAILED: not an evidence manifest (format {body.get('format')!r}).")
        origin = "the given public key" if trusted else "the key embedded in the manifest (pass --public-key)"
        self.stdout.write(f"Signature OK: key {key.key_id}, checked against {origin}.")
        artefacts = body.get("artefacts") or []
        if files is None:
            self.stdout.write(f"{len(artefacts)} artefacts listed; pass --files DIR to check them.")
            return
        folder = Path(files)
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder.")
        problems = []
        for entry in artefacts:
            name = str(entry.get("name", ""))
            path = folder / name
            # Names come from the (signed) manifest, but still: nothing outside the folder.
            if not name or Path(name).name != name:
                problems.append(f"{name!r}: not a plain file name")
                continue
            if not path.is_file():
                problems.append(f"{name}: missing")
                continue
            sha, size = _sha256_and_size(path)
            if size != entry.get("size"):
                problems.append(f"{name}: size {size} bytes, manifest says {entry.get('size')}")
            if sha != entry.get("sha256"):
                problems.append(f"{name}: SHA-256 {sha}, manifest says {entry.get('sha256')}")
        if problems:
            raise CommandError(
                f"FAILED: {len(problems)} of {len(artefacts)} artefacts do not match:\n  "
                + "\n  ".join(problems)
            )
        self.stdout.write(self.style.SUCCESS(f"All {len(artefacts)} artefacts match their SHA-256 and size."))
