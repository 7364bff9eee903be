"""Rotating FIELD_ENCRYPTION_KEY (issue 14, item 7): the blind index used only the first key, so
adding a key hid every older request from look-ups, and nothing re-encrypted the stored fields.

Old requests must stay findable before, during (half rotated) and after `rotate-keys`, and an
application being typed in chat across the rotation must still complete."""
from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from bot.app import create_app
from bot.simulator import WeChatServer, http_poster
from core import db, fieldcrypt
from core.models.requests import DisclosureRequest
from core.requests import service
from core.requests.keys import requests_of_person, rotate_keys
from tests.cli_support import run_cli
from tests.conftest import TEST_AES_KEY, LiveServer, make_config

ROOT = Path(__file__).resolve().parent.parent
KEY_A = fieldcrypt.generate_key()
KEY_B = fieldcrypt.generate_key()
ID_X = "11010519491231002X"
ID_Y = "110105194912310048"


def _file(cfg, id_number: str, what: str) -> int:  # type: ignore[no-untyped-def]
    with db.session_scope() as s:
        req = service.create_application(s, cfg, service.ApplicationData(
            applicant_type="person", name="张三", id_number=id_number, phone="13812345678",
            description=what, form="paper", delivery="pickup"), openid=None)
        return int(req.id)  # type: ignore[arg-type]


def _same_applicant(cfg, rid: int) -> list[str]:  # type: ignore[no-untyped-def]
    with db.session_scope() as s:
        req = s.get(DisclosureRequest, rid)
        return sorted(service.detail(s, cfg, req)["same_applicant"])


def _numbers(ids: list[int]) -> list[str]:
    with db.session_scope(readonly=True) as s:
        return sorted(s.get(DisclosureRequest, i).tracking_no for i in ids)


def test_old_requests_stay_findable_during_and_after_rotation(db_url: str) -> None:
    old = make_config(db_url, field_key=KEY_A)
    x_old = [_file(old, ID_X, f"村道资料{i}") for i in range(3)]
    y_old = _file(old, ID_Y, "低保名单")

    both = make_config(db_url, field_key=f"{KEY_B},{KEY_A}")  # the new key goes first
    x_new = _file(both, ID_X, "村道资料3")                  # indexed under the new key
    assert _same_applicant(both, x_new) == _numbers(x_old)
    with db.session_scope(readonly=True) as s:
        assert s.get(DisclosureRequest, x_new).repeat_note and "第 4 份" in s.get(DisclosureRequest, x_new).repeat_note
        assert [r.id for r in requests_of_person(s, both, ID_X)] == [*x_old, x_new]

    half = rotate_keys(both, limit=2)                       # interrupted half-way
    assert half.rotated == 2
    for rid in [*x_old, x_new]:
        assert len(_same_applicant(both, rid)) == 3
    assert _same_applicant(both, y_old) == []

    env = {"DATABASE_URL": db_url, "FIELD_ENCRYPTION_KEY": f"{KEY_B},{KEY_A}", "LOG_LEVEL": "WARNING"}
    out = run_cli(["request", "rotate-keys", "--batch", "2"], env)
    assert out.returncode == 0, out.stderr
    assert "已换成新密钥：2 份" in out.stdout and "原本就是新密钥：3 份" in out.stdout

    new_only = make_config(db_url, field_key=KEY_B)         # the old key is gone
    crypt = fieldcrypt.for_config(new_only)
    with db.session_scope(readonly=True) as s:
        rows = list(s.exec(select(DisclosureRequest)))
        assert [r.id for r in requests_of_person(s, new_only, ID_X)] == [*x_old, x_new]
    for r in rows:
        assert crypt.decrypt(r.id_enc) in (ID_X, ID_Y) and crypt.decrypt(r.phone_enc) == "13812345678"
        assert r.id_index == crypt.blind_index(crypt.decrypt(r.id_enc))
    assert _same_applicant(new_only, x_old[0]) == _numbers(x_old[1:] + [x_new])
    again = rotate_keys(new_only)
    assert (again.rotated, again.current, again.remaining) == (0, 5, 0)


def test_an_application_typed_across_the_rotation_completes(db_url: str, villages) -> None:  # type: ignore[no-untyped-def]
    def server(cfg) -> tuple[LiveServer, WeChatServer]:  # type: ignore[no-untyped-def]
        live = LiveServer(create_app(cfg))
        return live, WeChatServer(token=cfg.wechat_token, post=http_poster(live.url), aes_key=TEST_AES_KEY,
                                  appid=cfg.wechat_appid)

    live, wechat = server(make_config(db_url, field_key=KEY_A))
    try:
        for text, expected in [("申请公开", "什么身份"), ("1", "您的姓名"), ("张三", "身份证号码"), (ID_X, "联系电话")]:
            assert expected in wechat.say("o_rot", text)
    finally:
        live.stop()
    result = rotate_keys(make_config(db_url, field_key=f"{KEY_B},{KEY_A}"))
    assert result.drafts == 1
    live, wechat = server(make_config(db_url, field_key=KEY_B))
    try:
        for text, expected in [("13812345678", "申请公开什么信息"), ("2025年青石村道路硬化项目的验收报告", "纸质的还是电子的"),
                               ("1", "怎么给您"), ("1", "请核对您的申请"), ("确认", "登记编号")]:
            assert expected in wechat.say("o_rot", text)
    finally:
        live.stop()
    with db.session_scope(readonly=True) as s:
        req = s.exec(select(DisclosureRequest)).one()
    assert fieldcrypt.for_config(make_config(db_url, field_key=KEY_B)).decrypt(req.id_enc) == ID_X


def test_unreadable_rows_are_reported_not_skipped_silently(sqlite_url: str) -> None:
    _file(make_config(sqlite_url, field_key=KEY_A), ID_X, "村道资料")
    env = {"DATABASE_URL": sqlite_url, "FIELD_ENCRYPTION_KEY": KEY_B, "LOG_LEVEL": "WARNING"}
    out = run_cli(["request", "rotate-keys"], env)
    assert out.returncode == 1 and "打不开" in out.stderr and "Traceback" not in out.stderr
