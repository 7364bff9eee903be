"""The clock process: runs periodic jobs (APScheduler, in exactly one process).

APScheduler only drives *when* we look; *what* is due lives in our tables (notices' next run,
outbox rows, request deadlines), so nothing is lost while the clock is down and two clocks
started by mistake do not double anything (each job claims its rows atomically).
"""
from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.schedulers.blocking import BlockingScheduler

from bot import db
from bot.config import Config

log = logging.getLogger("bot.clock")

# Modules that register periodic jobs when imported (keep additive).
JOB_MODULES = ["bot.dispatch", "bot.schedule", "bot.requests.reminders"]


@dataclass
class Job:
    name: str
    seconds: float
    func: Callable[[Config], object]


_jobs: dict[str, Job] = {}


def periodic(seconds: float, name: str | None = None) -> Callable[[Callable[[Config], object]], Callable[[Config], object]]:
    def deco(func: Callable[[Config], object]) -> Callable[[Config], object]:
        job_name = name or f"{func.__module__}.{func.__name__}"
        _jobs[job_name] = Job(job_name, seconds, func)
        return func
    return deco


def load_jobs() -> dict[str, Job]:
    for name in JOB_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise
    return _jobs


def _run(job: Job, config: Config) -> None:
    try:
        job.func(config)
    except Exception:  # a failing job must not stop the clock
        log.exception("job %s failed", job.name)


def run_scheduler(config: Config | None = None, stop: threading.Event | None = None) -> None:
    config = config or Config.from_env()
    db.configure(config.database_url)
    scheduler = BlockingScheduler(timezone="Asia/Shanghai")
    for job in load_jobs().values():
        scheduler.add_job(_run, "interval", seconds=job.seconds, args=[job, config], id=job.name,
                          max_instances=1, coalesce=True, misfire_grace_time=None)
        log.info("clock job %s every %ss", job.name, job.seconds)
    if stop is not None:
        threading.Thread(target=lambda: (stop.wait(), scheduler.shutdown(wait=False)), daemon=True).start()
    scheduler.start()
