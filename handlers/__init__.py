"""Conversations and message kinds. Importing the package registers every handler with the router.

One module per conversation or message kind; the order below is the order commands of equal
priority are tried in.
"""
from __future__ import annotations

from handlers import (  # noqa: F401 - registers handlers
    apply,
    ask,
    binding,
    events,
    help,
    media,
    member_link,
    notices,
    staff_duties,
)
from handlers.router import PASS, Context, Reply, command_text, dispatch

__all__ = ["PASS", "Context", "Reply", "command_text", "dispatch"]
