"""The first page after login: what needs this account today, then the figures and charts of
its own area (a village clerk's village, a town's villages, the whole county)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import render_template, url_for
from sqlmodel import Session

from admin import bp
from admin.charts import (
    BLUE,
    GREEN,
    GREY,
    ORANGE,
    PURPLE,
    RED,
    SKY,
    Series,
    column_figures,
    hbars,
    legend,
    stacked_columns,
)
from admin.views import notices as notices_views
from admin.views import requests as requests_views
from admin.views.common import int_arg, scope
from content import questions as question_queries
from core.db import session_scope, utcnow
from core.models.notices import Notice, Objection
from core.models.requests import DisclosureRequest
from core.notices import objections
from core.notices import queries as notice_queries
from core.notices.service import KIND_LABELS
from core.places import subscribed_per_village, town_names, town_of_village, towns_by_name
from core.requests import queries as request_queries
from core.requests import service as requests_service
from core.requests.kinds import CLOCK_STATUSES, OPEN_STATUSES, STATUS_LABELS
from core.requests.workdays import BEIJING
from core.scope import Scope

DUE_SOON = requests_views.DUE_SOON_WORKDAYS
KIND_SERIES = (("answer", "直接答复", GREEN), ("choices", "给出选项", BLUE), ("fallback", "没答上", ORANGE))
OUTCOMES = (("sent", "已发送", GREEN), ("failed", "失败", RED), ("review", "需核对", PURPLE),
            ("skipped", "无法送达", GREY), ("pending", "待发送", SKY))


@dataclass
class Today:
    """What needs this account, most urgent first; each list is short and links to the page to act."""

    drafts: list[Notice] = field(default_factory=list)
    objections: list[tuple[Objection, str]] = field(default_factory=list)
    failed: list[tuple[Notice, int, int]] = field(default_factory=list)   # notice, failed, review
    overdue: list[dict] = field(default_factory=list)
    due_soon: list[dict] = field(default_factory=list)
    towns: list[dict] = field(default_factory=list)                      # county: per-town counts

    @property
    def empty(self) -> bool:
        return not (self.drafts or self.objections or self.failed or self.overdue or self.due_soon)


def _local_day(moment: datetime) -> date:
    return moment.astimezone(BEIJING).date()


def _question_chart(s: Session, sc: Scope, days: int) -> tuple[object, dict[str, int]]:
    today = _local_day(utcnow())
    start = today - timedelta(days=days - 1)
    since = datetime(start.year, start.month, start.day, tzinfo=BEIJING)
    counts: Counter[tuple[date, str]] = Counter()
    for asked_at, kind in question_queries.asked_since(s, sc, since):
        counts[(_local_day(asked_at), kind)] += 1
    dates = [start + timedelta(days=i) for i in range(days)]
    series = [Series(label, color, [counts[(d, kind)] for d in dates]) for kind, label, color in KIND_SERIES]
    totals = {kind: sum(counts[(d, kind)] for d in dates) for kind, _l, _c in KIND_SERIES}
    labels = [f"{d.month}/{d.day}" for d in dates]
    wide = stacked_columns("chart-questions", labels, series, title=f"近{days}天每天的提问",
                           every=7 if days <= 31 else 14, css="wide-only", figures=False)
    recent = [Series(x.label, x.color, x.values[-14:]) for x in series]
    narrow = stacked_columns("chart-questions-phone", labels[-14:], recent, title="近14天每天的提问", every=7,
                             width=380, height=220, css="phone-only", figures=False)
    return legend(series) + wide + narrow + column_figures(labels, series), totals


def _unanswered_chart(s: Session, sc: Scope) -> object:
    open_rows = question_queries.open_questions(s, sc)
    rows: Counter[str] = Counter()
    for row in open_rows:  # one wording asked in several villages is one topic here
        rows[row.normalized] += row.times_asked
    examples: dict[str, str] = {}
    for row in open_rows:
        examples.setdefault(row.normalized, row.question)
    top = rows.most_common(8)
    labels = [(examples[k][:30], [n]) for k, n in top]
    links = {examples[k][:30]: url_for("admin.questions", q=examples[k][:20]) for k, _n in top}
    return hbars("chart-unanswered", labels, [Series("提问次数", ORANGE, [])], title="问得最多的没答上的问题",
                 link=links, label_head="问题")


def _request_charts(reqs: list[DisclosureRequest], today: date) -> tuple[object, object]:
    by_state = Counter(r.status for r in reqs if r.year == today.year)
    state_rows = [(label, [int(by_state.get(code, 0))]) for code, label in STATUS_LABELS.items() if by_state.get(code)]
    state_links = {label: url_for("admin.requests_list", status=code) for code, label in STATUS_LABELS.items()}
    buckets = {"已超期": 0, "0–2个工作日": 0, "3–5个工作日": 0, "6–10个工作日": 0, "10个工作日以上": 0,
               "补正中（暂停计时）": 0}
    for req in reqs:
        if req.status not in OPEN_STATUSES:
            continue
        if req.status not in CLOCK_STATUSES:
            buckets["补正中（暂停计时）"] += 1
            continue
        left = requests_service.workdays_left(req, today)
        if left is None:
            continue
        key = ("已超期" if left < 0 else "0–2个工作日" if left <= 2 else "3–5个工作日" if left <= 5
               else "6–10个工作日" if left <= 10 else "10个工作日以上")
        buckets[key] += 1
    colors = {"已超期": RED, "0–2个工作日": ORANGE, "3–5个工作日": ORANGE, "6–10个工作日": BLUE,
              "10个工作日以上": GREEN, "补正中（暂停计时）": GREY}
    left_rows = [(k, [0] * i + [v] + [0] * (len(buckets) - i - 1)) for i, (k, v) in enumerate(buckets.items())]
    left_series = [Series(k, colors[k], []) for k in buckets]
    return (hbars("chart-request-states", state_rows, title=f"{today.year}年依申请公开：各环节件数", link=state_links,
                  label_head="环节"),
            hbars("chart-request-left", left_rows, left_series, title="办理中的申请离答复期限还有几天",
                  label_head="剩余", show_legend=False))


def _delivery_chart(s: Session, village_ids: list[int] | None, days: int = 90) -> tuple[object, dict[str, int]]:
    table: dict[str, Counter[str]] = {}
    totals: Counter[str] = Counter()
    for kind, status, n in notice_queries.delivery_by_kind(s, village_ids, utcnow() - timedelta(days=days)):
        status = "pending" if status == "sending" else status
        table.setdefault(kind, Counter())[status] += n
        totals[status] += n
    rows = [(KIND_LABELS.get(kind, kind), [table[kind][code] for code, _l, _c in OUTCOMES]) for kind in sorted(table)]
    series = [Series(label, color, []) for _code, label, color in OUTCOMES]
    return hbars("chart-delivery", rows, series, title=f"近{days}天通知的发送结果（按渠道）", label_head="渠道"), dict(totals)


def _today(s: Session, sc: Scope, village_ids: list[int] | None, today: date,
           reqs: list[DisclosureRequest]) -> Today:
    out = Today()
    month_ago = utcnow() - timedelta(days=30)
    out.drafts = notice_queries.drafts_to_publish(s, village_ids, 10)
    out.objections = objections.open_with_titles(s, sc, 10)
    per_notice = notice_queries.problems_per_notice(s, village_ids, month_ago)
    if per_notice:
        notices = notice_queries.notices_by_id(s, [i for i in per_notice if i is not None])
        out.failed = sorted(((notices[i], c["failed"], c["review"]) for i, c in per_notice.items() if i in notices),
                            key=lambda t: (-t[2], -t[1]))[:10]
    running = sorted((r for r in reqs if r.status in CLOCK_STATUSES and r.due_date is not None),
                     key=lambda r: r.due_date or today)
    for req in running:
        left = requests_service.workdays_left(req, today)
        if left is not None and left < 0:
            out.overdue.append(requests_service.row_view(req, today) | {"req": req})
        elif left is not None and left <= DUE_SOON:
            out.due_soon.append(requests_service.row_view(req, today) | {"req": req})
    if sc.is_county:
        towns = towns_by_name(s)
        village_town = town_of_village(s)
        per_town: dict[int | None, Counter[str]] = {t.id: Counter() for t in towns}
        for vid, n in objections.open_per_village(s).items():
            per_town.setdefault(village_town.get(vid), Counter())["objections"] += n
        for vid, n in question_queries.open_per_village(s).items():
            per_town.setdefault(village_town.get(vid), Counter())["unanswered"] += n
        for vid, status, n in notice_queries.problems_per_village(s, month_ago):
            per_town.setdefault(village_town.get(vid), Counter())[status] += n
        out.towns = [{"town": t, **per_town.get(t.id, Counter())} for t in towns]
    return out


@bp.get("/")
def dashboard() -> str:
    sc = scope()
    days = 90 if int_arg("days") == 90 else 30
    today = requests_service.today_in_china()
    with session_scope(readonly=True) as s:
        villages = sc.villages(s)
        village_ids = sc.village_ids(s)
        towns = town_names(s)
        per_village = subscribed_per_village(s, sc)
        unbound = per_village.pop(None, 0) if sc.is_county else 0
        questions = question_queries.open_count(s, sc)
        requests = request_queries.dashboard_counts(s, sc) if sc.handles_requests else None
        notices = notices_views.dashboard_counts(s, sc)
        question_chart, asked = _question_chart(s, sc, days)
        unanswered_chart = _unanswered_chart(s, sc)
        delivery_chart, delivered = _delivery_chart(s, village_ids)
        reqs = request_queries.requests_in_scope(s, sc)
        request_charts = _request_charts(reqs, today) if sc.handles_requests else None
        todo = _today(s, sc, village_ids, today, reqs)
        open_objections = objections.open_count(s, sc)
        area = ("全县" if sc.is_county else towns.get(sc.town_id, "") if sc.role == "town"
                else next((v.name for v in villages), ""))
    rows = [(v, towns.get(v.town_id, ""), per_village.get(v.id, 0)) for v in villages]
    return render_template("dashboard.html", rows=rows, total=sum(per_village.values()) + unbound,
                           unbound=unbound, questions=questions, requests=requests, notices=notices,
                           objections=open_objections,
                           question_chart=question_chart, asked=asked, days=days,
                           unanswered_chart=unanswered_chart, delivery_chart=delivery_chart, delivered=delivered,
                           request_charts=request_charts, todo=todo, area=area, today=today,
                           role=sc.role)
