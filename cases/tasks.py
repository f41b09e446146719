"""Celery tasks: thin wrappers that take ids, run a service, and record the outcome on a Job."""

from celery import shared_task

from cases.services.cases import recount_case
from cases.services.jobs import finish_job, run_job


@shared_task
def recount_case_task(job_id: int) -> None:
    with run_job(job_id) as (job, progress):
        if job is None:
            return
        counts = recount_case(case_id=job.params["case_id"], progress=progress)
        finish_job(job_id, result=counts, message="Counts updated")
