"""The outbound WeChat client against the fake WeChat API over real HTTP on loopback."""
from __future__ import annotations

import multiprocessing as mp
import socket
import time
import uuid
from collections.abc import Iterator

import pytest

from core.wechat_api import (
    CachedToken,
    DBTokenStore,
    MassSendResult,
    RedisTokenStore,
    SendNotAttempted,
    SendOutcomeUnknown,
    TokenStore,
    WeChatAPI,
    WeChatAPIError,
)
from tests.conftest import TEST_APPID, redis_or_skip
from tests.fake_wechat import FakeWeChat

SECRET = "test-secret"


@pytest.fixture
def fake() -> Iterator[FakeWeChat]:
    with FakeWeChat(appid=TEST_APPID, secret=SECRET) as f:
        yield f


def make_api(fake: FakeWeChat, store: TokenStore, **kwargs: object) -> WeChatAPI:
    return WeChatAPI(TEST_APPID, SECRET, store=store, api_base=fake.base_url, wecom_base=fake.base_url,
                     **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def api(fake: FakeWeChat, sqlite_url: str) -> WeChatAPI:
    return make_api(fake, DBTokenStore(TEST_APPID, sqlite_url))


# --------------------------------------------------------------------------- shared token
def redis_prefix() -> str:
    """Redis is shared by every test run on the machine (xdist workers, other people): own keys per test."""
    return f"cunwu:test:{uuid.uuid4().hex[:12]}"


def _worker(base_url: str, store_kind: str, url: str, barrier, out, prefix: str = "") -> None:  # type: ignore[no-untyped-def]
    store: TokenStore = (DBTokenStore(TEST_APPID, url) if store_kind == "db"
                         else RedisTokenStore(TEST_APPID, url, prefix=prefix))
    api = WeChatAPI(TEST_APPID, SECRET, store=store, api_base=base_url)
    barrier.wait()
    try:
        api.get_tags()
        out.put(("ok", api.access_token()))
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        out.put(("error", repr(exc)))


def _two_processes_share_one_token(fake: FakeWeChat, store_kind: str, url: str, prefix: str = "") -> None:
    fake.slow("stable_token", 0.5)  # the second process arrives while the first is still fetching
    ctx = mp.get_context("fork")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(fake.base_url, store_kind, url, barrier, out, prefix)) for _ in range(2)]
    for p in procs:
        p.start()
    results = [out.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(10)
    assert [r[0] for r in results] == ["ok", "ok"], results
    assert results[0][1] == results[1][1]
    assert fake.token_fetches == 1
    used = {r["query"]["access_token"] for r in fake.requests("tags/get")}
    assert used == {results[0][1]}


def test_token_is_fetched_once_for_two_processes(fake: FakeWeChat, db_url: str) -> None:
    _two_processes_share_one_token(fake, "db", db_url)


def test_token_in_redis_is_fetched_once_for_two_processes(fake: FakeWeChat) -> None:
    url = redis_or_skip()
    prefix = redis_prefix()
    store = RedisTokenStore(TEST_APPID, url, prefix=prefix)
    try:
        _two_processes_share_one_token(fake, "redis", url, prefix)
        cached = store.get()
        assert cached is not None and cached.token == fake.current_token()
        assert store.redis.pttl(store.key) > 7000 * 1000  # the value expires with the token
    finally:
        store.redis.delete(store.key, store.lock_key)


def test_token_is_reused_and_refreshed_ahead_of_expiry(sqlite_url: str) -> None:
    with FakeWeChat(appid=TEST_APPID, secret=SECRET, token_ttl=3) as fake:
        api = make_api(fake, DBTokenStore(TEST_APPID, sqlite_url), refresh_margin=2.0, cache_seconds=0)
        api.get_tags()
        api.get_tags()
        first = api.access_token()
        assert fake.token_fetches == 1
        time.sleep(1.2)  # inside the margin, still valid at WeChat
        api.get_tags()
        second = api.access_token()
        assert second != first and fake.token_fetches == 2
        assert all(r["errcode"] == 0 for r in fake.requests("tags/get"))
        # Another client on the same store uses the stored token instead of fetching.
        other = make_api(fake, DBTokenStore(TEST_APPID, sqlite_url), refresh_margin=2.0)
        assert other.access_token() == second and fake.token_fetches == 2


def test_invalid_token_is_refreshed_once_then_call_retried(fake: FakeWeChat, api: WeChatAPI) -> None:
    api.send_custom_text("o_resident_1", "你好")
    old = api.access_token()
    fake.invalidate_token()
    api.send_custom_text("o_resident_1", "第二条")
    calls = fake.requests("message/custom/send")
    assert [c["errcode"] for c in calls] == [0, 40001, 0]
    assert calls[-1]["query"]["access_token"] != old
    assert fake.token_fetches == 2
    assert [c["body"]["text"]["content"] for c in fake.delivered("message/custom/send")] == ["你好", "第二条"]


def test_expired_token_42001_is_refreshed_and_retried(fake: FakeWeChat, api: WeChatAPI) -> None:
    api.get_tags()
    fake.expire_token()
    assert api.get_tags()[0]["name"] == "星标组"
    assert [c["errcode"] for c in fake.requests("tags/get")] == [0, 42001, 0]


def test_persistent_40001_stops_after_one_retry(fake: FakeWeChat, api: WeChatAPI) -> None:
    api.get_tags()
    fake.fail_next("message/custom/send", 40001, count=100)
    with pytest.raises(WeChatAPIError) as info:
        api.send_custom_text("o_resident_1", "你好")
    assert info.value.errcode == 40001 and info.value.retryable
    assert len(fake.requests("message/custom/send")) == 2
    # Normal mode returned the same (refused) token, so the client forced a new one, once.
    bodies = [r["body"] for r in fake.requests("stable_token")]
    assert [b["force_refresh"] for b in bodies] == [False, False, True]


def test_system_busy_is_not_delivered_and_retryable(fake: FakeWeChat, api: WeChatAPI) -> None:
    fake.fail_next("message/custom/send", -1)
    with pytest.raises(SendNotAttempted) as info:
        api.send_custom_text("o_resident_1", "你好")
    assert isinstance(info.value, WeChatAPIError) and info.value.errcode == -1 and info.value.retryable
    assert fake.delivered("message/custom/send") == []
    api.send_custom_text("o_resident_1", "你好")  # the retry goes through
    assert len(fake.delivered("message/custom/send")) == 1


def test_outside_48h_window_is_a_permanent_failure(fake: FakeWeChat, api: WeChatAPI) -> None:
    fake.set_outside_window(["o_old"])
    with pytest.raises(WeChatAPIError) as info:
        api.send_custom_text("o_old", "你好")
    assert info.value.errcode == 45015 and not info.value.retryable


def test_read_timeout_is_outcome_unknown(fake: FakeWeChat, sqlite_url: str) -> None:
    api = make_api(fake, DBTokenStore(TEST_APPID, sqlite_url), read_timeout=0.4)
    api.get_tags()
    fake.slow("message/custom/send", 1.0, count=1)
    with pytest.raises(SendOutcomeUnknown) as info:
        api.send_custom_text("o_resident_1", "你好")
    assert not isinstance(info.value, SendNotAttempted)
    assert api.access_token() not in str(info.value)
    # That is why it is "unknown": WeChat did deliver it.
    assert len(fake.delivered("message/custom/send")) == 1


def test_dropped_connection_after_sending_is_outcome_unknown(fake: FakeWeChat, api: WeChatAPI) -> None:
    api.get_tags()
    fake.drop_next("message/template/send")
    with pytest.raises(SendOutcomeUnknown):
        api.send_template("o_resident_1", "TPL1", {"first": "通知"})
    assert len(fake.requests("message/template/send")) == 1


def test_connection_refused_is_not_attempted(sqlite_url: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    store = DBTokenStore(TEST_APPID, sqlite_url)
    store.refresh_with_lock(lambda force: ("TOKEN_SECRET_VALUE", 7200))
    api = WeChatAPI(TEST_APPID, SECRET, store=store, api_base=f"http://127.0.0.1:{closed_port}")
    with pytest.raises(SendNotAttempted) as info:
        api.send_custom_text("o_resident_1", "你好")
    assert not isinstance(info.value, WeChatAPIError) and info.value.retryable
    assert "TOKEN_SECRET_VALUE" not in str(info.value)


def test_token_fetch_failure_means_not_attempted(fake: FakeWeChat, sqlite_url: str) -> None:
    api = make_api(fake, DBTokenStore(TEST_APPID, sqlite_url), read_timeout=0.3)
    fake.slow("stable_token", 0.8, count=1)
    with pytest.raises(SendNotAttempted):
        api.send_custom_text("o_resident_1", "你好")
    assert fake.requests("message/custom/send") == []
    bad = WeChatAPI(TEST_APPID, "wrong-secret", store=DBTokenStore("other", sqlite_url), api_base=fake.base_url)
    with pytest.raises(WeChatAPIError) as info:
        bad.get_tags()
    assert info.value.errcode == 40125 and "wrong-secret" not in str(info.value)


# --------------------------------------------------------------------------- request formats
def test_mass_send_by_tag_uses_tag_id_and_clientmsgid(fake: FakeWeChat, api: WeChatAPI) -> None:
    tag_id = fake.add_tag("青石村", ["o_a", "o_b"])
    result = api.mass_send_text_by_tag(tag_id, "村级财务公开：10月收支已公布", "notice-7-village-3")
    assert isinstance(result, MassSendResult) and result.msg_id > 0 and not result.duplicate
    (call,) = fake.requests("message/mass/sendall")
    assert call["body"]["filter"] == {"is_to_all": False, "tag_id": tag_id}
    assert call["body"]["msgtype"] == "text"
    assert call["body"]["text"] == {"content": "村级财务公开：10月收支已公布"}
    assert call["body"]["clientmsgid"] == "notice-7-village-3"
    assert fake.mass_sends()[0]["recipients"] == ["o_a", "o_b"]
    # A re-send with the same key (e.g. after an unknown outcome) is deduped by WeChat.
    again = api.mass_send_text_by_tag(tag_id, "村级财务公开：10月收支已公布", "notice-7-village-3")
    assert again.duplicate and again.msg_id == result.msg_id
    assert len(fake.mass_sends()) == 1


def test_template_message_format(fake: FakeWeChat, api: WeChatAPI) -> None:
    msgid = api.send_template("o_a", "TPL_NOTICE", {"thing1": "惠农补贴公示", "time2": {"value": "2026-11-23"}},
                              url="https://example.org/n/1")
    assert msgid > 0
    (call,) = fake.requests("message/template/send")
    assert call["body"] == {"touser": "o_a", "template_id": "TPL_NOTICE", "url": "https://example.org/n/1",
                            "data": {"thing1": {"value": "惠农补贴公示"}, "time2": {"value": "2026-11-23"}}}


def test_batch_tagging_is_chunked_by_50(fake: FakeWeChat, api: WeChatAPI) -> None:
    tag_id = api.create_tag("上坝村")
    openids = [f"o_user_{i:03d}" for i in range(120)]
    assert api.tag_users(tag_id, openids + openids[:5]) == 3
    calls = fake.requests("tags/members/batchtagging")
    assert [len(c["body"]["openid_list"]) for c in calls] == [50, 50, 20]
    assert all(c["body"]["tagid"] == tag_id and c["errcode"] == 0 for c in calls)
    assert fake.tag_members(tag_id) == set(openids)
    assert api.untag_users(tag_id, openids[:60]) == 2
    assert fake.tag_members(tag_id) == set(openids[60:])
    assert api.get_user_info(openids[100])["tagid_list"] == [tag_id]


def test_tags_create_ensure_update_delete(fake: FakeWeChat, api: WeChatAPI) -> None:
    tag_id = api.ensure_tag("杨柳村")
    assert api.ensure_tag("杨柳村") == tag_id  # no second tag
    with pytest.raises(WeChatAPIError) as info:
        api.create_tag("杨柳村")
    assert info.value.errcode == 45157
    api.update_tag(tag_id, "杨柳村（新）")
    assert {t["name"] for t in api.get_tags()} == {"星标组", "杨柳村（新）"}
    api.delete_tag(tag_id)
    assert fake.tags() == {}


def test_wecom_robot_text_markdown_and_rate_limit(fake: FakeWeChat, api: WeChatAPI) -> None:
    api.wecom_robot_send("robot-key-1", "村委会通知：明天停水")
    api.wecom_robot_send("robot-key-1", "**通知**\n明天停水", markdown=True)
    calls = fake.requests("webhook/send")
    assert calls[0]["query"]["key"] == "robot-key-1" and "access_token" not in calls[0]["query"]
    assert calls[0]["body"] == {"msgtype": "text", "text": {"content": "村委会通知：明天停水"}}
    assert calls[1]["body"] == {"msgtype": "markdown", "markdown": {"content": "**通知**\n明天停水"}}
    for _ in range(18):
        api.wecom_robot_send("robot-key-1", "x")
    with pytest.raises(WeChatAPIError) as info:
        api.wecom_robot_send("robot-key-1", "第21条")
    assert info.value.errcode == 45009 and info.value.retryable
    assert "robot-key-1" not in str(info.value)
    assert fake.token_fetches == 0  # the robot needs no access token


def test_cached_token_replaced_elsewhere_is_picked_up_from_the_store(fake: FakeWeChat, sqlite_url: str) -> None:
    a = make_api(fake, DBTokenStore(TEST_APPID, sqlite_url))
    b = make_api(fake, DBTokenStore(TEST_APPID, sqlite_url))
    a.get_tags()
    b.get_tags()
    fake.invalidate_token()
    a.get_tags()  # a refreshes the shared token
    b.get_tags()  # b's cached token is refused once; it finds a's new token in the store
    assert fake.token_fetches == 2
    assert isinstance(DBTokenStore(TEST_APPID, sqlite_url).get(), CachedToken)


def test_from_config_uses_database_or_redis(fake_wechat: FakeWeChat, sqlite_url: str) -> None:
    from tests.conftest import make_config

    config = make_config(sqlite_url, wechat_api_base=fake_wechat.base_url, wecom_api_base=fake_wechat.base_url)
    api = WeChatAPI.from_config(config)
    assert isinstance(api.store, DBTokenStore)
    api.send_custom_text("o_a", "你好")
    assert DBTokenStore(TEST_APPID, sqlite_url).get().token == fake_wechat.current_token()  # type: ignore[union-attr]
    redis_url = redis_or_skip()
    api = WeChatAPI.from_config(make_config(sqlite_url, wechat_api_base=fake_wechat.base_url, redis_url=redis_url))
    assert isinstance(api.store, RedisTokenStore)


@pytest.mark.parametrize("kind", ["db", "redis"])
def test_lease_of_a_crashed_refresher_runs_out(fake: FakeWeChat, sqlite_url: str, kind: str) -> None:
    prefix = redis_prefix()

    def store(lease: float) -> TokenStore:
        if kind == "db":
            return DBTokenStore(TEST_APPID, sqlite_url, lease_seconds=lease, wait_seconds=5)
        return RedisTokenStore(TEST_APPID, redis_or_skip(), prefix=prefix, lease_seconds=lease,
                               wait_seconds=5)

    crashed = store(0.6)
    if isinstance(crashed, RedisTokenStore):
        crashed.redis.delete(crashed.key, crashed.lock_key)
    assert crashed._acquire() is not None  # took the lease, then "died" without releasing it
    api = make_api(fake, store(20))
    started = time.monotonic()
    api.get_tags()
    assert time.monotonic() - started > 0.4  # it waited for the lease instead of stealing it
    assert fake.token_fetches == 1
    if isinstance(crashed, RedisTokenStore):
        crashed.redis.delete(crashed.key, crashed.lock_key)


def test_token_store_down_means_not_attempted(fake: FakeWeChat) -> None:
    api = make_api(fake, RedisTokenStore(TEST_APPID, "redis://127.0.0.1:1/0"))  # nothing listens on port 1
    with pytest.raises(SendNotAttempted) as info:
        api.send_custom_text("o_a", "你好")
    assert info.value.retryable
    assert fake.requests() == []
