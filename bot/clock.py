"""The clock process: runs periodic jobs (APScheduler, in exactly one process).

APScheduler only drives *when* we look; *what* is due lives in our tables (notices' next run,
outbox rows, request deadlines), so nothing is lost while the clock is down and two clocks
started by mistake do not double anything (each job claims its rows atomically).
"""
from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from apscheduler.schedulers.blocking import BlockingScheduler

from core import db
from core.config import Config
from core.dispatch import dispatch_job, process_dispatcher, stop_process_dispatcher
from core.health import HEARTBEAT_SECONDS, heartbeat_job
from core.requests.reminders import reminders_job
from core.schedule import SCHEDULE_SECONDS, publish_due_job

log = logging.getLogger("bot.clock")


@dataclass(frozen=True)
class Job:
    name: str
    seconds: float
    func: Callable[[Config], object]
    at_start: bool = False     # also run as the clock starts, not one interval later


# Every periodic job, declared here so the clock depends on the services and not the reverse.
JOBS: tuple[Job, ...] = (
    # After a restart (a deploy, a crash) a push under way or a notice that fell due while the clock
    # was down goes on at once rather than an interval later.
    Job("outbox.dispatch", 2, dispatch_job, at_start=True),
    Job("notices.publish_due", SCHEDULE_SECONDS, publish_due_job, at_start=True),
    Job("requests.reminders", 600, reminders_job),
    Job("clock.heartbeat", HEARTBEAT_SECONDS, heartbeat_job),
)


def load_jobs() -> dict[str, Job]:
    return {job.name: job for job in JOBS}


def _run(job: Job, config: Config) -> None:
    try:
        job.func(config)
    except Exception:  # a failing job must not stop the clock
        log.exception("job %s failed", job.name)


def run_scheduler(config: Config | None = None, stop: threading.Event | None = None) -> None:
    """Run the clock until stopped. In the main thread SIGTERM/SIGINT stop it gracefully: no new
    job starts, the outbox dispatcher finishes the sends under way and hands back the rest."""
    config = config or Config.from_env()
    db.configure(config.database_url)
    # APScheduler logs two INFO lines per run (every 2 s): that buried everything else. Its own
    # warnings (missed runs, a job still running) stay; LOG_LEVEL=DEBUG brings the chatter back.
    if logging.getLevelName(str(config.log_level).upper()) != logging.DEBUG:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler = BlockingScheduler(timezone="Asia/Shanghai")
    for job in load_jobs().values():
        first = {"next_run_time": datetime.now(scheduler.timezone)} if job.at_start else {}
        scheduler.add_job(_run, "interval", seconds=job.seconds, args=[job, config], id=job.name,
                          max_instances=1, coalesce=True, misfire_grace_time=None, **first)
        log.info("clock job %s every %ss", job.name, job.seconds)
    if stop is not None:
        threading.Thread(target=lambda: (stop.wait(), scheduler.shutdown(wait=False)), daemon=True).start()
    if threading.current_thread() is threading.main_thread():
        process_dispatcher(config)  # exists before the first signal can arrive

        def _graceful(signum: int, _frame: object) -> None:
            log.warning("clock: signal %s, stopping after the sends under way", signum)
            process_dispatcher(config).stop()
            scheduler.shutdown(wait=False)

        signal.signal(signal.SIGTERM, _graceful)
        signal.signal(signal.SIGINT, _graceful)
    _run(Job("clock.heartbeat", 0, heartbeat_job), config)
    try:
        scheduler.start()
    finally:
        stop_process_dispatcher()
