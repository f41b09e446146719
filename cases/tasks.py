"""Celery tasks: thin wrappers that take ids, run a service, and record the outcome on a Job."""

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from cases.services.cases import recount_case
from cases.services.jobs import finish_job, run_job


class DatabaseRetryTask(Task):
    """A task that meets a refused or broken database connection (PostgreSQL restarting, a
    failover) runs again later instead of failing, up to 12 times. The n-th wait is drawn at
    random from 0..2**n seconds, capped at 5 minutes, so a worker's tasks do not all come back at
    once: an outage of about 12 minutes is ridden out on average, 24 at most. Jobs are idempotent
    and ``run_job`` skips a finished one, so running a task again is safe; the worker's Django
    fixup closes the broken connection before the next attempt.
    """

    autoretry_for = (OperationalError, InterfaceError)
    retry_backoff = True
    retry_backoff_max = 300
    retry_jitter = True
    max_retries = 12


@shared_task(base=DatabaseRetryTask)
def recount_case_task(job_id: int) -> None:
    with run_job(job_id) as (job, progress):
        if job is None:
            return
        counts = recount_case(case_id=job.params["case_id"], progress=progress)
        finish_job(job_id, result=counts, message="Counts updated")


@shared_task(base=DatabaseRetryTask)
def import_bundle_task(job_id: int) -> None:
    # Imported in the task, so adding the import tasks stayed an append to this module.
    from cases.services.imports import describe_result, discard_import_files, run_bundle_import_job

    with run_job(job_id) as (job, progress):
        if job is None:
            return
        result = run_bundle_import_job(job=job, progress=progress)
        finish_job(job_id, result=result, message=describe_result(result))
        discard_import_files(job=job)


@shared_task(base=DatabaseRetryTask)
def import_indicators_task(job_id: int) -> None:
    from cases.services.imports import describe_result, discard_import_files, run_indicator_import_job

    with run_job(job_id) as (job, progress):
        if job is None:
            return
        result = run_indicator_import_job(job=job, progress=progress)
        finish_job(job_id, result=result, message=describe_result(result))
        discard_import_files(job=job)


@shared_task(base=DatabaseRetryTask)
def similarity_sweep_task(job_id: int) -> None:
    # The service finishes the job itself: its audit event and the job's success commit together.
    from cases.services.similarity import run_similarity_sweep

    with run_job(job_id) as (job, progress):
        if job is None:
            return
        run_similarity_sweep(job=job, progress=progress)


@shared_task(base=DatabaseRetryTask)
def refresh_similar_for_account_task(job_id: int) -> None:
    from cases.models import Account
    from cases.services.similarity import refresh_similar_for_account

    with run_job(job_id) as (job, _progress):
        if job is None:
            return
        account = Account.objects.select_related("team").get(pk=job.params["account_id"], team=job.team)
        refresh_similar_for_account(account=account, requested_by=job.created_by, job=job)


@shared_task(base=DatabaseRetryTask)
def refresh_similar_for_accounts_task(
    team_id: int, account_ids: list[int], requested_by_id: int | None = None
) -> None:
    """The top-k refresh of a batch of new or changed accounts (``queue_similar_refresh``). Ids
    only; the service records its own Job row. A team deleted meanwhile is nothing to do."""
    from django.contrib.auth import get_user_model

    from cases.models import Team
    from cases.services.similar_refresh import refresh_similar_for_accounts

    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        return
    user = get_user_model().objects.filter(pk=requested_by_id).first() if requested_by_id else None
    refresh_similar_for_accounts(team=team, account_ids=account_ids, requested_by=user)


@shared_task
def reconcile_jobs_task() -> dict:
    """Beat's every-minute run of the job reconciler: jobs whose message was lost (the broker was
    down when they started, or their whole worker died) are sent again; see job_reconciler."""
    from cases.services.job_reconciler import reconcile_jobs

    return reconcile_jobs()
