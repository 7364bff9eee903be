"""Demo content (a fictional county) for `serve`, `chat` and a first look at the admin."""
from __future__ import annotations

import logging

from sqlmodel import select

from content.importer import load_demo_content
from content.villages import load_villages
from core.db import session_scope
from core.models.core import Village

log = logging.getLogger("content.demo")


def load_demo_if_empty() -> bool:
    """Load the demo county into an empty database; never touches a database that has content."""
    with session_scope() as s:
        if s.exec(select(Village)).first() is not None:
            return False
        n = load_villages(s)
        log.info("demo: %d villages loaded", n)
        load_demo_content(s)
    return True
