from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cases import signing


class Command(BaseCommand):
    help = (
        "Create the Ed25519 key that signs evidence manifests (MANIFEST_SIGNING_KEY_FILE, mode 0600) "
        "and print its public key. An existing key is kept: replacing it would leave every manifest "
        "signed so far unverifiable against the published key."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--path", help="write the key here instead of MANIFEST_SIGNING_KEY_FILE")

    def handle(self, *args, path=None, **options):
        target = Path(path) if path else signing.key_path()
        if target.exists():
            key = signing.load_private_key(target, create=False)
            self.stdout.write(f"A signing key already exists at {target}; it is kept.")
        else:
            try:
                key = signing.generate_key_file(target)
            except OSError as exc:
                raise CommandError(f"Cannot write {target}: {exc}") from None
            self.stdout.write(self.style.SUCCESS(f"Created a signing key at {target} (mode 0600)."))
        info = signing.describe(key.public_key())
        self.stdout.write(f"Key id: {info.key_id}")
        self.stdout.write(f"Public key (raw, base64): {info.raw_base64}")
        self.stdout.write(info.pem.rstrip())
