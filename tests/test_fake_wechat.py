"""The fake WeChat API itself: the rules other tests rely on (kept small)."""
from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.fake_wechat import FakeWeChat, FakeWeChatProcess

APPID, SECRET = "wx_fake_test", "s3cret"


@pytest.fixture
def fake() -> Iterator[FakeWeChat]:
    with FakeWeChat(appid=APPID, secret=SECRET) as f:
        yield f


def token(fake_url: str, stable: bool = True, force: bool = False) -> dict:
    if stable:
        return requests.post(f"{fake_url}/cgi-bin/stable_token", timeout=5, json={
            "grant_type": "client_credential", "appid": APPID, "secret": SECRET, "force_refresh": force}).json()
    return requests.get(f"{fake_url}/cgi-bin/token", timeout=5, params={
        "grant_type": "client_credential", "appid": APPID, "secret": SECRET}).json()


def tags(fake_url: str, tok: str) -> int:
    return requests.get(f"{fake_url}/cgi-bin/tags/get", params={"access_token": tok}, timeout=5).json().get(
        "errcode", 0)


def test_token_rules(fake: FakeWeChat) -> None:
    url = fake.base_url
    t1 = token(url, stable=False)["access_token"]
    t2 = token(url, stable=False)["access_token"]
    assert (tags(url, t1), tags(url, t2)) == (40001, 0)  # /token invalidates the previous token
    s1 = token(url)
    assert s1["expires_in"] == 7200 and token(url)["access_token"] == s1["access_token"]
    assert tags(url, t2) == 0  # stable_token leaves /token tokens alone
    s2 = token(url, force=True)["access_token"]
    assert tags(url, s1["access_token"]) == 40001 and tags(url, s2) == 0
    fake.expire_token()
    assert tags(url, s2) == 42001 and tags(url, "") == 41001
    assert token(url)["access_token"] != s2  # the expired one is replaced
    assert requests.post(f"{url}/cgi-bin/stable_token", json={"grant_type": "client_credential", "appid": APPID,
                                                              "secret": "bad"}, timeout=5).json()["errcode"] == 40125
    assert fake.token_fetches == 7


def test_message_rules_and_faults(fake: FakeWeChat) -> None:
    url, tok = fake.base_url, token(fake.base_url)["access_token"]

    def post(path: str, body: dict) -> dict:
        return requests.post(f"{url}/cgi-bin/{path}", params={"access_token": tok}, json=body, timeout=5).json()

    fake.set_outside_window(["o_far"])
    text = {"msgtype": "text", "text": {"content": "hi"}}
    assert post("message/custom/send", {"touser": "o_far", **text})["errcode"] == 45015
    fake.fail_next("message/custom/send", -1, count=2)
    assert [post("message/custom/send", {"touser": "o1", **text})["errcode"] for _ in range(3)] == [-1, -1, 0]
    assert [r["body"]["touser"] for r in fake.delivered("message/custom/send")] == ["o1"]

    tag = post("tags/create", {"tag": {"name": "青石村"}})["tag"]["id"]
    assert post("tags/create", {"tag": {"name": "青石村"}})["errcode"] == 45157
    assert post("tags/create", {"tag": {"name": "村" * 31}})["errcode"] == 45158
    many = [f"o{i}" for i in range(51)]
    assert post("tags/members/batchtagging", {"openid_list": many, "tagid": tag})["errcode"] == 40032
    assert post("tags/members/batchtagging", {"openid_list": many[:50], "tagid": tag})["errcode"] == 0
    mass = {"filter": {"is_to_all": False, "tag_id": tag}, "msgtype": "text", "text": {"content": "公告"},
            "clientmsgid": "k1"}
    first = post("message/mass/sendall", mass)
    again = post("message/mass/sendall", mass)
    assert first["errcode"] == 0 and again == {"errcode": 45065, "errmsg": "clientmsgid exist",
                                               "msg_id": first["msg_id"]}
    assert len(fake.mass_sends()[0]["recipients"]) == 50
    old_style = {**mass, "filter": {"is_to_all": False, "group_id": tag}, "clientmsgid": "k2"}
    assert post("message/mass/sendall", old_style)["errcode"] == 47001  # wechatpy's retired group_id

    robot = [requests.post(f"{url}/cgi-bin/webhook/send", params={"key": "k"}, json=text, timeout=5).json()
             for _ in range(21)]
    assert [r["errcode"] for r in robot] == [0] * 20 + [45009]

    fake.drop_next("message/template/send")
    with pytest.raises(requests.ConnectionError):
        post("message/template/send", {"touser": "o1", "template_id": "T", "data": {}})
    assert fake.delivered("message/template/send")[0]["fault"] == "drop"
    fake.slow("user/info", 0.5)
    with pytest.raises(requests.ReadTimeout):
        requests.get(f"{url}/cgi-bin/user/info", params={"access_token": tok, "openid": "o1"}, timeout=(1, 0.2))


def test_standalone_process_control_and_log_survive_kill(tmp_path: Path) -> None:
    log = tmp_path / "fake.jsonl"
    with FakeWeChatProcess(log_path=log, extra_args=["--appid", APPID, "--secret", SECRET]) as proc:
        remote = proc.remote
        tok = token(proc.base_url)["access_token"]
        remote.fail_next("message/custom/send", 45009)
        codes = [requests.post(f"{proc.base_url}/cgi-bin/message/custom/send", params={"access_token": tok},
                               json={"touser": f"o{i}", "msgtype": "text", "text": {"content": "x"}},
                               timeout=5).json()["errcode"] for i in range(3)]
        assert codes == [45009, 0, 0]
        assert remote.stats()["token_fetches"] == 1
        assert [r["body"]["touser"] for r in remote.delivered("message/custom/send")] == ["o1", "o2"]
        assert proc.proc is not None
        os.kill(proc.proc.pid, signal.SIGKILL)
        proc.proc.wait()
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [(r["path"], r["errcode"]) for r in lines] == [("/cgi-bin/stable_token", 0)] + [
        ("/cgi-bin/message/custom/send", c) for c in (45009, 0, 0)]
