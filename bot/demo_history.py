"""A living demo: 90 days of generated history for the demo county 云岭县 (all fictional).

`serve` loads it once into a database that has just received the demo county, so a first look
at the panel shows the work: residents bound to villages, a few thousand questions (answered,
choices, unanswered), notices of each category with their delivery reports, and disclosure
requests in every state of the loop, including last year's closed ones for the annual report.

Rows are written through the services the bot itself uses (the matcher and question log, notice
creation/publishing/enqueueing, objections, the request workflow with its deadline rules), with
past dates passed in, so they are consistent with what the live bot would have written. ID
numbers use the region code 999999, which no real ID has; phones are 1300000xxxx; names are drawn
from common surnames and given names.
"""
from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import bindparam, insert, update
from sqlmodel import Session, col, select

from content import index
from content.answering import question_log_values, unanswered_key
from core.config import Config
from core.db import session_scope, utcnow
from core.models.activity import QuestionLog
from core.models.catalog import UnansweredQuestion
from core.models.core import Follower, Town, Village
from core.models.notices import CommitteeMember, Notice
from core.models.outbox import OutboxMessage
from core.models.requests import DisclosureRequest
from core.notices import finance
from core.notices.service import create_notice, enqueue_notice, mark_published, record_objection
from core.requests.service import ApplicationData, create_application, transition
from core.requests.validation import id_check_char
from core.requests.workdays import BEIJING, is_workday

log = logging.getLogger("bot.demo_history")

DATA = Path(__file__).resolve().parent.parent / "content" / "data" / "demo_questions.yaml"
FAKE_REGION = "999999"   # no real resident ID starts with 99
DAYS = 90
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严莫孔向常汤"
GIVEN = ["秀英", "桂英", "秀兰", "玉兰", "建国", "建华", "国强", "志强", "春梅", "海燕", "德明", "德福", "永红",
         "文华", "丽华", "小红", "金凤", "明亮", "长青", "福生", "来顺", "玉梅", "淑珍", "凤英", "宝山", "红梅",
         "卫东", "爱民", "秋菊", "有才", "水生", "桂芳", "少华", "振华", "翠花", "满仓"]
STAFF_COUNTY = "县政务公开办 周敏"
STAFF_TOWN = "清河镇党政办 陈立"


@dataclass
class Summary:
    followers: int = 0
    questions: int = 0
    unanswered: int = 0
    notices: int = 0
    deliveries: int = 0
    requests: int = 0
    seconds: float = 0.0


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def fake_id(rng: random.Random, born: date | None = None) -> str:
    """A resident-ID-shaped number with a valid check digit in a region code that does not exist."""
    born = born or date(rng.randint(1945, 2000), rng.randint(1, 12), rng.randint(1, 28))
    first17 = f"{FAKE_REGION}{born:%Y%m%d}{rng.randint(0, 999):03d}"
    return first17 + id_check_char(first17)


def fake_phone(rng: random.Random) -> str:
    return f"1300000{rng.randint(0, 9999):04d}"


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    """A Beijing wall-clock time on `day`, as aware UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BEIJING).astimezone(timezone.utc)


def workdays_ago(today: date, n: int) -> date:
    day, counted = today, 0
    while counted < n:
        day -= timedelta(days=1)
        counted += is_workday(day)[0]
    return day


def _workday_after(day: date, n: int) -> date:
    counted = 0
    while counted < n:
        day += timedelta(days=1)
        counted += is_workday(day)[0]
    return day


# --------------------------------------------------------------------------- residents
def _followers(s: Session, rng: random.Random, villages: list[Village], now: datetime) -> dict[int, list[str]]:
    rows, by_village = [], {}
    for v in villages:
        assert v.id is not None
        openids = []
        for _ in range(rng.randint(14, 38)):
            openid = "oDemo" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789")
                                       for _ in range(23))
            first = now - timedelta(days=rng.randint(20, 200), minutes=rng.randint(0, 1440))
            recent = rng.random() < 0.35
            last = now - (timedelta(hours=rng.uniform(1, 40)) if recent else timedelta(days=rng.uniform(2, 80)))
            subscribed = rng.random() > 0.03
            rows.append({"openid": openid, "village_id": v.id, "subscribed": subscribed, "subscribed_at": first,
                         "unsubscribed_at": None if subscribed else now - timedelta(days=rng.randint(1, 15)),
                         "last_interaction_at": max(last, first), "bound_at": first + timedelta(minutes=3),
                         "created_at": first})
            if subscribed:
                openids.append(openid)
        by_village[v.id] = openids
    for _ in range(rng.randint(15, 25)):  # followed, never bound a village
        first = now - timedelta(days=rng.randint(1, 120))
        rows.append({"openid": "oDemo" + "".join(rng.choice("abcdefghijkmnpqrstuvwxyz23456789") for _ in range(23)),
                     "village_id": None, "subscribed": True, "subscribed_at": first, "unsubscribed_at": None,
                     "last_interaction_at": first, "bound_at": None, "created_at": first})
    s.execute(insert(Follower), rows)
    # One or two committee members per village publish its notices by chat.
    for v in villages:
        assert v.id is not None
        for role in rng.sample(["主任", "会计", "报账员"], rng.randint(1, 2)):
            s.add(CommitteeMember(openid=rng.choice(by_village[v.id]), village_id=v.id, role=role,
                                  name=rng.choice(SURNAMES) + role))
    s.flush()
    return by_village


# --------------------------------------------------------------------------- questions
def _questions(s: Session, rng: random.Random, villages: list[Village], by_village: dict[int, list[str]],
               now: datetime, summary: Summary) -> None:
    data = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    asked, unanswerable = data["asked"], data["unanswered"]
    matcher = index.get_matcher(s)
    results = {q: matcher.match(q, limit=4) for q in asked + unanswerable}
    # Villages differ in how much they use the bot; use grows over the 90 days.
    weight = {v.id: rng.uniform(0.4, 1.6) for v in villages}
    vids = [v.id for v in villages if v.id is not None]
    groups: dict[tuple[str, int | None], UnansweredQuestion] = {}
    logs: list[dict[str, Any]] = []
    today = now.astimezone(BEIJING).date()
    for back in range(DAYS, -1, -1):
        day = today - timedelta(days=back)
        per_day = int((14 + 30 * (DAYS - back) / DAYS) * (0.75 if day.weekday() >= 5 else 1.0) * rng.uniform(0.8, 1.2))
        for _ in range(per_day):
            at = _at(day, rng.choice([7, 8, 9, 10, 11, 12, 13, 15, 17, 19, 20, 21]), rng.randint(0, 59))
            if at > now:
                continue
            vid = rng.choices(vids, weights=[weight[v] for v in vids])[0]
            openid = rng.choice(by_village[vid]) if by_village[vid] else ""
            question = rng.choice(unanswerable) if rng.random() < 0.12 else rng.choice(asked)
            result = results[question]
            logs.append(question_log_values(question, result, openid=openid, village_id=vid, asked_at=at))
            if result.kind == "fallback":
                key = (unanswered_key(question, matcher.norm.question(question)), vid)
                group = groups.get(key)
                if group is None:
                    groups[key] = UnansweredQuestion(openid=openid, village_id=vid, question=question,
                                                     normalized=key[0], times_asked=1, first_asked_at=at,
                                                     last_asked_at=at)
                else:
                    group.times_asked += 1
                    group.first_asked_at, group.last_asked_at = min(group.first_asked_at, at), max(group.last_asked_at, at)
    # Staff have dealt with a few of the older ones.
    for group in groups.values():
        if group.last_asked_at < now - timedelta(days=30) and rng.random() < 0.5:
            group.handled, group.handled_at, group.note = True, group.last_asked_at + timedelta(days=2), "已转村委会答复"
    s.execute(insert(QuestionLog), logs)
    s.add_all(list(groups.values()))
    s.flush()
    summary.questions, summary.unanswered = len(logs), len(groups)


# --------------------------------------------------------------------------- notices
_FAILURES = ["45015 超过48小时没有互动，客服消息发不出", "43004 对方已取消关注", "-1 微信系统繁忙"]


def _publish(s: Session, rng: random.Random, village: Village, category: str, title: str, body: str,
             at: datetime, *, objection_days: int = 0, created_by: str = "cli", fail_rate: float = 0.04) -> Notice:
    """Create and publish a notice at a past time, then record how its sends went."""
    notice = create_notice(s, category=category, title=title, body=body, villages=[village], publish_at=at,
                           objection_days=objection_days, created_by=created_by, now=at - timedelta(hours=2))[0]
    mark_published(s, notice, at)
    enqueue_notice(s, notice, now=at)
    rows = s.exec(select(OutboxMessage.id).where(OutboxMessage.notice_id == notice.id,
                                                 OutboxMessage.status == "pending")).all()
    done: list[dict[str, Any]] = []
    for i, row_id in enumerate(rows):
        sent_at = at + timedelta(seconds=2 + i // 8)
        if rng.random() < fail_rate:
            err = rng.choice(_FAILURES)  # a busy WeChat (-1) is retried 6 times before it counts as failed
            done.append({"i": row_id, "st": "failed", "err": err, "sent": None, "n": 6 if err.startswith("-1") else 1})
        else:
            done.append({"i": row_id, "st": "sent", "err": None, "sent": sent_at, "n": 1})
    if done:  # one executemany, as the dispatcher records its outcomes
        table = OutboxMessage.__table__  # type: ignore[attr-defined]
        s.execute(update(table).where(table.c.id == bindparam("i"))
                  .values(status=bindparam("st"), last_error=bindparam("err"), sent_at=bindparam("sent"),
                          attempts=bindparam("n")), done)
    return notice


def _list_body(rng: random.Random, what: str, amount: tuple[int, int], n: int) -> str:
    lines = [f"经村民代表会议评议，以下{n}户拟享受{what}，现予公示："]
    for i in range(1, n + 1):
        lines.append(f"{i}. {_name(rng)} 身份证号 {fake_id(rng)} 金额 {rng.randint(*amount)} 元 联系电话 {fake_phone(rng)}")
    lines.append("公示期内如有异议，请向村委会反映或回复“异议 编号 内容”。")
    return "\n".join(lines)


def _notices(s: Session, rng: random.Random, villages: list[Village], towns: dict[int, str], now: datetime,
             summary: Summary) -> None:
    today = now.astimezone(BEIJING).date()
    members = {m.village_id: m.openid for m in s.exec(select(CommitteeMember)).all()}
    newest: Notice | None = None
    for v in villages:
        assert v.id is not None
        by = members.get(v.id, "cli")
        # 村级财务: the last three months' figures, published on the 5th of the month after.
        for back in (3, 2, 1):
            month = (today.replace(day=1) - timedelta(days=28 * back)).replace(day=1)
            period = f"{month:%Y-%m}"
            items = [{"kind": "收入", "name": "上级转移支付", "fen": rng.randint(30, 90) * 100_000},
                     {"kind": "收入", "name": "集体资产租金", "fen": rng.randint(5, 40) * 100_000},
                     {"kind": "支出", "name": "道路维修", "fen": rng.randint(5, 30) * 100_000},
                     {"kind": "支出", "name": "村干部误工补贴", "fen": rng.randint(10, 25) * 100_000},
                     {"kind": "支出", "name": "保洁员工资", "fen": rng.randint(3, 8) * 100_000}]
            fin = finance.record(s, v, period, items=items, balance_fen=rng.randint(50, 400) * 100_000)
            title, body = finance.notice_text(v, fin)
            published = (month + timedelta(days=40)).replace(day=5)
            if published > today:
                continue
            newest = _publish(s, rng, v, "村级财务", title, body, _at(published, 9), created_by=by)
        # Lists that name residents: masked before sending (the body here has IDs and phones).
        if rng.random() < 0.7:
            day = today - timedelta(days=rng.randint(20, 80))
            _publish(s, rng, v, "惠农补贴", f"{v.name}耕地地力保护补贴发放名单",
                     _list_body(rng, "耕地地力保护补贴", (300, 1800), rng.randint(4, 8)), _at(day, 10),
                     objection_days=7, created_by=by)
        if rng.random() < 0.6:
            day = today - timedelta(days=rng.randint(10, 70))
            _publish(s, rng, v, "社会救助", f"{v.name}新增低保对象公示",
                     _list_body(rng, "最低生活保障", (420, 760), rng.randint(2, 5)), _at(day, 15),
                     objection_days=7, created_by=by)
        if towns.get(v.town_id or 0) == "柳塘镇":
            day = today - timedelta(days=rng.randint(25, 45))
            _publish(s, rng, v, "救灾", f"{v.name}7月洪涝灾害救灾物资发放情况",
                     "本次发放大米、食用油、棉被，按受灾程度分三档。\n" + _list_body(rng, "救灾物资", (200, 800), 3),
                     _at(day, 14), objection_days=7, created_by=by, fail_rate=0.1)
        if rng.random() < 0.5:
            day = today - timedelta(days=rng.randint(1, 60))
            _publish(s, rng, v, "其他", "停水通知",
                     f"因管网检修，{v.name}{day.month}月{day.day}日8:00至17:00停水，请提前储水。", _at(day - timedelta(days=1), 18),
                     created_by=by)
    # One list still in its 公示期 with an objection, one send the dispatcher could not confirm,
    # and one notice scheduled for tomorrow morning.
    qs = next(v for v in villages if v.name == "青石村") if any(v.name == "青石村" for v in villages) else villages[0]
    open_notice = _publish(s, rng, qs, "惠农补贴", f"{qs.name}2026年度高龄津贴发放名单",
                           _list_body(rng, "高龄津贴", (100, 300), 6), now - timedelta(days=2), objection_days=7,
                           created_by=members.get(qs.id or 0, "cli"))
    objector = s.exec(select(Follower.openid).where(Follower.village_id == qs.id)).first() or ""
    record_objection(s, open_notice, objector, qs.id, "名单第3户家里老人去年已经过世，不应再领，请核实。",
                     now - timedelta(days=1, hours=3))
    if newest is not None:
        row = s.exec(select(OutboxMessage).where(OutboxMessage.notice_id == newest.id)).first()
        if row is not None:
            row.status, row.sent_at = "review", None
            row.last_error = "发送时进程中断，不确定是否已送达，请人工核对"
            s.add(row)
    tomorrow = today + timedelta(days=1)
    create_notice(s, category="其他", title="冬季防火安全提醒", villages=[qs], publish_at=_at(tomorrow, 9),
                  body="冬季天干物燥，请勿在山林附近烧荒、烧纸；发现火情请拨打119并报告村委会。",
                  created_by=members.get(qs.id or 0, "cli"), now=now)
    s.flush()
    summary.notices = len(s.exec(select(Notice.id)).all())
    summary.deliveries = len(s.exec(select(OutboxMessage.id).where(col(OutboxMessage.notice_id).is_not(None))).all())


# --------------------------------------------------------------------------- disclosure requests
_WANTS = [
    "{v}2026年道路硬化工程的招标文件、中标通知书和验收报告",
    "{v}近三年集体土地征收的批复文件和补偿款发放明细",
    "{t}2025年度低保资金发放总额及各村户数",
    "{v}村集体鱼塘承包合同及承包费收取情况",
    "{t}高标准农田建设项目的资金使用情况",
    "{v}危房改造补助对象名单及补助金额",
    "{t}2026年耕地地力保护补贴的发放标准和面积核定依据",
    "{v}村级公益事业一事一议项目的筹资和开支情况",
    "{t}垃圾中转站选址的环评文件",
    "{v}宅基地审批的公示材料",
]


def _application(rng: random.Random, v: Village, towns: dict[int, str]) -> ApplicationData:
    want = rng.choice(_WANTS).format(v=v.name, t=towns.get(v.town_id or 0, "本镇"))
    delivery = rng.choice(["wechat", "pickup", "post", "email"])
    return ApplicationData(applicant_type="person", name=_name(rng), id_number=fake_id(rng), phone=fake_phone(rng),
                           description=want, form="electronic" if delivery in ("wechat", "email") else "paper",
                           delivery=delivery, address="云岭县清河镇府前街8号" if delivery == "post" else None,
                           email="applicant@example.org" if delivery == "email" else None)


def _requests(s: Session, config: Config, rng: random.Random, villages: list[Village], towns: dict[int, str],
              by_village: dict[int, list[str]], now: datetime, summary: Summary) -> None:
    today = now.astimezone(BEIJING).date()

    def new(received: date, *, town: str | None = None, channel: str = "wechat"):
        """An application from a resident of `town` (random if None); a WeChat one goes to the agency
        of the applicant's bound town, one at the counter to the county office."""
        if town not in towns.values():  # any town, or the one asked for when the county has it
            town = rng.choice(sorted(set(towns.values())))
        v = rng.choice([v for v in villages if towns.get(v.town_id or 0) == town and by_village.get(v.id or 0)])
        openid = rng.choice(by_village[v.id or 0]) if channel == "wechat" else None
        return create_application(s, config, _application(rng, v, towns), openid=openid, channel=channel,
                                  now=_at(received, 10), received=received)

    def step(req, action: str, day: date, staff: str = STAFF_TOWN, **kw) -> None:
        transition(s, config, req, action, staff, on=day, now=_at(day, 16), notify=False, **kw)

    def concluded(received: date, reply_type: str, *, archive: bool = True, **kw) -> None:
        req = new(received)
        step(req, "register", received)
        step(req, "review", _workday_after(received, 1))
        replied = _workday_after(received, rng.randint(6, 18))
        if replied > today:
            replied = today
        step(req, "reply", replied, reply_type=reply_type, **kw)
        step(req, "deliver", min(_workday_after(replied, 1), today))
        if archive:
            step(req, "archive", min(_workday_after(replied, 3), today), staff=STAFF_COUNTY)

    types: list[tuple[str, dict[str, Any]]] = [("disclose", {}), ("disclose", {}), ("partial", {"reason": "其中涉及个人隐私的身份证号、银行账号不予公开", "ground": "third_party"}),
             ("already_public", {"reason": "已在县政府门户网站“政府信息公开”栏目公开"}),
             ("not_exist", {}), ("not_competent", {"reason": "请向县自然资源局申请，电话 0599-6300000"}),
             ("refuse", {"ground": "third_party", "reason": "涉及第三方个人隐私，第三方不同意公开"})]
    # Last year: closed and archived, so the annual report has a year to show.
    last_year = today.year - 1
    for month in range(2, 12):
        received = _workday_after(date(last_year, month, rng.randint(1, 18)), 1)
        reply_type, kw = rng.choice(types)
        concluded(received, reply_type, **kw)
    # This year: the whole loop.
    for back in (70, 60, 52, 45, 40, 33):
        reply_type, kw = rng.choice(types)
        concluded(workdays_ago(today, back), reply_type, archive=back > 50, **kw)
    replied = new(workdays_ago(today, 16))                       # replied, waiting to be delivered
    step(replied, "register", replied.received_date)
    step(replied, "reply", workdays_ago(today, 1), reply_type="disclose")
    gone = new(workdays_ago(today, 40))                          # no supplement came: treated as abandoned
    step(gone, "request_supplement", _workday_after(gone.received_date, 2), reason="请写明所需信息的具体年份和项目名称",
         days=10)
    step(gone, "abandon", _workday_after(gone.received_date, 14), confirmed=True)
    overdue = new(workdays_ago(today, 24), town="清河镇")         # overdue: due date passed, no reply yet
    step(overdue, "register", overdue.received_date)
    step(overdue, "review", _workday_after(overdue.received_date, 2))
    for back, town in ((18, "清河镇"), (17, "清河镇"), (19, "石门乡")):  # due within 5 working days
        req = new(workdays_ago(today, back), town=town)
        step(req, "register", req.received_date)
        step(req, "review", _workday_after(req.received_date, 1))
    extended = new(workdays_ago(today, 23), town="清河镇")        # extended once, with a reason
    step(extended, "register", extended.received_date)
    step(extended, "review", _workday_after(extended.received_date, 1))
    step(extended, "extend", workdays_ago(today, 3), reason="涉及多个年度的档案，需要到县档案馆调取",
         approver="清河镇镇长 王建华")
    supplement = new(workdays_ago(today, 5), town="柳塘镇")      # waiting for the applicant's 补正
    step(supplement, "request_supplement", workdays_ago(today, 3), reason="申请内容不明确：请写明是哪一年哪个项目的资金")
    consult = new(workdays_ago(today, 9), town="清河镇")         # third party asked
    step(consult, "register", consult.received_date)
    step(consult, "consult", workdays_ago(today, 6), reason="承包人的商业信息（承包费和经营数据）",
         party="鱼塘承包人")
    registered = new(workdays_ago(today, 2), town="石门乡")
    step(registered, "register", registered.received_date)
    new(today if is_workday(today)[0] else workdays_ago(today, 1), channel="counter")  # just received
    new(today)
    summary.requests = len(s.exec(select(DisclosureRequest.id)).all())


# --------------------------------------------------------------------------- entry point
def load_demo_history(config: Config, now: datetime | None = None, seed: int = 20261130) -> Summary | None:
    """Fill a freshly loaded demo county with 90 days of history; None if it has any already."""
    started = time.monotonic()
    now = now or utcnow()
    rng = random.Random(seed)
    summary = Summary()
    with session_scope() as s:
        if s.exec(select(Follower.openid)).first() is not None or s.exec(select(QuestionLog.id)).first() is not None:
            return None
        villages = list(s.exec(select(Village).order_by(col(Village.id))).all())
        if not villages:
            return None
        towns = {t.id: t.name for t in s.exec(select(Town)).all() if t.id is not None}
        # Each town delivers its own way: mass send by tag, per-follower messages, a WeCom group.
        for v in villages:
            town = towns.get(v.town_id or 0)
            if town == "清河镇":
                v.channels = "tag_mass"
            elif town == "柳塘镇":
                v.channels, v.wecom_robot_key = "custom,wecom", f"demo-robot-{v.id}"
            s.add(v)
        by_village = _followers(s, rng, villages, now)
        summary.followers = sum(len(o) for o in by_village.values())
        _questions(s, rng, villages, by_village, now, summary)
    with session_scope() as s:
        villages = list(s.exec(select(Village).order_by(col(Village.id))).all())
        _notices(s, rng, villages, towns, now, summary)
    with session_scope() as s:
        villages = list(s.exec(select(Village).order_by(col(Village.id))).all())
        _requests(s, config, rng, villages, towns, by_village, now, summary)
    summary.seconds = time.monotonic() - started
    log.info("demo history: %s", json.dumps(summary.__dict__, ensure_ascii=False))
    return summary
