"""A real Celery worker for the fault tests, run as a subprocess:

    python -m tests.faults.worker worker --pool=prefork --concurrency=1 -Q <queue> ...

It is ``celery -A annotator worker`` (the production app and settings, ``app.worker_main``) with
two test-only knobs from the environment, so that nothing test-only lives in production code:

- ``FAULT_QUEUE``: the queue tasks are sent to by default, so the tasks a job queues itself (an
  import's similar-accounts refresh) stay on the test's own queue;
- ``FAULT_CHILD_CPU_SECONDS``: each pool child gets RLIMIT_CPU with soft = hard = this many
  seconds. The kernel then SIGKILLs a child that has used that much CPU, exactly as the OOM killer
  or a container's limit kills a worker: a job that needs more is killed on every attempt. The
  limit is set in the child (``worker_process_init``) and so counts from the fork; the worker's
  main process has none.
"""

import os
import resource
import sys

from celery.signals import worker_process_init


@worker_process_init.connect
def _limit_child_cpu(**kwargs) -> None:
    seconds = os.environ.get("FAULT_CHILD_CPU_SECONDS")
    if seconds:
        resource.setrlimit(resource.RLIMIT_CPU, (int(seconds), int(seconds)))


def main(argv: list[str]) -> None:
    from annotator.celery import app

    if os.environ.get("FAULT_QUEUE"):
        app.conf.task_default_queue = os.environ["FAULT_QUEUE"]
    app.worker_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
