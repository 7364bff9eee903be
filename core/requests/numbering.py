"""Tracking numbers `2026-000123`: unique per year, gap-free in normal operation, safe under
concurrent workers because the counter row is bumped inside the creating transaction (the row
lock on PostgreSQL and the write lock on SQLite serialise it); a first-of-year race on the
insert is retried.
"""
from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from core.models.requests import RequestCounter


def format_no(year: int, seq: int) -> str:
    return f"{year}-{seq:06d}"


def allocate(session: Session, year: int) -> tuple[str, int]:
    for _ in range(5):
        row = session.execute(
            update(RequestCounter).where(col(RequestCounter.year) == year)
            .values(last=col(RequestCounter.last) + 1).returning(col(RequestCounter.last))
        ).first()
        if row is not None:
            return format_no(year, int(row[0])), int(row[0])
        try:
            with session.begin_nested():
                session.add(RequestCounter(year=year, last=0))
                session.flush()
        except IntegrityError:
            pass  # another worker created the year's row first; bump it on the next pass
    raise RuntimeError(f"could not allocate a tracking number for {year}")
