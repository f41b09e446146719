from django.core.management.base import BaseCommand, CommandError

from cases.errors import CaseError
from cases.importers.cli import TerminalProgress, team_and_user
from cases.services.imports import describe_result, import_indicator_files


class Command(BaseCommand):
    help = (
        "Import Meta threat-indicator files (kill-chain CSV, indicator CSV/JSON, Markdown reports) into "
        "a team: one case per network, its accounts and domains, and an evidence item citing each file "
        "by SHA-256. Re-importing a file changes nothing. Exits non-zero only when every file was refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="indicator files")
        parser.add_argument("--team", required=True, help="the team's slug")
        parser.add_argument(
            "--user", required=True, help="the member who captures the evidence (evidence names its captor)"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, paths, team, user, no_progress, **options):
        team_obj, user_obj = team_and_user(team, user)
        progress = TerminalProgress(unit="rows", enabled=False if no_progress else None)
        try:
            result = import_indicator_files(team=team_obj, files=paths, user=user_obj, progress=progress)
        except CaseError as exc:
            raise CommandError(exc.message) from exc
        finally:
            progress.close()

        for item in result["files"]:
            if item["status"] == "refused":
                self.stdout.write(self.style.ERROR(f"{item['file']}: refused — {item['reason']}"))
                continue
            accounts = item["accounts"]
            platforms = ", ".join(f"{n} {p}" for p, n in accounts["by_platform"].items()) or "none"
            new_case = " (new)" if item["case"]["created"] else ""
            self.stdout.write(
                f"{item['file']} → case '{item['case']['title']}'{new_case}: "
                f"accounts {accounts['created']} new / {accounts['updated']} updated / "
                f"{accounts['unchanged']} unchanged ({platforms}); domains {item['domains']['created']} new; "
                f"evidence {'recorded' if item['evidence']['created'] else 'already recorded'}; "
                f"{len(item['techniques'])} techniques; {item['rejected']['total']} rows rejected"
            )
        totals = result["totals"]
        if totals["files"] == totals["files_refused"]:
            raise CommandError(f"Nothing could be imported ({describe_result(result)}).")
        self.stdout.write(self.style.SUCCESS(describe_result(result)))
