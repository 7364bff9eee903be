"""Every message a staff member reads in the admin is plain Chinese: this walks the error paths
of every form (the request workbench has its own tests) and the delivery report, and fails on
command-line flags (`--reason`), snake_case codes or English error text (tests/staff_text.py)."""
from __future__ import annotations

import requests
from sqlmodel import select

from core import db
from core.models.core import Village
from core.models.notices import Objection
from core.models.outbox import OutboxMessage
from core.notices.service import create_notice
from tests.admin_support import PASSWORD, csrf_of, login, make_staff, post_form
from tests.staff_text import assert_plain, plain_problems

# What the dispatcher really stores (technical text, kept for logs and the technical staff).
STORED_ERRORS = [
    "/cgi-bin/message/custom/send: cannot connect: HTTPSConnectionPool(host='api.weixin.qq.com', port=443): "
    "Max retries exceeded with url: /cgi-bin/message/custom/send (Caused by NameResolutionError(\"<urllib3."
    "connection.HTTPSConnection object at 0x7f>: Failed to resolve 'api.weixin.qq.com'\"))（已试 5 次）",
    "45015 超过48小时没有互动，客服消息发不出",
    "40001 invalid credential, access_token is invalid or not latest rid: 6565",
    "/cgi-bin/message/custom/send: no answer within 10 s after sending",
    "程序错误：KeyError",
    "不确定是否已送达：/cgi-bin/message/mass/send: HTTP 502 from WeChat",
    "48001 api unauthorized rid: 1",
    "99999 something new",
    "/cgi-bin/message/custom/send: connect timeout (ConnectTimeout)",
]


def test_staff_errors_are_plain_chinese(live, villages):
    base = live.url
    vid = villages["青石村"]
    make_staff("county1", "county")
    make_staff("qs", "village", village="青石村")
    # Login and password.
    anon = requests.Session()
    page = anon.get(f"{base}/admin/login", timeout=10).text
    r = anon.post(f"{base}/admin/login", data={"username": "county1", "password": "wrong-pass1",
                                               "csrf_token": csrf_of(page)}, timeout=10)
    assert_plain(r.text, expect="用户名或密码不对", where="login")
    r = anon.post(f"{base}/admin/login", data={"username": "county1", "password": PASSWORD}, timeout=10)
    assert_plain(r.text, expect="页面已过期", where="missing CSRF")
    county, clerk = login(base, "county1"), login(base, "qs")
    cases = [
        ("/admin/account/password", "/admin/account/password", {"old_password": PASSWORD, "new_password": "short", "new_password2": "short"}, "密码至少"),
        ("/admin/account/password", "/admin/account/password", {"old_password": PASSWORD, "new_password": "abcdefghij", "new_password2": "abcdefghij"}, "字母和数字"),
        ("/admin/account/password", "/admin/account/password", {"old_password": "nope-12345", "new_password": "Abcdefg123", "new_password2": "Abcdefg123"}, "原密码不对"),
        ("/admin/account/password", "/admin/account/password", {"old_password": PASSWORD, "new_password": "Abcdefg123", "new_password2": "Abcdefg124"}, "不一样"),
        ("/admin/staff", "/admin/staff", {"username": "x y", "role": "county"}, "用户名只能用"),
        ("/admin/staff", "/admin/staff", {"username": "clerk9", "role": "village"}, "村级账号请选一个村"),
        ("/admin/staff", "/admin/staff", {"username": "town9", "role": "town"}, "乡镇账号请选一个乡镇"),
        ("/admin/staff", "/admin/staff", {"username": "clerk9", "role": "boss"}, "级别只能是"),
        ("/admin/staff", "/admin/staff", {"username": "qs", "role": "county"}, "已经有人用了"),
        ("/admin/villages", "/admin/villages", {"name": ""}, "请填写村名"),
        (f"/admin/villages/{vid}", f"/admin/villages/{vid}", {"phone": "0599-6810001"}, "没有勾选通知发送方式"),
        ("/admin/villages", "/admin/villages", {"name": "新村", "town": ""}, "请填写所属乡镇"),
        ("/admin/villages", "/admin/villages", {"name": "青石村", "town": "石门乡"}, "已经有叫"),
        (f"/admin/villages/{vid}", f"/admin/villages/{vid}/members", {"name": "", "role": "会计"}, "请填写成员的姓名"),
        (f"/admin/villages/{vid}", f"/admin/villages/{vid}/members", {"name": "王五", "role": ""}, "请选择职务"),
        (f"/admin/villages/{vid}", f"/admin/villages/{vid}/codes/99999/withdraw", {}, "已经用过或已作废"),
        (f"/admin/villages/{vid}/finance", f"/admin/villages/{vid}/finance", {"period": "", "name": "x", "kind": "支出", "amount": "1"}, "请选择月份"),
        (f"/admin/villages/{vid}/finance", f"/admin/villages/{vid}/finance", {"period": "2026-13", "name": "x", "kind": "支出", "amount": "1"}, "月份格式"),
        (f"/admin/villages/{vid}/finance", f"/admin/villages/{vid}/finance", {"period": "2026-10"}, "请至少填一行"),
        (f"/admin/villages/{vid}/finance", f"/admin/villages/{vid}/finance", {"period": "2026-10", "name": "修路", "kind": "支出", "amount": "abc"}, "看不懂"),
        (f"/admin/villages/{vid}/finance", f"/admin/villages/{vid}/finance", {"period": "2026-10", "name": "修路", "kind": "支出", "amount": "-5"}, "看不懂"),
        ("/admin/synonyms", "/admin/synonyms", {"terms": "只有一个"}, "至少要两个词"),
        ("/admin/questions", "/admin/questions/bulk", {}, "请先勾选"),
        ("/admin/objections", "/admin/objections/99999/reply", {"reply_text": "x"}, "没有找到"),
        ("/admin/questions", "/admin/questions/99999/attach", {"target": "catalog:x", "as": "alias"}, "请求有误"),
    ]
    notice_cases = [
        {"category": "", "title": "t", "body": "b", "when": "now"},
        {"category": "其他", "title": "", "body": "b", "when": "now"},
        {"category": "其他", "title": "t", "body": "b", "when": "later", "publish_at": ""},
        {"category": "其他", "title": "t", "body": "b", "when": "later", "publish_at": "明天"},
        {"category": "其他", "title": "t", "body": "b", "when": "later", "publish_at": "2001-01-01T09:00"},
        {"category": "其他", "title": "t", "body": "b", "when": "now", "objection_days": "七"},
        {"category": "其他", "title": "t", "body": "b", "when": "now", "objection_days": "99"},
        {"category": "其他", "title": "t", "body": "b", "when": "now", "link": "www.example.com"},
        {"category": "其他", "title": "t", "body": "b", "when": "repeat", "repeat": "monthly", "repeat_day": "40"},
        {"category": "其他", "title": "t", "body": "b", "when": "repeat", "repeat": "monthly", "repeat_day": "5", "repeat_time": "25:00"},
        {"category": "其他", "title": "t", "body": "", "when": "repeat", "repeat": "monthly", "repeat_day": "5", "finance_body": "1"},
        {"category": "其他", "title": "t", "body": "b", "when": "now", "villages": "99999"},
    ]
    for page_path, action, data, expect in cases:
        who = clerk if "/finance" in action or "/members" in action or "/codes/" in action else county
        r = post_form(who, base, page_path, action, data)
        assert r.status_code in (200, 400, 404, 403), (action, r.status_code)
        assert_plain(r.text, expect=expect, where=f"{action} {data}")
    for data in notice_cases:
        r = post_form(county, base, "/admin/notices/new", "/admin/notices/new", {**data, "action": "preview"})
        assert r.status_code == 400, data
        assert_plain(r.text, expect="", where=f"notice {data}")
    r = post_form(clerk, base, "/admin/notices/new", "/admin/notices/new",
                  {"category": "其他", "title": "t", "body": "b", "when": "now", "villages": str(villages["杨柳村"]),
                   "action": "preview"})
    assert_plain(r.text, expect="只能发给您负责的村", where="other village")
    # Import: no file, a file of the wrong kind, a broken file, a stale confirmation.
    token = csrf_of(county.get(f"{base}/admin/content/import", timeout=10).text)
    for files, expect in ((None, "请选择要导入的文件"), (("a.exe", b"MZ"), "不支持这种文件"),
                          (("目录.xlsx", b"not a zip"), "打不开"), (("目录.csv", "序号,名称\n1,x\n".encode()), "没找到表头"),
                          (("内容.yaml", b"catalog: [a\n  b: c"), "YAML 格式有错")):
        r = county.post(f"{base}/admin/content/import", data={"csrf_token": token}, timeout=30,
                        files={"files": (files[0], files[1], "application/octet-stream")} if files else None)
        assert r.status_code == 400
        assert_plain(r.text, expect=expect, where=f"import {files and files[0]}")
    r = county.post(f"{base}/admin/content/import/confirm", data={"csrf_token": token, "token": "0" * 32}, timeout=10)
    assert_plain(r.text, expect="已经确认过或已过期", where="import confirm")
    # Pages that are not there or not allowed.
    assert_plain(clerk.get(f"{base}/admin/villages/{villages['杨柳村']}", timeout=10).text, expect="没有找到")
    assert_plain(clerk.get(f"{base}/admin/staff", timeout=10).text, expect="没有权限")
    assert_plain(clerk.get(f"{base}/admin/content/import/template.xlsx", timeout=10).text, expect="没有权限")


def test_delivery_report_and_objection_replies_show_plain_reasons(live, villages):
    with db.session_scope() as s:
        qs = s.get(Village, villages["青石村"])
        nid = create_notice(s, category="其他", title="停水通知", body="明天停水。", villages=[qs], objection_days=3)[0].id
        for i, err in enumerate(STORED_ERRORS):
            s.add(OutboxMessage(kind="custom_text", dedupe_key=f"e:{i}", openid=f"oQS_err_user_{i:04d}",
                                village_id=qs.id, notice_id=nid, status="failed", last_error=err, attempts=5))
        s.add(Objection(notice_id=nid, openid="oQS_err_user_0000", village_id=qs.id, text="停水太久"))
    make_staff("qs", "village", village="青石村")
    s = login(live.url, "qs")
    page = s.get(f"{live.url}/admin/notices/{nid}?state=failed", timeout=10).text
    shown = assert_plain(page, where="delivery report")
    assert any("网络不通" in m for m in shown) and any("超过48小时未互动" in m for m in shown)
    assert any("微信接口拒绝" in m for m in shown) and any("已试 5 次" in m for m in shown)
    assert "HTTPSConnectionPool" not in page and "NameResolutionError" not in page and "KeyError" not in page
    with db.session_scope(readonly=True) as sess:
        oid = sess.exec(select(Objection)).one().id
    r = post_form(s, live.url, "/admin/objections", f"/admin/objections/{oid}/reply", {"reply_text": ""})
    assert_plain(r.text, expect="请填写答复内容", where="objection reply")
    r = post_form(s, live.url, "/admin/objections", f"/admin/objections/{oid}/reply", {"reply_text": "长" * 700})
    assert_plain(r.text, expect="答复太长了", where="objection reply")


def test_the_checker_itself_catches_flags_codes_and_english():
    assert plain_problems("须写明不予公开部分及理由（--reason）")
    assert plain_problems("理由类别：state_secret=国家秘密")
    assert plain_problems("HTTPSConnectionPool(host='api.weixin.qq.com') NameResolutionError")
    assert not plain_problems("文件“目录.xlsx”，工作表“社会救助”，第3行，K列“公开方式”：只能填 主动、依申请。")
