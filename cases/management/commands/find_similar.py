from datetime import datetime

from django.core.management.base import BaseCommand, CommandError

from cases.errors import CaseError
from cases.importers.cli import TerminalProgress, team_and_user
from cases.models import Account, Case, Platform
from cases.services.jobs import run_job
from cases.services.similarity import (
    DEFAULT_PARTITIONS,
    create_similarity_sweep_job,
    refresh_similar_for_account,
    run_similarity_sweep,
)
from cases.similarity_selectors import list_similar_accounts

SHOWN = 20


class Command(BaseCommand):
    help = (
        "Find similar accounts in a team, in this process, with the code the sweep job runs: every "
        "pair above the threshold (--all, the default; or one --platform), the best matches of one "
        "case's accounts (--case), or one account's top matches (--account). Results are stored as "
        "suggestions and the run is recorded as a job."
    )

    def add_arguments(self, parser):
        parser.add_argument("--team", required=True, help="the team's slug")
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--all", action="store_true", help="sweep the whole team (the default)")
        scope.add_argument("--account", type=int, metavar="ID", help="one account's top matches")
        scope.add_argument("--case", type=int, metavar="ID", help="the best matches of a case's accounts")
        parser.add_argument("--platform", choices=Platform.values, help="sweep this platform's accounts only")
        parser.add_argument("--threshold", type=float, help="store pairs scoring at least this (0 to 1]")
        parser.add_argument("--partitions", type=int, default=DEFAULT_PARTITIONS, help="sweep partitions")
        parser.add_argument("--user", help="the username the job and audit trail name (default: the system)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(
        self, *args, team, account, case, platform, threshold, partitions, user, no_progress, **options
    ):
        team_obj, user_obj = team_and_user(team, user)
        if threshold is not None and not 0 < threshold <= 1:
            raise CommandError("--threshold must be above 0 and at most 1.")
        try:
            if account is not None:
                if platform or threshold is not None:
                    raise CommandError("--account takes neither --platform nor --threshold.")
                self._account(team_obj, account, user_obj)
            else:
                case_obj = None
                if case is not None:
                    case_obj = Case.objects.filter(team=team_obj, pk=case).first()
                    if case_obj is None:
                        raise CommandError(f"No case {case} in {team_obj.slug}.")
                    if platform:
                        raise CommandError("--case covers every platform; leave out --platform.")
                self._sweep(team_obj, user_obj, platform, case_obj, threshold, partitions, no_progress)
        except CaseError as exc:
            raise CommandError(exc.message) from exc

    def _account(self, team, account_id, user):
        account = Account.objects.select_related("team").filter(team=team, pk=account_id).first()
        if account is None:
            raise CommandError(f"No account {account_id} in {team.slug}.")
        job = refresh_similar_for_account(account=account, requested_by=user)
        since = datetime.fromisoformat(job.result["as_of"])
        results = list_similar_accounts(account=account, since=since, limit=SHOWN)
        self.stdout.write(
            f"@{account.handle} ({account.platform}): {len(results)} similar accounts (job #{job.pk})"
        )
        for item in results:
            why = "; ".join(str(s.get("detail", "")) for s in item.signals[:3])
            self.stdout.write(f"  {item.score:5.2f}  @{item.account.handle} ({item.account.platform})  {why}")

    def _sweep(self, team, user, platform, case, threshold, partitions, no_progress):
        job = create_similarity_sweep_job(
            team=team,
            created_by=user,
            platform=platform,
            case=case,
            threshold=threshold,
            partitions=partitions,
        )
        bar = TerminalProgress(unit="steps", enabled=False if no_progress else None)
        try:
            with run_job(job.pk) as (running, job_progress):

                def progress(done: int, total: int, message: str = "") -> None:
                    job_progress(done, total, message)
                    bar(done, total, message)

                result = run_similarity_sweep(job=running, progress=progress)
        finally:
            bar.close()
        self.stdout.write(
            f"{team.slug}: {result['pairs']:,} similar pairs among {result['accounts']:,} accounts "
            f"({result['created']:,} new, {result['updated']:,} updated, "
            f"{result['recreation_flags']:,} possible re-creations flagged; job #{job.pk})"
        )
