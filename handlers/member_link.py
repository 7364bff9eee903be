"""`村委 12345678`: a committee member links their WeChat account with the one-time code the
village clerk got in the admin panel (core.notices.members)."""
from __future__ import annotations

import re

from core.notices.members import redeem
from handlers.context import Context
from handlers.router import command

# Above 绑定 (80): "绑定码 1234 5678" must not be read as binding to a village called "码 …".
PATTERN = r"(?:村委|村委会|村委绑定|村委会绑定|绑定村委|成员绑定|绑定码|村委绑定码)\s*[:：]?\s*(\d[\d ]{6,12}\d)"


@command(PATTERN, priority=85)
def link_member(ctx: Context, m: re.Match[str]) -> str:
    return redeem(ctx.session, ctx.openid, m.group(1), now=ctx.now).text
