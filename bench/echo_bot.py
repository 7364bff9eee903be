"""The baseline of bench/load.py: a minimal WeRoBot echo bot (WeRoBot 1.13.1, plain mode).

It checks the signature, parses the XML and echoes the text back as a passive reply: the HTTP and
XML work every WeChat bot does, with nothing else. Served by gunicorn exactly like our web role:

    WECHAT_TOKEN=… gunicorn --workers 2 --threads 4 'bench.echo_bot:app'
"""
from __future__ import annotations

import os

from werobot import WeRoBot

robot = WeRoBot(token=os.environ.get("WECHAT_TOKEN", "echo-token"), enable_session=False)


@robot.text
def echo(message):  # type: ignore[no-untyped-def]
    return message.content


app = robot.wsgi
