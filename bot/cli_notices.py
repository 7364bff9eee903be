"""`python -m bot village|member|finance|notice|outbox …`: villages, committee members, finance
figures, notices and the outbox from the command line (scriptable; documented in the README)."""
from __future__ import annotations

import sys
from datetime import datetime

import click

from bot.cli_group import cli, setup
from core.db import session_scope, utcnow
from core.dispatch import Dispatcher
from core.models.core import Town, Village
from core.models.notices import CATEGORIES, CommitteeMember, Notice
from core.notices import finance, queries, signoff
from core.notices.members import new_link_code, spaced
from core.notices.service import (
    NOTICE_STATUS_LABELS,
    NoticeRefused,
    cancel,
    create_notice,
    delivery_report,
    min_objection_days,
    target_names,
)
from core.notices.timing import (
    TimingError,
    local_text,
    next_due,
    parse_rule,
    parse_when,
)
from core.outbox import REVIEW_RESOLUTIONS, enqueue_tag_sync, resolve_review

CHANNEL_NAMES = ("tag_mass", "template", "custom", "wecom")


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


def _village(session, name: str) -> Village:
    v = queries.village_by_name(session, name)
    if v is None:
        _fail(f"没有这个村：{name}（先用 python -m bot village add {name}）")
    return v  # type: ignore[return-value]


# --------------------------------------------------------------------------- villages
@cli.group()
def village() -> None:
    """Villages and how notices reach them."""


@village.command("add")
@click.argument("name")
@click.option("--town", default=None, help="Town (乡镇) the village belongs to; created if new.")
@click.option("--phone", default="", help="The village committee's phone.")
@click.option("--aliases", default="", help="Other names, separated by 、")
def village_add(name: str, town: str | None, phone: str, aliases: str) -> None:
    """Add a village (or update its town/phone if it exists)."""
    setup()
    with session_scope() as s:
        v = queries.village_by_name(s, name)
        created = v is None
        v = v or Village(name=name.strip())
        if town:
            t = queries.town_by_name(s, town)
            if t is None:
                t = Town(name=town.strip())
                s.add(t)
                s.flush()
            v.town_id = t.id
        if phone:
            v.phone = phone
        if aliases:
            v.aliases = aliases
        s.add(v)
        s.flush()
        click.echo(f"{'已添加' if created else '已更新'}村：{v.name}（编号 {v.id}）")


@village.command("list")
def village_list() -> None:
    setup()
    with session_scope(readonly=True) as s:
        for v in queries.villages_by_name(s):
            robot = "有" if v.wecom_robot_key else "无"
            click.echo(f"{v.id}\t{v.name}\t电话 {v.phone or '-'}\t渠道 {v.channels}\t群机器人 {robot}\t标签 {v.wechat_tag_id or '-'}")


@village.command("set-channel")
@click.argument("name")
@click.option("--channels", default=None,
              help="Comma list of: tag_mass (群发 by tag), template, custom (客服消息, 48 h), wecom (群机器人).")
@click.option("--robot-key", default=None, help="WeCom group robot webhook key (the key=… part of its URL); '' clears.")
def village_set_channel(name: str, channels: str | None, robot_key: str | None) -> None:
    """Choose how this village's notices are delivered."""
    setup()
    with session_scope() as s:
        v = _village(s, name)
        if channels is not None:
            chosen = [c.strip() for c in channels.split(",") if c.strip()]
            bad = [c for c in chosen if c not in CHANNEL_NAMES]
            if bad or not chosen:
                _fail(f"渠道只能是：{', '.join(CHANNEL_NAMES)}")
            v.channels = ",".join(dict.fromkeys(chosen))
        if robot_key is not None:
            key = robot_key.strip()
            if "key=" in key:
                key = key.split("key=", 1)[1].split("&", 1)[0]
            v.wecom_robot_key = key or None
        if "wecom" in v.channels and not v.wecom_robot_key:
            click.echo("提醒：选了 wecom 但还没设群机器人 key（--robot-key）。", err=True)
        if "tag_mass" in v.channels and ({"custom", "template"} & set(v.channels.split(","))):
            click.echo("提醒：标签群发已覆盖全村关注者，再加 custom/template 会让村民收到两次。", err=True)
        s.add(v)
        click.echo(f"{v.name}：渠道 {v.channels}，群机器人 {'已设置' if v.wecom_robot_key else '未设置'}")


@village.command("require-signoff")
@click.argument("name")
@click.option("--on/--off", "on", default=True, help="Notices wait for a 村务监督委员会 member's confirmation.")
def village_require_signoff(name: str, on: bool) -> None:
    """Require (or stop requiring) the 村务监督委员会's confirmation before this village's notices go out."""
    setup()
    with session_scope() as s:
        v = _village(s, name)
        v.require_signoff = on
        s.add(v)
        members = [m for m in queries.members_of(s, v.id)
                   if signoff.is_supervisor(m.role)]
        click.echo(f"{v.name}：通知{'需要' if on else '不需要'}村务监督委员会确认后再发出。")
        if on and not members:
            click.echo(f"提醒：还没有登记监督委员会成员，用 python -m bot member add --village {v.name} "
                       f"--openid … --role {signoff.ROLE} --name 姓名 添加。", err=True)


@village.command("sync-tags")
@click.argument("name")
def village_sync_tags(name: str) -> None:
    """Queue a tag sync for every follower of the village (e.g. after switching to tag_mass)."""
    setup()
    with session_scope() as s:
        v = _village(s, name)
        openids = queries.subscribed_openids(s, v.id)
        for openid in openids:
            enqueue_tag_sync(s, openid)
        click.echo(f"{v.name}：已排队 {len(openids)} 个关注者的标签同步，调度进程会逐个处理。")


# --------------------------------------------------------------------------- committee members
@cli.group()
def member() -> None:
    """Committee members who may publish notices by chat."""


@member.command("add")
@click.option("--village", "village_name", required=True)
@click.option("--openid", required=True)
@click.option("--role", default="委员", show_default=True, help="主任 / 会计 / 委员 …")
@click.option("--name", default="")
def member_add(village_name: str, openid: str, role: str, name: str) -> None:
    setup()
    with session_scope() as s:
        v = _village(s, village_name)
        m = queries.member_by_openid(s, v.id, openid.strip())
        m = m or CommitteeMember(openid=openid.strip(), village_id=v.id)  # type: ignore[arg-type]
        m.role, m.name = role, name or m.name
        s.add(m)
        click.echo(f"已设为{v.name}村委会成员（{role}）：{openid}")


@member.command("code")
@click.option("--village", "village_name", required=True)
@click.option("--name", required=True, help="the member's name, as the village knows them")
@click.option("--role", default="委员", show_default=True, help="主任 / 会计 / 委员 …")
def member_code(village_name: str, name: str, role: str) -> None:
    """A one-time code the member sends to the official account (`村委 1234 5678`) to be linked,
    so nobody has to find their openid (valid 24 h, once)."""
    setup()
    with session_scope() as s:
        v = _village(s, village_name)
        row, code = new_link_code(s, v, name=name.strip(), role=role, created_by="cli")
        click.echo(f"请{name}在公众号里发送：村委 {spaced(code)}（{local_text(row.expires_at)} 前有效，只能用一次）")


@member.command("remove")
@click.option("--village", "village_name", required=True)
@click.option("--openid", required=True)
def member_remove(village_name: str, openid: str) -> None:
    setup()
    with session_scope() as s:
        v = _village(s, village_name)
        m = queries.member_by_openid(s, v.id, openid)
        if m is None:
            _fail("没有这个成员。")
        s.delete(m)
        click.echo("已移除。")


@member.command("list")
@click.option("--village", "village_name", default=None)
def member_list(village_name: str | None) -> None:
    setup()
    with session_scope(readonly=True) as s:
        for m, vname in queries.members_with_village(s, village_name):
            click.echo(f"{vname}\t{m.role}\t{m.name or '-'}\t{m.openid}")


# --------------------------------------------------------------------------- finance figures
@cli.group("finance")
def finance_group() -> None:
    """Monthly village finance figures (the body of the 村级财务收支 notice)."""


@finance_group.command("set")
@click.option("--village", "village_name", required=True)
@click.option("--month", required=True, help="YYYY-MM")
@click.option("--income", default=None, help="Total income in yuan (default: sum of items).")
@click.option("--expense", default=None, help="Total spending in yuan (default: sum of items).")
@click.option("--balance", default=None, help="Month-end balance in yuan.")
@click.option("--item", "items", multiple=True, help="'支出:道路维修:1200' or '收入:上级拨款:50000' (repeatable)")
@click.option("--note", default="")
def finance_set(village_name: str, month: str, income: str | None, expense: str | None, balance: str | None,
                items: tuple[str, ...], note: str) -> None:

    setup()
    try:
        with session_scope() as s:
            v = _village(s, village_name)
            row = finance.record(s, v, month, income_fen=finance.parse_yuan(income) if income else None,
                                 expense_fen=finance.parse_yuan(expense) if expense else None,
                                 items=[finance.parse_item(i) for i in items],
                                 balance_fen=finance.parse_yuan(balance) if balance else None, note=note)
            title, body = finance.notice_text(v, row)
            click.echo(f"已录入。公开时内容如下：\n{title}\n{body}")
    except finance.FinanceError as exc:
        _fail(str(exc))


# --------------------------------------------------------------------------- notices
@cli.group()
def notice() -> None:
    """Create, schedule and follow notices."""


def _quarterly_spec(text: str) -> str:
    """'5@09:00' or '2:5@09:00' → 'quarterly:1:5@09:00' / 'quarterly:2:5@09:00'."""
    day_part, _, hm = text.partition("@")
    month, _, day = day_part.rpartition(":")
    if int(month or 1) not in (1, 2, 3):
        raise ValueError("month of the quarter must be 1-3")
    return parse_rule(f"quarterly:{int(month or 1)}:{int(day)}@{hm or '09:00'}").spec


def _when(at: str | None, now_flag: bool, monthly: str | None, weekly: str | None,
          quarterly: str | None = None) -> tuple[datetime | None, str]:
    given = [x for x in (at, monthly, weekly, quarterly) if x] + (["now"] if now_flag else [])
    if len(given) > 1:
        _fail("--at、--now、--monthly、--weekly、--quarterly 只能选一个。")
    try:
        if quarterly:
            return None, _quarterly_spec(quarterly)
        if monthly:
            day, _, hm = monthly.partition("@")
            return None, parse_rule(f"monthly:{int(day)}@{hm or '09:00'}").spec
        if weekly:
            day, _, hm = weekly.partition("@")
            return None, parse_rule(f"weekly:{int(day)}@{hm or '09:00'}").spec
        if at:
            when = parse_when(at, utcnow())
            if when.rule:
                return None, when.rule.spec
            return when.at, ""
    except TimingError as exc:
        _fail(str(exc))
    except ValueError:
        _fail("周期格式不对：--monthly 5@09:00，--weekly 1@09:00，--quarterly 5@09:00（每季度第一个月5日）"
              "或 --quarterly 2:5@09:00（每季度第二个月）。")
    return None, ""


@notice.command("create")
@click.option("--category", type=click.Choice(CATEGORIES), required=True)
@click.option("--title", default="", help="Title (generated for --finance).")
@click.option("--body", default=None)
@click.option("--body-file", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--village", "villages", multiple=True, help="Target village (repeatable).")
@click.option("--town-wide", is_flag=True, help="Every village.")
@click.option("--link", default=None)
@click.option("--at", default=None, help="'2026-12-05 09:00' (Beijing time), '12月5日9点', '每月5号9点'")
@click.option("--now", "now_flag", is_flag=True, help="Publish right away (default when no time is given).")
@click.option("--monthly", default=None, help="DAY@HH:MM, e.g. 5@09:00")
@click.option("--weekly", default=None, help="WEEKDAY@HH:MM (Monday=1), e.g. 1@09:00")
@click.option("--quarterly", default=None,
              help="[MONTH:]DAY@HH:MM, MONTH 1-3 of each quarter (default 1: Jan/Apr/Jul/Oct), e.g. 5@09:00")
@click.option("--objection-days", default=None, type=int,
              help="公示期 in days (default: the category's minimum, 7 for 惠农补贴/社会救助/救灾 lists, else 0).")
@click.option("--finance", "finance_body", is_flag=True, help="Body from the latest finance figures at each run.")
@click.option("--late-limit-hours", default=48, show_default=True, type=int,
              help="A due time missed by more than this (clock down) is flagged, not sent.")
def notice_create(category: str, title: str, body: str | None, body_file: str | None, villages: tuple[str, ...],
                  town_wide: bool, link: str | None, at: str | None, now_flag: bool, monthly: str | None,
                  weekly: str | None, quarterly: str | None, objection_days: int | None, finance_body: bool,
                  late_limit_hours: int) -> None:
    """Create a notice: now, at a time, or recurring (the clock process sends it)."""
    config = setup()
    if body_file:
        with open(body_file, encoding="utf-8") as fh:
            body = fh.read()
    if not finance_body and not (body or "").strip():
        _fail("请给 --body 或 --body-file（或 --finance）。")
    publish_at, rule = _when(at, now_flag, monthly, weekly, quarterly)
    if objection_days is None:
        objection_days = min_objection_days(category)
    try:
        with session_scope() as s:
            targets = [_village(s, n) for n in villages]
            notices = create_notice(s, category=category, title=title, body=body or "", villages=targets,
                                    town_wide=town_wide, link=link, publish_at=publish_at, recurrence=rule,
                                    objection_days=objection_days, finance_body=finance_body,
                                    late_limit_hours=late_limit_hours, template_id=config.template_notice_id)
            for n in notices:
                when = f"周期 {rule}，首次 {local_text(n.publish_at)}" if rule else local_text(n.publish_at)  # type: ignore[arg-type]
                if n.status == signoff.AWAITING:
                    when += f"；{signoff.LABEL}（确认后才发出）"
                click.echo(f"通知 {n.id} 已安排：{when}" + (f"；{n.masking_note}" if n.masking_note else ""))
    except NoticeRefused as exc:
        _fail(str(exc))


@notice.command("schedule")
@click.argument("notice_id", type=int)
@click.option("--at", default=None)
@click.option("--now", "now_flag", is_flag=True)
@click.option("--monthly", default=None, help="DAY@HH:MM")
@click.option("--weekly", default=None, help="WEEKDAY@HH:MM")
@click.option("--quarterly", default=None, help="[MONTH:]DAY@HH:MM")
def notice_schedule(notice_id: int, at: str | None, now_flag: bool, monthly: str | None, weekly: str | None,
                    quarterly: str | None) -> None:
    """Re-schedule a notice that has not gone out (or a series; or re-arm a missed one)."""
    setup()
    publish_at, rule = _when(at, now_flag, monthly, weekly, quarterly)
    monthly = monthly or quarterly
    with session_scope() as s:
        n = s.get(Notice, notice_id)
        if n is None or n.series_id is not None or n.status not in ("scheduled", "missed"):
            _fail("只能改还没发出（或错过）的通知。")
        assert n is not None
        n.recurrence = rule if (monthly or weekly or (at and rule)) else ("" if at or now_flag else n.recurrence)
        n.publish_at = publish_at or (next_due(n.recurrence, utcnow()) if n.recurrence else utcnow())
        n.status, n.flag_reason = "scheduled", None
        s.add(n)
        click.echo(f"通知 {n.id} 改为 {local_text(n.publish_at)}" + (f"（周期 {n.recurrence}）" if n.recurrence else ""))


@notice.command("confirm")
@click.argument("notice_id", type=int)
@click.option("--member", "member_ref", required=True,
              help="The 村务监督委员会 member who confirmed: their name or openid (see `member list`).")
@click.option("--staff", default="cli", help="Who is entering the confirmation.")
def notice_confirm(notice_id: int, member_ref: str, staff: str) -> None:
    """Record a 村务监督委员会 member's confirmation (given on paper or in person)."""
    setup()
    try:
        with session_scope() as s:
            n = s.get(Notice, notice_id)
            village_ids = [v.id for v in signoff.pending_villages(s, n)] if n else []
            candidates = [m for m in queries.members_matching(s, village_ids, member_ref.strip())
                          if signoff.is_supervisor(m.role)]
            if n is not None and n.status == signoff.AWAITING and not candidates:
                _fail(f"在要确认的村里没有找到监督委员会成员“{member_ref}”（角色要是“{signoff.ROLE}”）。")
            result = signoff.confirm_by_member(s, notice_id, candidates[0].id if candidates else 0,  # type: ignore[arg-type]
                                               via="cli", recorded_by=staff)
            click.echo(result.reply())
    except signoff.SignoffRefused as exc:
        _fail(str(exc))


@notice.command("list")
@click.option("--limit", default=30, show_default=True)
def notice_list(limit: int) -> None:
    setup()
    with session_scope(readonly=True) as s:
        for n in queries.latest_notices(s, limit):
            when = n.published_at or n.publish_at
            click.echo(f"{n.id}\t{NOTICE_STATUS_LABELS.get(n.status, n.status)}\t{local_text(when) if when else '-'}\t【{n.category}】{n.title}\t"
                       f"{target_names(s, n)}{'  周期 ' + n.recurrence if n.recurrence else ''}")


@notice.command("report")
@click.argument("notice_id", type=int)
def notice_report(notice_id: int) -> None:
    """Delivery report: sent / failed (WeChat's error) / pending / needs review."""
    setup()
    with session_scope(readonly=True) as s:
        n = s.get(Notice, notice_id)
        if n is None:
            _fail(f"没有通知 {notice_id}")
        click.echo("\n".join(delivery_report(s, n).lines()))  # type: ignore[arg-type]


@notice.command("cancel")
@click.argument("notice_id", type=int)
def notice_cancel(notice_id: int) -> None:
    setup()
    with session_scope() as s:
        n = s.get(Notice, notice_id)
        if n is None or not cancel(s, n):
            _fail("只能取消还没发出的通知。")
        click.echo(f"通知 {notice_id} 已取消。")


@notice.command("objections")
@click.argument("notice_id", type=int)
def notice_objections(notice_id: int) -> None:
    setup()
    with session_scope(readonly=True) as s:
        ids = [notice_id] + queries.series_issue_ids(s, notice_id)
        for o in queries.objections_of(s, ids, newest_first=False):
            click.echo(f"{o.id}\t{local_text(o.created_at)}\t{o.status}\t{o.openid}\t{o.text}")


# --------------------------------------------------------------------------- outbox
@cli.group()
def outbox() -> None:
    """The delivery queue."""


@outbox.command("dispatch")
@click.option("--threads", default=8, show_default=True)
@click.option("--forever", is_flag=True, help="Keep polling (normally the clock process does this).")
def outbox_dispatch(threads: int, forever: bool) -> None:
    """Send what is due now (a second dispatcher is safe: rows are claimed atomically)."""
    import time


    config = setup()
    with Dispatcher(config, threads=threads) as d:
        while True:
            st = d.run()
            if st.claimed or not forever:
                click.echo(f"claimed {st.claimed} sent {st.sent} retry {st.retried} failed {st.failed} "
                           f"review {st.review} ({st.seconds:.1f}s)", err=not forever)
            if not forever:
                break
            time.sleep(1)


@outbox.command("review")
@click.option("--resolve", "resolve_id", type=int, default=None, help="Row id to resolve.")
@click.option("--as", "resolution", type=click.Choice(["sent", "resend", "failed"]), default=None,
              help="sent = it did arrive; resend = it did not, queue it again; failed = give up.")
def outbox_review(resolve_id: int | None, resolution: str | None) -> None:
    """List rows whose delivery is uncertain, or resolve one after checking with the resident."""
    setup()
    with session_scope() as s:
        if resolve_id is None:
            for r in queries.review_rows(s):
                click.echo(f"{r.id}\t{r.kind}\t通知 {r.notice_id or '-'}\t{r.openid or '村' + str(r.village_id)}\t{r.last_error or ''}")
            return
        if resolution is None:
            _fail("请用 --as sent|resend|failed")
        assert resolution is not None
        if not resolve_review(s, resolve_id, resolution):
            _fail("这条不在待核对状态。")
        click.echo(f"#{resolve_id} → {REVIEW_RESOLUTIONS[resolution]}")
