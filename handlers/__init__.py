"""Conversations and message kinds. Importing the package registers every handler with the router.

One module per conversation or message kind; the order below is the order commands of equal
priority are tried in.
"""
from __future__ import annotations

from handlers import apply, ask, binding, events, help, media, notices, staff_duties  # noqa: F401 - registers handlers
from handlers.router import PASS, Context, Reply, command_text, dispatch

__all__ = ["PASS", "Context", "Reply", "command_text", "dispatch"]
