"""The dispatcher against the fake WeChat API over real HTTP: request formats, retries, token
refresh, uncertain outcomes, and two dispatchers at once (threads)."""
from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlmodel import select

from core.db import session_scope, utcnow
from core.dispatch import Dispatcher
from core.models.core import Follower, Village
from core.models.notices import Notice
from core.models.outbox import OutboxMessage
from core.notices.service import create_notice, delivery_report
from core.outbox import enqueue, enqueue_tag_sync
from core.schedule import publish_due
from tests.fake_wechat import FakeWeChat
from tests.notice_helpers import fake_config, make_village


@pytest.fixture
def fake():
    with FakeWeChat() as f:
        yield f


def _publish(cfg, vid: int, **kw) -> int:  # type: ignore[no-untyped-def]
    with session_scope() as s:
        v = s.get(Village, vid)
        n = create_notice(s, category=kw.pop("category", "惠农补贴"), title=kw.pop("title", "耕地补贴名单公示"),
                          body=kw.pop("body", "张三 320102199001011235 补贴 500 元，电话 13812345678"),
                          villages=[v], **kw)[0]
    assert publish_due(cfg)["published"] == 1
    return n.id  # type: ignore[return-value]


def _rows(notice_id: int | None = None) -> list[OutboxMessage]:
    with session_scope(readonly=True) as s:
        q = select(OutboxMessage).order_by(OutboxMessage.id)
        if notice_id is not None:
            q = q.where(OutboxMessage.notice_id == notice_id)
        return list(s.exec(q).all())


def test_custom_channel_sends_masked_text_once_per_follower(db_url: str, fake: FakeWeChat) -> None:
    cfg = fake_config(db_url, fake.base_url)
    vid = make_village(followers=5)
    nid = _publish(cfg, vid, objection_days=7)
    with Dispatcher(cfg, threads=4) as d:
        stats = d.run()
    assert stats.sent == 5
    sends = fake.delivered("message/custom/send")
    assert sorted(r["body"]["touser"] for r in sends) == sorted(f"o{vid}_{i:05d}" for i in range(5))
    body = sends[0]["body"]
    assert body["msgtype"] == "text"
    content = body["text"]["content"]
    assert content.startswith("【惠农补贴】耕地补贴名单公示")
    assert "320102199001011235" not in content and "[身份证号已隐去]" in content
    assert "138****5678" in content and f"异议 {nid}" in content
    assert all(r.status == "sent" and r.sent_at is not None for r in _rows(nid))


def test_template_mass_robot_formats(db_url: str, fake: FakeWeChat) -> None:
    cfg = fake_config(db_url, fake.base_url, template_notice_id="TPL_NOTICE")
    fake.set_templates(["TPL_NOTICE"])
    v_tpl = make_village("模板村", channels="template", followers=2, recent=False)
    v_mass = make_village("群发村", channels="tag_mass,wecom", followers=3, robot_key="robot-key-1")
    with session_scope() as s:  # the mass-send village's followers got tagged by binding
        for f in s.exec(select(Follower).where(Follower.village_id == v_mass)).all():
            enqueue_tag_sync(s, f.openid)
        villages = [s.get(Village, v_tpl), s.get(Village, v_mass)]
        create_notice(s, category="救灾", title="救灾物资发放", body="明天上午发放棉被", villages=villages,
                      link="https://example.org/n/1")
    publish_due(cfg)
    with Dispatcher(cfg, threads=4) as d:
        d.run()
        # The mass send waits for the tag syncs it relies on; run again once they are done.
        with session_scope() as s:
            for r in s.exec(select(OutboxMessage).where(OutboxMessage.status == "pending")).all():
                r.next_attempt_at = utcnow()
                s.add(r)
        d.run()

    tpl = fake.delivered("message/template/send")
    assert len(tpl) == 2
    assert tpl[0]["body"]["template_id"] == "TPL_NOTICE"
    assert tpl[0]["body"]["url"] == "https://example.org/n/1"
    assert tpl[0]["body"]["data"]["keyword3"] == {"value": "救灾"}

    with session_scope(readonly=True) as s:
        tag_id = s.get(Village, v_mass).wechat_tag_id  # type: ignore[union-attr]
    assert tag_id is not None and fake.tags()[tag_id] == "村-群发村"
    assert fake.tag_members(tag_id) == {f"o{v_mass}_{i:05d}" for i in range(3)}
    mass = fake.mass_sends()
    assert len(mass) == 1
    sent = mass[0]["body"]
    assert sent["filter"] == {"is_to_all": False, "tag_id": tag_id} and "group_id" not in sent["filter"]
    assert sent["msgtype"] == "text" and sent["clientmsgid"].startswith("cunwu-n")
    assert mass[0]["recipients"] == sorted(f"o{v_mass}_{i:05d}" for i in range(3))

    robot = fake.delivered("/cgi-bin/webhook/send")
    assert len(robot) == 1 and robot[0]["query"]["key"] == "robot-key-1"
    assert robot[0]["body"]["msgtype"] == "text" and "救灾物资发放" in robot[0]["body"]["text"]["content"]
    assert not fake.requests("message/custom/send")  # neither village chose customer-service messages
    assert {r.status for r in _rows()} == {"sent"}


def test_outside_48h_without_template_is_listed_not_sent(db_url: str, fake: FakeWeChat) -> None:
    cfg = fake_config(db_url, fake.base_url)
    vid = make_village(followers=3, recent=False)
    nid = _publish(cfg, vid)
    with Dispatcher(cfg) as d:
        assert d.run().claimed == 0
    assert not fake.requests("message/custom/send")
    with session_scope(readonly=True) as s:
        report = delivery_report(s, s.get(Notice, nid))  # type: ignore[arg-type]
    assert report.counts == {"skipped": 3}


def test_definite_failures_retry_with_backoff_then_succeed(db_url: str, fake: FakeWeChat) -> None:
    cfg = fake_config(db_url, fake.base_url)
    vid = make_village(followers=1)
    nid = _publish(cfg, vid, body="本月补贴已发放")
    fake.fail_next("message/custom/send", -1, count=2)
    def wait_after_run() -> tuple[float, float]:
        """The backoff the run set, bracketed by the times before and after it (a busy host is slow)."""
        before = utcnow()
        d.run()
        after = utcnow()
        due = _rows(nid)[0].next_attempt_at
        return (due - after).total_seconds(), (due - before).total_seconds()

    import time

    with Dispatcher(cfg, backoff_base=0.3) as d:
        low, high = wait_after_run()
        row = _rows(nid)[0]
        assert row.status == "pending" and row.attempts == 1 and "-1" in (row.last_error or "")
        assert low < 0.3 * 1.2 + 0.01 and high > 0.3 * 0.8 - 0.01   # 0.3 s ± 20 % jitter after the failure
        time.sleep(max(low, 0) + 0.05)
        low, high = wait_after_run()
        row = _rows(nid)[0]
        assert row.status == "pending" and row.attempts == 2
        assert low < 0.6 * 1.2 + 0.01 and high > 0.6 * 0.8 - 0.01   # the wait doubles
        time.sleep(max(low, 0) + 0.05)
        d.run()
    row = _rows(nid)[0]
    assert row.status == "sent" and row.attempts == 3
    assert len(fake.requests("message/custom/send")) == 3 and len(fake.delivered("message/custom/send")) == 1


def test_retries_stop_at_the_limit(db_url: str, fake: FakeWeChat) -> None:
    cfg = fake_config(db_url, fake.base_url)
    vid = make_village(followers=2)
    nid = _publish(cfg, vid, body="通知正文")
    fake.fail_next("message/custom/send", 45009, count=100)
    import time

    with Dispatcher(cfg, backoff_base=0.01, max_attempts=3) as d:
        for _ in range(6):
            d.run()
            time.sleep(0.1)
    rows = {r.openid: r for r in _rows(nid)}
    limited = rows[f"o{vid}_00000"]
    assert limited.status == "failed" and limited.attempts == 3 and "45009" in (limited.last_error or "")
    assert rows[f"o{vid}_00001"].status == "failed"
    assert len(fake.requests("message/custom/send")) == 6 and not fake.delivered("message/custom/send")


def test_45015_is_final_and_reported(db_url: str, fake: FakeWeChat) -> None:
    cfg = fake_config(db_url, fake.base_url)
    vid = make_village(followers=2)
    nid = _publish(cfg, vid, body="通知正文")
    fake.set_outside_window([f"o{vid}_00001"])
    with Dispatcher(cfg) as d:
        d.run()
    rows = {r.openid: r for r in _rows(nid)}
    assert rows[f"o{vid}_00000"].status == "sent"
    bad = rows[f"o{vid}_00001"]
    assert bad.status == "failed" and bad.attempts == 1 and "45015" in (bad.last_error or "")
    with session_scope(readonly=True) as s:
        lines = "\n".join(delivery_report(s, s.get(Notice, nid)).lines())  # type: ignore[arg-type]
    assert "已发送 1，失败 1" in lines and "超过48小时" in lines


def test_invalid_token_refreshes_once_and_resends(db_url: str, fake: FakeWeChat) -> None:
    cfg = fake_config(db_url, fake.base_url)
    vid = make_village(followers=3)
    nid = _publish(cfg, vid, body="通知正文")
    with Dispatcher(cfg, threads=1) as d:
        with session_scope() as s:
            enqueue(s, "custom_text", "warmup", {"text": "预热"}, openid=f"o{vid}_00000")
        d.run()  # fetches the first token
        fetches = fake.token_fetches
        fake.invalidate_token()
        with session_scope() as s:
            for r in s.exec(select(OutboxMessage).where(OutboxMessage.notice_id == nid)).all():
                assert r.status == "sent"
        # New rows after the token was revoked: the first send meets 40001, refreshes, resends.
        with session_scope() as s:
            enqueue(s, "custom_text", "after-revoke", {"text": "第二条"}, openid=f"o{vid}_00001")
        d.run()
    assert fake.token_fetches == fetches + 1
    last = fake.requests("message/custom/send")[-2:]
    assert [r["errcode"] for r in last] == [40001, 0]
    assert _rows()[-1].status == "sent"


def test_maybe_sent_goes_to_review_but_mass_send_is_resent_safely(db_url: str, fake: FakeWeChat) -> None:
    cfg = fake_config(db_url, fake.base_url)
    v_custom = make_village("客服村", followers=1)
    v_mass = make_village("群发村", channels="tag_mass", followers=0)
    with session_scope() as s:
        create_notice(s, category="其他", title="停水通知", body="周三停水", villages=[s.get(Village, v_custom),
                                                                                  s.get(Village, v_mass)])
    publish_due(cfg)
    fake.drop_next("message/custom/send", processed=True)  # delivered, but the answer never comes
    fake.drop_next("message/mass/sendall", processed=True)
    with Dispatcher(cfg, backoff_base=0.01) as d:
        d.run()
        import time

        time.sleep(0.1)
        d.run()
    rows = {r.kind: r for r in _rows()}
    assert rows["custom_text"].status == "review"  # never silently re-sent
    assert len(fake.requests("message/custom/send")) == 1
    mass = rows["mass_tag"]
    assert mass.status == "sent" and "去重" in (mass.last_error or "")
    calls = fake.requests("message/mass/sendall")
    assert len(calls) == 2 and calls[1]["errcode"] == 45065  # WeChat deduped the re-send
    assert len(fake.mass_sends()) == 1


def test_two_dispatchers_in_threads_send_each_row_once(db_url: str, fake: FakeWeChat) -> None:
    cfg = fake_config(db_url, fake.base_url)
    vid = make_village(followers=400)
    _publish(cfg, vid, body="通知正文")
    dispatchers = [Dispatcher(cfg, threads=4, window=8).start() for _ in range(3)]
    threads = [threading.Thread(target=d.run) for d in dispatchers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    claimed_by = Counter(r.claimed_by for r in _rows())
    for d in dispatchers:
        d.close()
    counts = Counter(r["body"]["touser"] for r in fake.requests("message/custom/send"))
    assert len(counts) == 400 and set(counts.values()) == {1}
    assert {r.status for r in _rows()} == {"sent"}
    assert len(claimed_by) >= 2  # they really did share the work


def test_tag_sync_follows_rebinding(db_url: str, fake: FakeWeChat) -> None:
    cfg = fake_config(db_url, fake.base_url)
    a = make_village("东村", channels="tag_mass")
    b = make_village("西村", channels="tag_mass")
    with session_scope() as s:
        s.add(Follower(openid="u1", village_id=a, last_interaction_at=utcnow()))
        s.flush()
        enqueue_tag_sync(s, "u1")
    with Dispatcher(cfg) as d:
        d.run()
        with session_scope(readonly=True) as s:
            tag_a = s.get(Village, a).wechat_tag_id  # type: ignore[union-attr]
        assert fake.tag_members(tag_a) == {"u1"}
        with session_scope() as s:
            f = s.get(Follower, "u1")
            f.village_id = b  # type: ignore[union-attr]
            s.add(f)
            enqueue_tag_sync(s, "u1")
        d.run()
    with session_scope(readonly=True) as s:
        tag_b = s.get(Village, b).wechat_tag_id  # type: ignore[union-attr]
    assert fake.tag_members(tag_a) == set() and fake.tag_members(tag_b) == {"u1"}


def test_slow_answer_is_uncertain_review_for_chat_resend_for_mass(db_url: str, fake: FakeWeChat) -> None:
    from core.wechat_api import WeChatAPI

    cfg = fake_config(db_url, fake.base_url)
    v_custom = make_village("客服村", followers=1)
    v_mass = make_village("群发村", channels="tag_mass", followers=0)
    with session_scope() as s:
        create_notice(s, category="其他", title="停水通知", body="周三停水",
                      villages=[s.get(Village, v_custom), s.get(Village, v_mass)])
    publish_due(cfg)
    api = WeChatAPI.from_config(cfg, read_timeout=0.5)
    api.access_token()  # fetch the token before the fake turns slow
    fake.slow("message/custom/send", 1.5, count=1)
    fake.slow("message/mass/sendall", 1.5, count=1)
    import time

    with Dispatcher(cfg, api=api, backoff_base=0.01) as d:
        d.run()
        time.sleep(1.6)  # let the slow calls finish on the fake's side
        d.run()
    rows = {r.kind: r for r in _rows()}
    assert rows["custom_text"].status == "review" and "不确定" in (rows["custom_text"].last_error or "")
    assert len(fake.requests("message/custom/send")) == 1
    assert rows["mass_tag"].status == "sent" and len(fake.mass_sends()) == 1
