"""试一试: staff talk to the bot as a resident of one of their villages would, through the same
signed /wechat callback (the simulator signs it like WeChat does), and see which kind of reply it
was and which items the matcher weighed, with their scores. For training clerks, and for checking
a new alias at once.

The pretend resident is a follower row with an openid starting `o_trial_`; it is kept
unsubscribed so notices never fan out to it, its questions are kept out of the residents'
figures, and the follow-up messages the bot would push to it are shown here and cancelled
instead of being sent.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from flask import abort, current_app, render_template, request

from admin import bp
from admin.auth import current_staff
from admin.views.common import form_str, int_arg, scope
from core import trial as trial_log
from core.db import session_scope, utcnow
from core.models.activity import TRIAL_OPENID_PREFIX
from core.models.core import Follower, Village
from core.simulator import WeChatServer, flask_poster, text_xml

KIND_LABELS = {"answer": "直接答复", "choices": "给出选项（居民回复数字）", "fallback": "没答上（给出村委会电话，记入未答问题）"}
SHORT_KINDS = {"answer": "直接答复", "choices": "给出选项", "fallback": "没答上"}
DOC_TYPES = {"catalog": "公开目录", "guide": "办事指南", "notice": "通知公示"}
SUFFIX_RE = re.compile(r"[A-Za-z0-9_]{1,16}")


@dataclass
class Exchange:
    text: str
    reply: str
    kind: str = ""                      # answer | choices | fallback | "" (a command or a step)
    matches: list[dict] = field(default_factory=list)
    followups: list[str] = field(default_factory=list)


def trial_openid(staff_id: int, suffix: str) -> str:
    return f"{TRIAL_OPENID_PREFIX}{staff_id}_{suffix}"


def _prepare_follower(openid: str, village_id: int) -> None:
    """The pretend resident lives in the chosen village; unsubscribed, so no notice goes to it."""
    with session_scope() as s:
        f = s.get(Follower, openid)
        if f is None:
            f = Follower(openid=openid, subscribed=False, subscribed_at=utcnow())
        f.village_id, f.subscribed, f.bound_at = village_id, False, f.bound_at or utcnow()
        s.add(f)


def _last_log_id(openid: str) -> int:
    with session_scope(readonly=True) as s:
        return trial_log.last_log_id(s, openid)


def _talk(openid: str, text: str) -> Exchange:
    config = current_app.config["BOT_CONFIG"]
    before = _last_log_id(openid)
    started = utcnow()
    server = WeChatServer(token=config.wechat_token, post=flask_poster(current_app._get_current_object()),  # type: ignore[attr-defined]
                          aes_key=config.wechat_encoding_aes_key, appid=config.wechat_appid)
    status, reply = server.send_xml(text_xml(openid, text))
    if status != 200:
        reply = f"（机器人没有正常回复，HTTP {status}）"
    ex = Exchange(text=text, reply=reply)
    with session_scope() as s:
        log = trial_log.log_after(s, openid, before)
        if log is not None:
            ex.kind, ex.matches = log.kind, json.loads(log.matches or "[]")
        # Follow-ups would be pushed to the resident as customer-service messages: show, don't send.
        for row in trial_log.queued_since(s, openid, started):
            if row.kind == "custom_text":
                ex.followups.append(str(json.loads(row.payload or "{}").get("text", "")))
            row.status, row.last_error = "cancelled", "试一试：只在后台显示，不发送"
            s.add(row)
    return ex


@bp.route("/try", methods=["GET", "POST"])
def trial() -> str:
    sc = scope()
    staff = current_staff()
    with session_scope(readonly=True) as s:
        villages = sc.villages(s)
    if not villages:
        abort(403)
    village_id = (int(request.form.get("village") or 0) if request.method == "POST" else int_arg("village")) or villages[0].id
    if village_id not in {v.id for v in villages}:
        abort(404)
    suffix = (request.values.get("who") or "1").strip()
    error = ""
    if not SUFFIX_RE.fullmatch(suffix):
        error, suffix = "居民编号只能用字母、数字和下划线，最多16位。", "1"
    assert staff.id is not None and village_id is not None
    openid = trial_openid(staff.id, suffix)
    exchange = None
    if request.method == "POST" and not error:
        text = form_str("text", 600)
        if not text:
            error = "请先输入要问的话。"
        else:
            _prepare_follower(openid, village_id)
            exchange = _talk(openid, text)
    with session_scope(readonly=True) as s:
        recent = trial_log.recent_logs(s, openid, 8)
        village = s.get(Village, village_id)
    recent_rows = [(r, json.loads(r.matches or "[]")) for r in recent]
    return render_template("trial.html", villages=villages, village=village, village_id=village_id, who=suffix,
                           openid=openid, exchange=exchange, error=error, recent=recent_rows,
                           kind_labels=KIND_LABELS, short_kinds=SHORT_KINDS, doc_types=DOC_TYPES)
