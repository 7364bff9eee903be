"""Notices by chat: residents read them (`通知`, `最新公示`) and object (`异议 …`); committee members
draft them (`发通知`: category → text → target → time → 公示期 → preview → `确认发送`)."""
from __future__ import annotations

import re
from datetime import datetime

from sqlmodel import col, select

from core.models.core import Village
from core.models.notices import CATEGORIES, Notice
from core.notices import finance
from core.notices.masking import check_public_text
from core.notices.service import (
    NoticeRefused,
    create_notice,
    delivery_report,
    latest_for_village,
    member_villages,
    message_text,
    open_for_objection,
    prepare_body,
    record_objection,
    target_village_ids,
    visible_filter,
)
from core.notices.timing import TimingError, local_text, parse_rule, parse_when
from handlers.context import Context
from handlers.router import PASS, command, flow

FLOW = "notice_draft"
OBJECTION_FLOW = "notice_objection"
CANCEL_WORDS = ("取消", "算了", "不发了", "退出")
NOT_MEMBER = "抱歉，只有村委会成员可以发通知。如需开通，请联系镇里的管理员。想看通知，发“通知”。"


# --------------------------------------------------------------------------- residents
@command(r"(?:通知|最新公示|公示|看通知|最新通知|村务公开|查看通知|本村通知)", priority=70)
def list_notices(ctx: Context, _m: re.Match[str]) -> str:
    village = ctx.village
    if village is None:
        return "您还没绑定村。发“绑定 村名”，比如“绑定 青石村”，就能看本村的通知。"
    notices = latest_for_village(ctx.session, village.id)  # type: ignore[arg-type]
    if not notices:
        return f"{village.name}最近还没有发布通知。"
    lines = [f"{village.name}最新通知："]
    for n in notices:
        flag = "（公示中）" if n.objection_until and n.objection_until > ctx.now else ""
        lines.append(f"{n.id}. 【{n.category}】{n.title}{flag} {local_text(n.published_at or ctx.now)}")
    lines.append("看全文回复“通知 编号”，比如“通知 %d”。" % notices[0].id)
    if any(n.objection_until and n.objection_until > ctx.now for n in notices):
        lines.append("对公示中的内容有意见，回复“异议 编号 您的意见”。")
    return "\n".join(lines)


@command(r"(?:通知|公示)\s*(?:第|编号)?\s*(\d{1,9})\s*号?", priority=71)
def show_notice(ctx: Context, m: re.Match[str]) -> str:
    village = ctx.village
    notice = ctx.session.exec(select(Notice).where(Notice.id == int(m.group(1)), Notice.status == "published",
                                                   visible_filter(village.id if village else None))).first()
    if notice is None:
        return f"没有找到编号 {m.group(1)} 的本村通知。发“通知”看最新的。"
    return message_text(notice, limit=1800)


@command(r"(?:异议|有异议|提异议)\s*[:：]?\s*(\d{1,9})?\s*(.*)", priority=75)
def object_command(ctx: Context, m: re.Match[str]) -> str:
    village = ctx.village
    if village is None:
        return "请先绑定村（发“绑定 村名”），才能对本村公示提异议。"
    open_ = open_for_objection(ctx.session, village.id, ctx.now)  # type: ignore[arg-type]
    if not open_:
        return "现在本村没有在公示期内的公示。有问题可以直接问，或打村委会电话。"
    text = m.group(2).strip()
    notice = open_[0]
    if m.group(1):
        chosen = [n for n in open_ if n.id == int(m.group(1))]
        if not chosen:
            return f"编号 {m.group(1)} 不在公示期内。公示中的有：" + "、".join(f"{n.id}.{n.title}" for n in open_)
        notice = chosen[0]
    elif len(open_) > 1 and text:
        return ("现在有几条公示：" + "；".join(f"{n.id}.{n.title}" for n in open_) +
                "。请回复“异议 编号 您的意见”。")
    if not text:
        ctx.start_flow(OBJECTION_FLOW, "text", {"notice_id": notice.id})
        return f"请说说您对《{notice.title}》的意见（一条消息写完），回复“取消”不提了。"
    return _record(ctx, notice, text)


def _record(ctx: Context, notice: Notice, text: str) -> str:
    obj = record_objection(ctx.session, notice, ctx.follower.openid, ctx.follower.village_id, text, ctx.now)
    until = local_text(notice.objection_until) if notice.objection_until else ""
    return (f"您的异议已记录（编号 {obj.id}），已转给村委会。公示期到 {until}，"
            "村委会核实后会答复。")


@flow(OBJECTION_FLOW)
def objection_flow(ctx: Context) -> object:
    state = ctx.state
    assert state is not None
    if state.expired:
        return PASS
    ctx.end_flow()
    if ctx.text in CANCEL_WORDS:
        return "好的，不提了。"
    notice = ctx.session.get(Notice, state.data.get("notice_id"))
    if notice is None or not notice.objection_until or notice.objection_until <= ctx.now:
        return "这条公示的公示期已经结束了，异议没有记录。有问题请打村委会电话。"
    return _record(ctx, notice, ctx.text)


# --------------------------------------------------------------------------- committee
@command(r"(?:发通知|发布通知|发公示|新通知)", priority=85)
def start_draft(ctx: Context, _m: re.Match[str]) -> str:
    villages = member_villages(ctx.session, ctx.follower.openid)
    if not villages:
        return NOT_MEMBER
    ctx.start_flow(FLOW, "category", {"villages": [v.id for v in villages]})
    return _category_question()


def _category_question() -> str:
    options = "\n".join(f"{i}. {c}" for i, c in enumerate(CATEGORIES, 1))
    return f"发什么通知？回复数字：\n{options}\n随时回复“取消”作废。"


@command(r"(?:发送情况|通知报告|发送报告)\s*(\d{1,9})", priority=85)
def report_command(ctx: Context, m: re.Match[str]) -> str:
    villages = {v.id for v in member_villages(ctx.session, ctx.follower.openid)}
    notice = ctx.session.get(Notice, int(m.group(1)))
    if not villages:
        return NOT_MEMBER
    if notice is None or (notice.created_by != ctx.follower.openid and not notice.town_wide and not
                          (set(_notice_villages(ctx, notice)) & villages)):
        return f"没有找到您村的通知 {m.group(1)}。"
    return "\n".join(delivery_report(ctx.session, notice).lines()[:25])


def _notice_villages(ctx: Context, notice: Notice) -> list[int]:
    return target_village_ids(ctx.session, notice)


@flow(FLOW)
def draft_flow(ctx: Context) -> object:
    state = ctx.state
    assert state is not None
    text = ctx.text
    if state.expired:
        return PASS if text not in CANCEL_WORDS else "草稿已经过期作废了。要发通知请重新发“发通知”。"
    if text in CANCEL_WORDS:
        ctx.end_flow()
        return "好的，草稿已作废，什么也没发出去。"
    data = dict(state.data)
    step = state.step
    if step == "category":
        idx = int(text) - 1 if text.isdigit() else next((i for i, c in enumerate(CATEGORIES) if c in text), -1)
        if not 0 <= idx < len(CATEGORIES):
            return f"请回复 1 到 {len(CATEGORIES)} 的数字。\n" + _category_question()
        data["category"] = CATEGORIES[idx]
        ctx.set_step("text", data)
        extra = "\n财务公开可以回复“自动”，按最新录入的收支数据生成。" if data["category"] == "村级财务" else ""
        return f"请发通知内容：第一行是标题，下面是正文。{extra}"
    if step == "text":
        return _take_text(ctx, data, text)
    if step == "target":
        return _take_target(ctx, data, text)
    if step == "time":
        try:
            when = parse_when(text, ctx.now)
        except TimingError as exc:
            return str(exc)
        if when.rule is None and data.get("finance") == "series":
            data["finance"] = "once"
        data["at"] = when.at.isoformat() if when.at else None
        data["rule"] = when.rule.spec if when.rule else ""
        ctx.set_step("period", data)
        return "公示几天？回复数字，比如 7（公示期内村民可以提异议）；不需要公示期回复 0。"
    if step == "period":
        if not text.isdigit() or not 0 <= int(text) <= 60:
            return "请回复 0 到 60 的数字，比如 7。"
        data["days"] = int(text)
        ctx.set_step("preview", data)
        return _preview(ctx, data)
    if step == "preview":
        if text in ("确认发送", "确认", "确定发送", "发送"):
            return _confirm(ctx, data)
        if text in ("修改", "重来", "重新写"):
            ctx.set_step("category", {"villages": data["villages"]})
            return _category_question()
        return "请回复“确认发送”发出，“修改”重新填写，或“取消”作废。"
    ctx.end_flow()
    return PASS


def _take_text(ctx: Context, data: dict, text: str) -> str:
    if data["category"] == "村级财务" and text in ("自动", "自动生成"):
        villages = [v for v in _villages(ctx, data["villages"]) if finance.latest(ctx.session, v.id) is not None]  # type: ignore[arg-type]
        if not villages:
            return "还没有录入财务数据，不能自动生成。请直接发内容，或先录入数据。"
        data["finance"] = "series"
        data["title"], data["body"] = "村级财务收支公开", ""
    else:
        lines = text.split("\n", 1)
        title = lines[0].strip()[:60]
        body = lines[1].strip() if len(lines) > 1 else title
        if len(text) < 4:
            return "内容太短了，请发完整的通知：第一行是标题，下面是正文。"
        try:
            masked, note = prepare_body(data["category"], body)
        except NoticeRefused as exc:
            return str(exc)
        data["title"], data["body"], data["note"], data["finance"] = title, masked, note, ""
    villages = _villages(ctx, data["villages"])
    if len(villages) == 1:
        data["targets"] = [villages[0].id]
        ctx.set_step("time", data)
        return f"发给{villages[0].name}。什么时候发？回复“现在”，或“12月5日 9:00”，或“每月5号9点”。"
    ctx.set_step("target", data)
    options = "\n".join(f"{i}. {v.name}" for i, v in enumerate(villages, 1))
    return f"发给哪个村？回复数字（几个村用空格隔开），或“全部”：\n{options}"


def _take_target(ctx: Context, data: dict, text: str) -> str:
    villages = _villages(ctx, data["villages"])
    if text in ("全部", "都发", "所有"):
        chosen = villages
    else:
        nums = re.findall(r"\d+", text)
        if not nums or any(not 1 <= int(n) <= len(villages) for n in nums):
            return f"请回复 1 到 {len(villages)} 的数字，几个村用空格隔开，或“全部”。"
        chosen = [villages[int(n) - 1] for n in dict.fromkeys(nums)]
    data["targets"] = [v.id for v in chosen]
    ctx.set_step("time", data)
    return "什么时候发？回复“现在”，或“12月5日 9:00”，或“每月5号9点”。"


def _villages(ctx: Context, ids: list[int]) -> list[Village]:
    return list(ctx.session.exec(select(Village).where(col(Village.id).in_(ids)).order_by(Village.name)).all())


def _when_text(data: dict) -> str:
    if data.get("rule"):
        return parse_rule(data["rule"]).describe()
    return local_text(datetime.fromisoformat(data["at"])) if data.get("at") else "确认后马上发"


def _preview(ctx: Context, data: dict) -> str:
    targets = "、".join(v.name for v in _villages(ctx, data["targets"]))
    if data.get("finance"):
        v = _villages(ctx, data["targets"])[0]
        fin = finance.latest(ctx.session, v.id)  # type: ignore[arg-type]
        title, body = finance.notice_text(v, fin) if fin else ("村级财务收支公开", "（还没有数据）")
        if data["finance"] == "once":
            data["title"], data["body"] = title, body
            ctx.set_step("preview", data)
        sample = f"【村级财务】{title}\n{body}" + ("\n（每期按当时最新录入的数据生成）" if data.get("rule") else "")
    else:
        # Masked as the published notice will be (title too), so the preview shows what residents see.
        sample = check_public_text(f"【{data['category']}】{data['title']}\n{data['body']}").text
    if len(sample) > 600:
        sample = sample[:600] + "…"
    lines = ["请核对：", sample, f"发给：{targets}", f"时间：{_when_text(data)}",
             f"公示期：{data['days']} 天" if data["days"] else "公示期：无"]
    if data.get("note"):
        lines.append(data["note"])
    lines.append("没问题回复“确认发送”；回复“修改”重填；回复“取消”作废。")
    return "\n".join(lines)


def _confirm(ctx: Context, data: dict) -> str:
    villages = _villages(ctx, data["targets"])
    allowed = {v.id for v in member_villages(ctx.session, ctx.follower.openid)}
    if not villages or any(v.id not in allowed for v in villages):
        ctx.end_flow()
        return NOT_MEMBER
    at = datetime.fromisoformat(data["at"]) if data.get("at") else None
    try:
        notices = create_notice(ctx.session, category=data["category"], title=data["title"], body=data["body"],
                                villages=villages, publish_at=at, recurrence=data.get("rule") or "",
                                objection_days=int(data.get("days") or 0),
                                finance_body=data.get("finance") == "series", created_by=ctx.follower.openid,
                                now=ctx.now)
    except (NoticeRefused, TimingError) as exc:
        return f"{exc}\n请回复“修改”重填，或“取消”作废。"
    ctx.end_flow()
    ids = "、".join(str(n.id) for n in notices)
    when = "一两分钟内发出" if not data.get("at") and not data.get("rule") else f"按时发出（{_when_text(data)}）"
    return f"已确认，通知编号 {ids}，{when}。发“发送情况 {notices[0].id}”可以看发送结果。"
