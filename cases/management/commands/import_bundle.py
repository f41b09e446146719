from django.core.management.base import BaseCommand, CommandError

from cases.errors import CaseError
from cases.importers.cli import TerminalProgress, team_and_user
from cases.services.imports import describe_result, import_bundle

SHOWN_REASONS = 20


class Command(BaseCommand):
    help = (
        "Import a bundle (JSON Lines or CSV of accounts, posts and media brands) into a team, in this "
        "process, with the same code the import job runs. Re-importing a file changes nothing. Exits "
        "non-zero only when no line could be imported."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the bundle file (.jsonl or .csv; the format is sniffed)")
        parser.add_argument("--team", required=True, help="the team's slug")
        parser.add_argument("--user", help="the username the audit trail names (default: the system)")
        parser.add_argument("--format", choices=["jsonl", "csv"], help="skip sniffing the format")
        parser.add_argument("--batch-size", type=int, default=5000, help="lines per transaction")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, path, team, user, format, batch_size, no_progress, **options):
        team_obj, user_obj = team_and_user(team, user)
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        progress = TerminalProgress(unit="lines", enabled=False if no_progress else None)
        try:
            result = import_bundle(
                team=team_obj,
                source=path,
                user=user_obj,
                fmt=format,
                progress=progress,
                batch_size=batch_size,
            )
        except CaseError as exc:
            raise CommandError(exc.message) from exc
        finally:
            progress.close()

        self.stdout.write(
            f"{result['file']} ({result['format']}, {result['lines']:,} lines) into {team_obj.slug}:"
        )
        for kind in ("accounts", "posts", "media_brands"):
            c = result[kind]
            self.stdout.write(
                f"  {kind.replace('_', ' '):<13}{c['created']:>10,} created{c['updated']:>10,} updated"
                f"{c['unchanged']:>10,} unchanged{c['rejected']:>10,} rejected"
            )
        self.stdout.write(f"  brand domains{result['brand_domains']['created']:>10,} created")
        rejected = result["rejected"]
        for item in rejected["reasons"][:SHOWN_REASONS]:
            self.stdout.write(f"  line {item['line']}: {item['reason']}")
        if rejected["total"] > SHOWN_REASONS:
            self.stdout.write(f"  … and {rejected['total'] - SHOWN_REASONS:,} more rejected lines")
        if result["imported"] == 0:
            raise CommandError(f"Nothing could be imported ({describe_result(result)}).")
        self.stdout.write(self.style.SUCCESS(describe_result(result)))
