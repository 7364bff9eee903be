"""The account's own custom menu, published through the WeChat API (the fake, over HTTP) by the
CLI and by the admin page; its keys are the ones the webhook understands."""
from __future__ import annotations

from pathlib import Path

from core.menu import MENU, publish_menu
from core.wechat_api import WeChatAPI
from handlers.events import MENU_KEYS
from tests.admin_support import login, make_staff, post_form
from tests.cli_support import run_cli
from tests.conftest import TEST_APPID, make_config

ROOT = Path(__file__).resolve().parent.parent


def _keys(buttons: list[dict]) -> list[str]:
    out = []
    for b in buttons:
        out += [sub["key"] for sub in b.get("sub_button", [])] if b.get("sub_button") else [b["key"]]
    return out


def test_cli_publishes_the_menu_and_shows_it(sqlite_url, fake_wechat) -> None:  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": sqlite_url, "WECHAT_API_BASE": fake_wechat.base_url,
           "WECHAT_APPID": TEST_APPID, "WECHAT_APPSECRET": "test-secret", "LOG_LEVEL": "WARNING"}
    out = run_cli(["menu", "publish"], env)
    assert out.returncode == 0, out.stderr
    assert "菜单已发布" in out.stdout and "问政策 → HELP" in out.stdout
    menu = fake_wechat.menu()
    assert menu is not None and [b["name"] for b in menu["button"]] == ["问政策", "看公示", "依申请公开"]
    assert set(_keys(menu["button"])) == set(MENU_KEYS)
    assert len(fake_wechat.requests("menu/create")) == 1
    shown = run_cli(["menu", "show"], env)
    assert "依申请公开 ▸ 我的申请 → MY_REQUESTS" in shown.stdout


def test_a_menu_wechat_refuses_is_explained(sqlite_url, fake_wechat) -> None:  # type: ignore[no-untyped-def]
    api = WeChatAPI.from_config(make_config(sqlite_url, wechat_api_base=fake_wechat.base_url))
    too_many = MENU + [{"type": "click", "name": "多余", "key": "EXTRA"}]
    assert publish_menu(api, too_many) == "微信没有接受菜单：按钮个数不对（最多3个）。"
    assert fake_wechat.menu() is None
    assert publish_menu(api) is None and fake_wechat.menu() is not None


def test_admin_page_publishes_for_county_only(db_url, fake_wechat, villages) -> None:  # type: ignore[no-untyped-def]
    from bot.app import create_app
    from tests.conftest import LiveServer

    app = create_app(make_config(db_url, wechat_api_base=fake_wechat.base_url))
    live = LiveServer(app)
    try:
        make_staff("county1", "county")
        make_staff("qs", "village", village="青石村")
        s = login(live.url, "county1")
        page = s.get(f"{live.url}/admin/menu", timeout=10)
        assert "还没有菜单" in page.text and "依申请公开 ▸ 申请公开：等于发“申请公开”" in page.text
        assert "APPLY" not in page.text
        r = post_form(s, live.url, "/admin/menu", "/admin/menu", {})
        assert "菜单已发布" in r.text and 'id="menu-current"' in r.text
        assert fake_wechat.menu() is not None
        clerk = login(live.url, "qs")
        assert clerk.get(f"{live.url}/admin/menu", timeout=10).status_code == 403
        assert "公众号菜单" not in clerk.get(f"{live.url}/admin/", timeout=10).text
    finally:
        live.stop()


def test_the_fake_holds_to_wechats_menu_rules(fake_wechat) -> None:  # type: ignore[no-untyped-def]
    import requests

    token = requests.post(f"{fake_wechat.base_url}/cgi-bin/stable_token", timeout=5, json={
        "grant_type": "client_credential", "appid": TEST_APPID, "secret": "test-secret"}).json()["access_token"]

    def create(buttons: list[dict]) -> int:
        r = requests.post(f"{fake_wechat.base_url}/cgi-bin/menu/create", params={"access_token": token},
                          json={"button": buttons}, timeout=5)
        return int(r.json()["errcode"])

    get = requests.get(f"{fake_wechat.base_url}/cgi-bin/menu/get", params={"access_token": token}, timeout=5)
    assert get.json()["errcode"] == 46003
    click = {"type": "click", "name": "帮助", "key": "HELP"}
    assert create([{"name": "办事", "sub_button": [click] * 6}]) == 40023
    assert create([{"type": "click", "name": "问政策问政策问政策", "key": "HELP"}]) == 40018  # 27 bytes > 16
    assert create([{"type": "click", "name": "问政策", "key": ""}]) == 40019
    assert create([{"type": "tap", "name": "问政策", "key": "HELP"}]) == 40017
    assert fake_wechat.menu() is None
    assert create([click]) == 0 and fake_wechat.menu() == {"button": [click]}
