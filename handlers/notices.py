"""Notices by chat: residents read them (`通知`, `最新公示`) and object (`异议 …`); committee members
draft them (`发通知`: category → text → target → time → 公示期 → preview → `确认发送`).

The draft and the objection are step tables on the shared machinery of handlers/steps.py (cancel,
`上一步`, `修改 N`, expiry, choices by the words people use, one normalisation of the text)."""
from __future__ import annotations

import re
from datetime import datetime

from core.models.core import Village
from core.models.notices import CATEGORIES, Notice
from core.notices import finance, signoff
from core.notices.masking import check_public_text
from core.notices.service import (
    NoticeRefused,
    check_objection_days,
    create_notice,
    delivery_report,
    finance_texts,
    latest_for_village,
    member_villages,
    message_text,
    min_objection_days,
    open_for_objection,
    prepare_body,
    record_objection,
    target_village_ids,
    villages_by_ids,
    visible_notice,
)
from core.notices.timing import TimingError, local_text, parse_rule, parse_when
from handlers.context import Context
from handlers.router import command
from handlers.steps import (
    CANCEL_WORDS,
    Flow,
    Invalid,
    Option,
    Step,
    choice_step,
    cn_number,
    normalize,
    numbered,
    parse_days,
)

FLOW = "notice_draft"
OBJECTION_FLOW = "notice_objection"
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
    lines.append(f"看全文回复“通知 编号”，比如“通知 {notices[0].id}”。")
    if any(n.objection_until and n.objection_until > ctx.now for n in notices):
        lines.append("对公示中的内容有意见，回复“异议 编号 您的意见”。")
    return "\n".join(lines)


@command(r"(?:通知|公示)\s*(?:第|编号)?\s*(\d{1,9})\s*号?", priority=71)
def show_notice(ctx: Context, m: re.Match[str]) -> str:
    village = ctx.village
    notice = visible_notice(ctx.session, int(m.group(1)), village.id if village else None)
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
        return OBJECTION.start(ctx, {"notice_id": notice.id, "title": notice.title})
    return _record(ctx, notice, text)


def _record(ctx: Context, notice: Notice, text: str) -> str:
    obj = record_objection(ctx.session, notice, ctx.openid, ctx.village_id, text, ctx.now)
    until = local_text(notice.objection_until) if notice.objection_until else ""
    return (f"您的异议已记录（编号 {obj.id}），已转给村委会。公示期到 {until}，"
            "村委会核实后会答复。")


def _objection_prompt(_ctx: Context, d: dict) -> str:
    return f"请说说您对《{d.get('title', '这条公示')}》的意见（一条消息写完），回复“取消”不提了。"


def _objection_text(_ctx: Context, text: str, d: dict) -> None:
    d["text"] = text


def _objection_done(ctx: Context, d: dict) -> str:
    ctx.end_flow()
    notice = ctx.session.get(Notice, d.get("notice_id"))
    if notice is None or not notice.objection_until or notice.objection_until <= ctx.now:
        return "这条公示的公示期已经结束了，异议没有记录。有问题请打村委会电话。"
    return _record(ctx, notice, d["text"])


OBJECTION = Flow(
    OBJECTION_FLOW, {"text": Step(_objection_prompt, _objection_text, key="text")}, finish=_objection_done,
    doing="提异议", thing="异议", cancelled="好的，不提了。", expired_tail="没有记录。",
    hint="（回复“取消”不提了）",
)


# --------------------------------------------------------------------------- committee
START_RE = re.compile(r"(?:发通知|发布通知|发公示|新通知)")


@command(START_RE.pattern, priority=85)
def start_draft(ctx: Context, _m: re.Match[str] | None = None, prefix: str = "") -> str:
    villages = member_villages(ctx.session, ctx.openid)
    if not villages:
        return prefix + NOT_MEMBER
    return DRAFT.start(ctx, {"villages": [v.id for v in villages]}, prefix=prefix)


@command(r"(?:发送情况|通知报告|发送报告)\s*(\d{1,9})", priority=85)
def report_command(ctx: Context, m: re.Match[str]) -> str:
    villages = {v.id for v in member_villages(ctx.session, ctx.openid)}
    notice = ctx.session.get(Notice, int(m.group(1)))
    if not villages:
        return NOT_MEMBER
    if notice is None or (notice.created_by != ctx.openid and not notice.town_wide and not
                          (set(_notice_villages(ctx, notice)) & villages)):
        return f"没有找到您村的通知 {m.group(1)}。"
    return "\n".join(delivery_report(ctx.session, notice).lines()[:25])


def _notice_villages(ctx: Context, notice: Notice) -> list[int]:
    return target_village_ids(ctx.session, notice)


# --------------------------------------------------------------------------- the draft, as a step table
CATEGORY_WORDS = {
    "村级财务": ("财务", "财务公开", "账目", "收支", "村财务", "账"),
    "惠农补贴": ("补贴", "惠农", "种粮补贴", "补助"),
    "社会救助": ("救助", "低保", "特困", "临时救助"),
    "救灾": ("灾", "受灾", "灾情", "救灾物资"),
    "其他": ("其它", "别的", "停水", "停电", "开会", "会议"),
}
CATEGORY_OPTIONS = [Option(c, c, CATEGORY_WORDS.get(c, ())) for c in CATEGORIES]
ALL_WORDS = ("全部", "都发", "所有", "全都", "都要", "全部村", "所有村")
TIME_QUESTION = "什么时候发？回复“现在”，或“12月5日 9:00”，或“每月5号9点”。"


def _category_prompt(_ctx: Context, _d: dict) -> str:
    return f"发什么通知？回复数字：\n{numbered(CATEGORY_OPTIONS)}\n随时回复“取消”作废。"


def _category_chosen(d: dict, category: str) -> None:
    if d.get("category") and d["category"] != category:
        for key in ("title", "body", "note", "finance", "auto"):  # the text is checked per category
            d.pop(key, None)


def _text_prompt(_ctx: Context, d: dict) -> str:
    extra = "\n财务公开可以回复“自动”，按最新录入的收支数据生成。" if d.get("category") == "村级财务" else ""
    return f"请发通知内容：第一行是标题，下面是正文。{extra}"


def _looks_like_a_time(ctx: Context, text: str) -> bool:
    one_line = text.strip()
    if "\n" in one_line or len(one_line) > 20:
        return False
    try:
        parse_when(one_line, ctx.now)
    except TimingError:
        return False
    return True


def _take_text(ctx: Context, text: str, d: dict) -> None:
    if d["category"] == "村级财务" and normalize(text) in ("自动", "自动生成"):
        villages = [v for v in _villages(ctx, d["villages"]) if finance.latest(ctx.session, v.id) is not None]  # type: ignore[arg-type]
        if not villages:
            raise Invalid("还没有录入财务数据，不能自动生成。请直接发通知内容（第一行是标题，下面是正文），"
                          "或者先录入数据。")
        d["finance"], d["auto"] = "series", True
        d["title"], d["body"], d["note"] = "村级财务收支公开", "", ""
    else:
        if len(text) < 4:
            raise Invalid("内容太短了，请发完整的通知：第一行是标题，下面是正文。")
        if _looks_like_a_time(ctx, text):  # e.g. after a refused "自动": not the notice itself
            raise Invalid("这像是发送时间，还没到这一步。请先发通知内容：第一行是标题，下面是正文。")
        lines = text.split("\n", 1)
        title = lines[0].strip()[:60]
        body = lines[1].strip() if len(lines) > 1 else title
        masked, note = prepare_body(d["category"], body)
        d["title"], d["body"], d["note"], d["finance"] = title, masked, note, ""
        d.pop("auto", None)
    villages = _villages(ctx, d["villages"])
    if len(villages) == 1:
        d["targets"] = [villages[0].id]


def _several_villages(d: dict) -> bool:
    return len(d.get("villages") or []) > 1


def _target_prompt(ctx: Context, d: dict) -> str:
    options = numbered(v.name for v in _villages(ctx, d["villages"]))
    return f"发给哪个村？回复数字（几个村用空格隔开），或“全部”：\n{options}"


def _take_target(ctx: Context, text: str, d: dict) -> None:
    villages = _villages(ctx, d["villages"])
    t = normalize(text)
    if t in ALL_WORDS:
        chosen = villages
    else:
        by_name = [v for v in villages if v.name in t or v.name.removesuffix("村") in t]
        tokens = [tok for tok in re.split(r"[\s,，、和及]+", t) if tok]
        nums = [cn_number(tok.strip("第号个")) for tok in tokens]
        if by_name and not any(n is not None for n in nums):
            chosen = by_name
        elif nums and all(n is not None and 1 <= n <= len(villages) for n in nums):
            chosen = [villages[n - 1] for n in dict.fromkeys(nums)]  # type: ignore[operator]
        else:
            raise Invalid(f"请回复 1 到 {len(villages)} 的数字，几个村用空格隔开，或“全部”。")
    d["targets"] = [v.id for v in chosen]


def _time_prompt(ctx: Context, d: dict) -> str:
    if not _several_villages(d) and d.get("targets"):
        return f"发给{_villages(ctx, d['targets'])[0].name}。{TIME_QUESTION}"
    return TIME_QUESTION


def _take_time(ctx: Context, text: str, d: dict) -> None:
    when = parse_when(text, ctx.now)
    if d.get("auto"):
        d["finance"] = "series" if when.rule else "once"
    d["at"] = when.at.isoformat() if when.at else None
    d["rule"] = when.rule.spec if when.rule else ""
    d["timed"] = True


def _period_prompt(_ctx: Context, d: dict) -> str:
    low = min_objection_days(d.get("category", ""))
    if low:
        return f"公示几天？回复数字，名单公示至少 {low} 天，比如 {low}（公示期内村民可以提异议）。"
    return "公示几天？回复数字，比如 7（公示期内村民可以提异议）；不需要公示期回复 0。"


def _take_period(_ctx: Context, text: str, d: dict) -> None:
    d["days"] = check_objection_days(d["category"], parse_days(text, most=60))


def _villages(ctx: Context, ids: list[int]) -> list[Village]:
    return villages_by_ids(ctx.session, ids)


def _when_text(data: dict) -> str:
    if data.get("rule"):
        return parse_rule(data["rule"]).describe()
    return local_text(datetime.fromisoformat(data["at"])) if data.get("at") else "确认后马上发"


def _summary(_ctx: Context, d: dict) -> list[tuple[str, str]]:
    lines = [("category", "类别"), ("text", "内容")]
    if _several_villages(d):
        lines.append(("target", "发给"))
    return lines + [("time", "时间"), ("period", "公示期")]


def _preview(ctx: Context, data: dict) -> str:
    targets = "、".join(v.name for v in _villages(ctx, data["targets"]))
    if data.get("finance"):
        v = _villages(ctx, data["targets"])[0]
        fin = finance.latest(ctx.session, v.id)  # type: ignore[arg-type]
        title, body = finance.notice_text(v, fin) if fin else ("村级财务收支公开", "（还没有数据）")
        if data["finance"] == "once":
            data["title"], data["body"] = title, body
        sample = f"【村级财务】{title}\n{body}" + ("\n（每期按当时最新录入的数据生成）" if data.get("rule") else "")
        others = _villages(ctx, data["targets"])[1:]
        if others and not data.get("rule"):
            try:
                texts = finance_texts(ctx.session, others)
                sample += "\n其他村各发本村的数据：" + "；".join(
                    f"{o.name} {texts[o.id][1].split(chr(10), 1)[0]}" for o in others)  # type: ignore[index]
            except NoticeRefused as exc:
                sample += f"\n{exc}"
    else:
        # Masked as the published notice will be (title too), so the preview shows what residents see.
        sample = check_public_text(f"【{data['category']}】{data['title']}\n{data['body']}").text
    if len(sample) > 600:
        sample = sample[:600] + "…"
    shown = {"category": data["category"], "text": "\n" + sample, "target": targets, "time": _when_text(data),
             "period": f"{data['days']} 天" if data["days"] else "无"}
    lines = ["请核对："]
    lines += [f"{i}. {label}：{shown[step]}" for i, (step, label) in enumerate(_summary(ctx, data), 1)]
    if not _several_villages(data):
        lines.append(f"发给：{targets}")
    if data.get("note"):
        lines.append(data["note"])
    if note := signoff.preview_note(ctx.session, data["targets"]):
        lines.append(note)
    lines.append("没问题回复“确认发送”；要改哪项回复“修改 序号”，比如“修改 4”；回复“重来”重填；回复“取消”作废。")
    return "\n".join(lines)


def _confirm(ctx: Context, data: dict) -> str:
    villages = _villages(ctx, data["targets"])
    allowed = {v.id for v in member_villages(ctx.session, ctx.openid)}
    if not villages or any(v.id not in allowed for v in villages):
        ctx.end_flow()
        return NOT_MEMBER
    at = datetime.fromisoformat(data["at"]) if data.get("at") else None
    try:
        notices = create_notice(ctx.session, category=data["category"], title=data["title"], body=data["body"],
                                villages=villages, publish_at=at, recurrence=data.get("rule") or "",
                                objection_days=int(data.get("days") or 0),
                                finance_body=bool(data.get("finance")), created_by=ctx.openid,
                                now=ctx.now, template_id=ctx.config.template_notice_id)
    except (NoticeRefused, TimingError) as exc:
        return f"{exc}\n请回复“修改 序号”改一项，或“取消”作废。"
    ctx.end_flow()
    ids = "、".join(str(n.id) for n in notices)
    when = "一两分钟内发出" if not data.get("at") and not data.get("rule") else f"按时发出（{_when_text(data)}）"
    if notices[0].status == signoff.AWAITING:
        when = f"{signoff.LABEL}：本村要求村务监督委员会确认后才发出，已请他们确认"
    return f"已确认，通知编号 {ids}，{when}。发“发送情况 {notices[0].id}”可以看发送结果。"


def _start_command(ctx: Context, prefix: str) -> str:
    return start_draft(ctx, None, prefix=prefix)


DRAFT = Flow(
    FLOW,
    {
        "category": choice_step("category", "", CATEGORY_OPTIONS, after=_category_chosen),
        "text": Step(_text_prompt, _take_text, key="title"),
        "target": Step(_target_prompt, _take_target, key="targets", needed=_several_villages),
        "time": Step(_time_prompt, _take_time, key="timed"),
        "period": Step(_period_prompt, _take_period, answered=lambda d: "days" in d),
    },
    finish=_confirm, confirm=_preview, summary=_summary, start_pattern=START_RE, entry=_start_command,
    hint="（发“上一步”返回，发“取消”作废）", doing="起草通知", thing="通知草稿",
    cancelled="好的，草稿已作废，什么也没发出去。", expired_tail="已经作废，什么也没发出去。",
    restart_hint="要发通知请重新发“发通知”。",
    confirm_words=frozenset({"确认发送", "确认", "确定发送", "发送", "确定", "发吧", "发"}),
    confirm_retry="请回复“确认发送”发出，“修改 序号”改一项，“重来”重新填写，或“取消”作废。",
    cancel_words=CANCEL_WORDS | {"不发了"}, bare_edit_restarts=True, keep_on_restart=("villages",),
    errors=(TimingError, NoticeRefused),
)
DRAFT.steps["category"].prompt = _category_prompt
