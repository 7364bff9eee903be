"""Notices in the admin: the create/schedule form (through core.notices.service), who may target
which village, the delivery report from the outbox, cancelling."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import select

from core import db
from core.db import utcnow
from core.models.core import Follower
from core.models.notices import Notice, NoticeVillage
from core.models.outbox import OutboxMessage
from tests.admin_support import login, make_staff, post_form

ID_IN_LIST = "330106199001011237"


def _preview(s, live, **fields):  # type: ignore[no-untyped-def]
    data = {"category": "社会救助", "title": "2026年11月低保名单公示", "when": "now", "objection_days": "7", **fields}
    return data, post_form(s, live.url, "/admin/notices/new", "/admin/notices/new", {**data, "action": "preview"})


def _new(s, live, **fields):  # type: ignore[no-untyped-def]
    """Preview, then confirm with the preview's token (what the browser does)."""
    data, r = _preview(s, live, **fields)
    m = re.search(r'name="preview_token" value="([0-9a-f]+)"', r.text)
    if r.status_code != 200 or not m:
        return r
    return post_form(s, live.url, "/admin/notices/new", "/admin/notices/new",
                     {**data, "action": "save", "preview_token": m.group(1)})


def test_clerk_publishes_to_own_village_masked_and_the_clock_queues_it(live, config, villages):
    qs = villages["青石村"]
    with db.session_scope() as s:
        for i in range(3):
            s.add(Follower(openid=f"oQS_notice_reader_{i}", village_id=qs, subscribed=True,
                           last_interaction_at=utcnow()))
        s.add(Follower(openid="oYL_notice_reader_0", village_id=villages["杨柳村"], subscribed=True,
                       last_interaction_at=utcnow()))
    make_staff("qs", "village", village="青石村")
    s = login(live.url, "qs")
    body = f"低保户：王五，身份证 {ID_IN_LIST}，电话 13900001234，每月 680 元。"
    r = _new(s, live, body=body)
    assert r.status_code == 200 and "通知已保存" in r.text
    with db.session_scope(readonly=True) as sess:
        notice = sess.exec(select(Notice)).one()
        targets = sess.exec(select(NoticeVillage.village_id).where(NoticeVillage.notice_id == notice.id)).all()
    assert targets == [qs] and not notice.town_wide
    assert ID_IN_LIST not in notice.body and "13900001234" not in notice.body and "139****1234" in notice.body
    assert notice.objection_days == 7 and notice.created_by == "staff:qs"
    assert ID_IN_LIST not in r.text

    from core.schedule import publish_due

    publish_due(config, now=utcnow() + timedelta(seconds=5))
    report = s.get(f"{live.url}/admin/notices/{notice.id}", timeout=10).text
    totals = report.split('id="delivery-totals"', 1)[1].split("</div>\n</div>", 1)[0]
    with db.session_scope(readonly=True) as sess:
        rows = sess.exec(select(OutboxMessage).where(OutboxMessage.notice_id == notice.id)).all()
    assert {r.openid for r in rows if r.openid} == {f"oQS_notice_reader_{i}" for i in range(3)}
    pending = sum(1 for r in rows if r.status == "pending")
    assert re.search(rf'<span class="n">{pending}</span>待发送', totals)
    assert "oQS_notice_reader_0" not in report and "oQS_****er_0" in report
    assert re.search(r'id="notices-pending">[1-9]', s.get(f"{live.url}/admin/", timeout=10).text)


def test_clerk_cannot_target_another_village_and_bad_lists_are_refused(live, villages):
    make_staff("qs", "village", village="青石村")
    s = login(live.url, "qs")
    r = _new(s, live, body="通知内容", villages=[str(villages["杨柳村"])])
    assert r.status_code == 400 and "只能发给您负责的村" in r.text
    r = _new(s, live, body="通知内容", category="")
    assert r.status_code == 400 and "请选择类别" in r.text  # no silent default
    r = _new(s, live, body="", title="")
    assert r.status_code == 400 and "标题不能为空" in r.text
    r = _new(s, live, body="内容", when="later", publish_at="2000-01-01T09:00")
    assert r.status_code == 400 and "要晚于现在" in r.text
    r = _new(s, live, body="内容", when="later", publish_at="")
    assert r.status_code == 400 and "请填写发布时间" in r.text
    with db.session_scope(readonly=True) as sess:
        assert sess.exec(select(Notice)).all() == []


def test_preview_masks_before_anything_is_saved_and_confirm_needs_that_preview(live, villages):
    make_staff("qs", "village", village="青石村")
    s = login(live.url, "qs")
    body = f"低保户：王五，身份证 {ID_IN_LIST}，低保证号 3301061234567890，手机 0599-6812345，每月 680 元。"
    data, r = _preview(s, live, body=body)
    assert r.status_code == 200
    preview = r.text.split('id="notice-preview"', 1)[1].split("</section>", 1)[0]
    assert ID_IN_LIST not in preview and "[身份证号已隐去]" in preview
    assert "3301061234567890" not in preview and "尾号7890" in preview and "0599-****2345" in preview
    assert "其他长号码 1 个" in preview and "低保证号" in preview and "12位以上" in preview
    assert "【社会救助】2026年11月低保名单公示" in preview and "异议 编号" in preview
    with db.session_scope(readonly=True) as sess:
        assert sess.exec(select(Notice)).all() == []  # previewing saved nothing
    token = re.search(r'name="preview_token" value="([0-9a-f]+)"', r.text).group(1)
    # Confirming a form that differs from the previewed one shows the new preview instead.
    changed = post_form(s, live.url, "/admin/notices/new", "/admin/notices/new",
                        {**data, "title": "改过的标题", "action": "save", "preview_token": token})
    assert 'id="preview-stale"' in changed.text and "改过的标题" in changed.text
    with db.session_scope(readonly=True) as sess:
        assert sess.exec(select(Notice)).all() == []
    done = post_form(s, live.url, "/admin/notices/new", "/admin/notices/new",
                     {**data, "action": "save", "preview_token": token})
    assert "通知已保存" in done.text
    with db.session_scope(readonly=True) as sess:
        notice = sess.exec(select(Notice)).one()
    assert ID_IN_LIST not in notice.body and "尾号7890" in notice.body


def test_scheduled_notice_edited_until_sent(live, config, villages):
    make_staff("qs", "village", village="青石村")
    s = login(live.url, "qs")
    later = (utcnow() + timedelta(days=2)).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    r = _new(s, live, body="明天停水", title="停水通知", category="其他", when="later",
             publish_at=later.strftime("%Y-%m-%dT%H:%M"))
    assert "通知已保存" in r.text
    with db.session_scope(readonly=True) as sess:
        nid = sess.exec(select(Notice)).one().id
    path = f"/admin/notices/{nid}/edit"
    form = s.get(f"{live.url}{path}", timeout=10).text
    assert "停水通知" in form
    bad = post_form(s, live.url, path, path, {"category": "", "title": "停水通知", "body": "x",
                                              "publish_at": later.strftime("%Y-%m-%dT%H:%M"), "objection_days": "0"})
    assert bad.status_code == 400 and "请选择类别" in bad.text
    ok = post_form(s, live.url, path, path, {"category": "其他", "title": "停水通知（更正）",
                                             "body": "后天停水，联系手机 13900001234",
                                             "publish_at": later.strftime("%Y-%m-%dT%H:%M"), "objection_days": "0"})
    assert "已保存修改" in ok.text and "停水通知（更正）" in ok.text
    with db.session_scope(readonly=True) as sess:
        n = sess.get(Notice, nid)
        assert n.title == "停水通知（更正）" and "139****1234" in n.body and n.status == "scheduled"
    from core.schedule import publish_due

    publish_due(config, now=utcnow() + timedelta(days=3))
    sent = s.get(f"{live.url}{path}", timeout=10)
    assert "不能再修改" in sent.text and 'id="edit-notice"' not in sent.text


def test_county_schedules_a_monthly_finance_notice_and_cancels_it(live, villages):
    make_staff("county1", "county")
    s = login(live.url, "county1")
    r = _new(s, live, category="村级财务", title="村级财务收支公开", body="", when="repeat", repeat="monthly",
             repeat_day="5", repeat_time="09:00", finance_body="1", objection_days="0",
             villages=[str(villages["青石村"]), str(villages["杨柳村"])])
    assert r.status_code == 200, r.text[:500]
    with db.session_scope(readonly=True) as sess:
        series = sess.exec(select(Notice).order_by(Notice.id)).all()
    assert len(series) == 2  # one finance series per village
    for n in series:
        assert n.recurrence == "monthly:5@09:00" and n.finance_body and n.status == "scheduled"
        local = n.publish_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
        assert (local.day, local.hour, local.minute) == (5, 9, 0) and n.publish_at > utcnow()
    r = post_form(s, live.url, f"/admin/notices/{series[0].id}", f"/admin/notices/{series[0].id}/cancel", {})
    assert "已取消" in r.text
    with db.session_scope(readonly=True) as sess:
        assert sess.get(Notice, series[0].id).status == "cancelled"
        assert sess.get(Notice, series[1].id).status == "scheduled"


def test_delivery_report_shows_failures_with_wechat_errors_and_review(live, villages):
    from core.notices.service import create_notice

    with db.session_scope() as s:
        from core.models.core import Village

        notice = create_notice(s, category="救灾", title="防汛转移通知", body="请低洼地带村民转移到村小学。",
                               villages=[s.get(Village, villages["青石村"])])[0]
        nid = notice.id
        for i, (status, err) in enumerate([("sent", None), ("sent", None), ("failed", "errcode 45009: reach max api daily quota limit"),
                                           ("review", None), ("pending", None)]):
            s.add(OutboxMessage(kind="custom_text", dedupe_key=f"t:{nid}:{i}", openid=f"oQS_report_user_{i}",
                                village_id=villages["青石村"], notice_id=nid, status=status, last_error=err,
                                attempts=1 if status != "pending" else 0))
    make_staff("qs", "village", village="青石村")
    make_staff("yl", "village", village="杨柳村")
    s = login(live.url, "qs")
    page = s.get(f"{live.url}/admin/notices/{nid}", timeout=10).text
    totals = page.split('id="delivery-totals"', 1)[1]
    assert re.search(r'<span class="n">2</span>已发送', totals)
    assert re.search(r'<span class="n">1</span>失败', totals)
    assert re.search(r'<span class="n">1</span>需要核对', totals)
    assert re.search(r'<span class="n">1</span>待发送', totals)
    rows = page.split('id="delivery-rows"', 1)[1]
    assert "发得太快" in rows and "45009" not in rows and "oQS_report_user_2" not in rows and "oQS_****er_2" in rows
    listing = s.get(f"{live.url}/admin/notices", timeout=10).text
    assert "防汛转移通知" in listing and "失败 1" in listing
    other = login(live.url, "yl")
    assert other.get(f"{live.url}/admin/notices/{nid}", timeout=10).status_code == 404
    assert "防汛转移通知" not in other.get(f"{live.url}/admin/notices", timeout=10).text
    assert re.search(r'id="notices-failed">1<', s.get(f"{live.url}/admin/", timeout=10).text)
    assert re.search(r'id="notices-failed">0<', other.get(f"{live.url}/admin/", timeout=10).text)


def test_village_finance_entered_as_a_table_with_last_months_names(live, villages):
    from core.models.notices import VillageFinance

    make_staff("qs", "village", village="青石村")
    s = login(live.url, "qs")
    vid = villages["青石村"]
    path = f"/admin/villages/{vid}/finance"
    # Reachable from the clerk's menu: 村级财务 goes straight to the clerk's own village.
    home = s.get(f"{live.url}/admin/finance", timeout=10)
    assert home.url.endswith(path) and 'id="finance-rows"' in home.text
    r = post_form(s, live.url, path, path, {"period": "2026-10", "kind": ["收入", "支出", "支出"],
                                             "name": ["上级转移支付", "道路维修", ""],
                                             "amount": ["5万", "12,000", ""], "balance": "80000"})
    assert r.status_code == 200 and "2026-10 的收支已保存" in r.text
    preview = r.text.split('id="finance-preview">', 1)[1].split("</pre>", 1)[0]
    assert "收入合计 50,000.00元" in preview and "支出合计 12,000.00元" in preview and "道路维修" in preview
    with db.session_scope(readonly=True) as sess:
        row = sess.exec(select(VillageFinance)).one()
    assert (row.village_id, row.period, row.income_fen, row.expense_fen, row.balance_fen) == (
        vid, "2026-10", 5_000_000, 1_200_000, 8_000_000)
    # After saving, the same month is open for more rows (its amounts shown, blank rows below).
    rows = r.text.split('id="finance-rows"', 1)[1].split("</table>", 1)[0]
    assert 'id="editing-hint"' in r.text and 'value="50000"' in rows and 'value="12000"' in rows
    assert rows.count('name="amount" value=""') >= 3
    # Next time: the next month and last month's names are prefilled, amounts empty.
    page = s.get(f"{live.url}{path}", timeout=10).text
    assert 'value="2026-11"' in page and 'id="prefill-hint"' in page
    rows = page.split('id="finance-rows"', 1)[1].split("</table>", 1)[0]
    assert 'value="上级转移支付"' in rows and 'value="道路维修"' in rows
    assert re.search(r'<option selected>收入</option>', rows)
    # Problems name the row, in the table's words.
    bad = post_form(s, live.url, path, path, {"period": "2026-11", "kind": ["支出", "支出"],
                                               "name": ["道路维修", ""], "amount": ["一千二", "300"]})
    assert bad.status_code == 400 and "第1行（道路维修）：金额“一千二”看不懂" in bad.text and "第2行：请填写名目" in bad.text
    bad = post_form(s, live.url, path, path, {"period": "", "kind": ["支出"], "name": ["x"], "amount": ["1"]})
    assert bad.status_code == 400 and "请选择月份" in bad.text
    other = villages["杨柳村"]
    assert s.get(f"{live.url}/admin/villages/{other}/finance", timeout=10).status_code == 404


def test_uncertain_sends_are_settled_once(live, villages):
    from core.models.core import Village
    from core.notices.service import create_notice

    with db.session_scope() as s:
        nid = create_notice(s, category="其他", title="停水通知", body="明天上午停水。",
                            villages=[s.get(Village, villages["青石村"])])[0].id
        for i in range(2):
            s.add(OutboxMessage(kind="custom_text", dedupe_key=f"rv:{i}", openid=f"oQS_review_user_{i}",
                                village_id=villages["青石村"], notice_id=nid, status="review", attempts=1))
    with db.session_scope(readonly=True) as sess:
        first, second = [r.id for r in sess.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()]
    make_staff("qs", "village", village="青石村")
    make_staff("yl", "village", village="杨柳村")
    s = login(live.url, "qs")
    path = f"/admin/notices/{nid}"
    r = post_form(s, live.url, path, f"{path}/outbox/{first}/resolve", {"resolution": "resend"})
    assert "没收到，重新发送" in r.text
    r = post_form(s, live.url, path, f"{path}/outbox/{first}/resolve", {"resolution": "sent"})
    assert "已经处理过了" in r.text
    other = login(live.url, "yl")
    assert post_form(other, live.url, "/admin/", f"{path}/outbox/{second}/resolve",
                     {"resolution": "sent"}).status_code == 404
    post_form(s, live.url, path, f"{path}/outbox/{second}/resolve", {"resolution": "sent"})
    with db.session_scope(readonly=True) as sess:
        a, b = sess.get(OutboxMessage, first), sess.get(OutboxMessage, second)
    assert a.status == "pending" and "qs" in a.last_error
    assert b.status == "sent" and b.sent_at is not None


def test_notices_filtered_by_words_village_and_problems(live, villages):
    from core.models.core import Village
    from core.notices.service import create_notice

    with db.session_scope() as s:
        qs, yl = s.get(Village, villages["青石村"]), s.get(Village, villages["杨柳村"])
        water = create_notice(s, category="其他", title="停水通知", body="明天上午停水。", villages=[qs])[0]
        create_notice(s, category="救灾", title="防汛转移通知", body="低洼地带转移。", villages=[yl])
        create_notice(s, category="其他", title="村民大会", body="周五开会，讨论修路。", villages=[qs])
        s.add(OutboxMessage(kind="custom_text", dedupe_key="f:1", openid="oQS_f_1", village_id=qs.id,
                            notice_id=water.id, status="failed", last_error="45015 超过48小时没有互动"))
    make_staff("county1", "county")
    s = login(live.url, "county1")

    def titles(**params: str) -> list[str]:
        html = s.get(f"{live.url}/admin/notices", params=params, timeout=10).text
        table = html.split('id="notices"', 1)[1].split("</table>", 1)[0]
        return sorted(re.findall(r'/admin/notices/\d+">([^<]+)</a>', table))

    assert titles() == sorted(["村民大会", "停水通知", "防汛转移通知"])
    assert titles(q="修路") == ["村民大会"]  # words in the body count too
    assert titles(village=str(villages["杨柳村"])) == ["防汛转移通知"]
    assert titles(problems="1") == ["停水通知"]
    assert titles(q="通知", village=str(villages["青石村"])) == ["停水通知"]
