"""A committee member's preview masks the title line as the published notice will, and 发送情况
reads in plain Chinese (through the real webhook over HTTP)."""
from __future__ import annotations

from sqlmodel import select

from core.db import session_scope
from core.models.notices import CommitteeMember, Notice
from core.schedule import publish_due

MEMBER = "o_member_preview"


def test_preview_masks_the_title_and_the_report_is_plain(wechat, villages, config) -> None:  # type: ignore[no-untyped-def]
    with session_scope() as s:
        s.add(CommitteeMember(openid=MEMBER, village_id=villages["青石村"], role="会计"))
    wechat.say(MEMBER, "发通知")
    wechat.say(MEMBER, "2")
    wechat.say(MEMBER, "张三 320102199001011232 电话13812345678 补贴名单\n张三 补贴 860 元")
    wechat.say(MEMBER, "现在")
    preview = wechat.say(MEMBER, "7")
    title_line = next(line for line in preview.splitlines() if line.startswith("【惠农补贴】"))
    assert title_line.startswith("【惠农补贴】张三 [身份证号已隐去]") and "138****5678" in title_line
    assert "320102199001011232" not in preview and "13812345678" not in preview
    assert "已确认" in wechat.say(MEMBER, "确认发送")
    with session_scope(readonly=True) as s:
        notice = s.exec(select(Notice)).one()
    assert notice.title.startswith("张三 [身份证号已隐去]")  # the preview showed what was published
    publish_due(config)
    report = wechat.say(MEMBER, f"发送情况 {notice.id}")
    assert "状态：已发布" in report
    assert "published" not in report and "python -m bot" not in report
