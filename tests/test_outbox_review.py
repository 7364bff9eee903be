"""Settling sends whose outcome was unknown: once, and only rows under review (CLI path)."""
from __future__ import annotations

from core import db
from core.models.outbox import OutboxMessage
from core.outbox import enqueue
from tests.test_cli_chat import run_bot


def _review_row() -> int:
    with db.session_scope() as s:
        row = enqueue(s, "custom_text", "review-test:1", {"text": "x"}, openid="o_review")
        row.status = "review"
        s.add(row)
        s.flush()
        return row.id  # type: ignore[return-value]


def test_cli_resolves_a_review_row_once(sqlite_url: str) -> None:
    row_id = _review_row()
    out = run_bot(["outbox", "review", "--resolve", str(row_id), "--as", "resend"], sqlite_url)
    assert out.returncode == 0, out.stderr
    with db.session_scope(readonly=True) as s:
        row = s.get(OutboxMessage, row_id)
        assert row is not None and row.status == "pending" and row.last_error == "人工核对：resend"
    again = run_bot(["outbox", "review", "--resolve", str(row_id), "--as", "sent"], sqlite_url)
    assert again.returncode != 0 and "不在待核对状态" in again.stdout + again.stderr
    with db.session_scope(readonly=True) as s:
        assert s.get(OutboxMessage, row_id).status == "pending"  # type: ignore[union-attr]
