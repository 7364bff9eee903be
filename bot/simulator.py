"""Moved to core/simulator.py (the admin's 试一试 page uses it too); kept for existing imports."""
from core.simulator import *  # noqa: F401,F403
from core.simulator import (  # noqa: F401
    Poster,
    WeChatServer,
    event_xml,
    flask_poster,
    http_poster,
    message_xml,
    reply_content,
    text_xml,
    voice_xml,
)
