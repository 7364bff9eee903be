"""The clock picks up work as it starts: a push that a crash or a deploy interrupted, or a notice that
fell due while the clock was down, goes on at once rather than one interval later."""
from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from bot import clock
from tests.conftest import make_config
from tests.test_dispatch_crash import _push, _wait_until_settled


def test_pending_rows_are_sent_as_the_clock_starts(db_url, fake_wechat, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    # Intervals of an hour: whatever is sent within the test was sent by the run at start.
    monkeypatch.setattr(clock, "JOBS", tuple(replace(job, seconds=3600) for job in clock.JOBS))
    openids = _push(db_url, fake_wechat.base_url, 3)
    config = make_config(db_url, wechat_api_base=fake_wechat.base_url, wecom_api_base=fake_wechat.base_url)
    stop = threading.Event()
    runner = threading.Thread(target=clock.run_scheduler, args=(config, stop), daemon=True)
    runner.start()
    try:
        assert _wait_until_settled(60) == {"sent": 3}
        assert sorted(r["body"]["touser"] for r in fake_wechat.delivered("message/custom/send")) == sorted(openids)
    finally:
        stop.set()
        runner.join(timeout=30)
