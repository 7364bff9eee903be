"""A fake of WeChat's server API (and the WeCom group robot) served over real HTTP on loopback.

Tests and benchmarks talk to it exactly as the bot talks to api.weixin.qq.com, so the client's
timeouts, retries, token sharing and error handling are exercised for real; `python -m bot serve`
starts it as the local stand-in when no real credentials are configured, so a first run's notices
and tag syncs complete. Stdlib only, so it starts fast and runs standalone:

    with FakeWeChat() as fake:            # in-process, port chosen by the OS
        fake.base_url                     # -> http://127.0.0.1:PORT
        fake.fail_next("message/custom/send", -1)
        fake.requests("message/custom/send")

    python bot/fake_wechat.py --port 8901  --log /tmp/fake.jsonl   # standalone (benchmarks, kill -9)
    RemoteFake("http://127.0.0.1:8901").fail_next(...)             # control it over /_fake/*

Behaviour follows WeChat's published rules: /token invalidates the previous /token token,
stable_token (normal mode) hands out the same token until its last 5 minutes, force_refresh
invalidates the previous stable token; customer-service messages fail with 45015 outside the 48 h
window; mass sends dedupe on clientmsgid (45065); tags cap at 100, names at 30 chars, batches at 50
openids; the group robot allows 20 messages per minute per key; the custom menu takes 1–3 buttons
with up to 5 under each.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qsl, urlencode, urlsplit
from urllib.request import Request, urlopen

DEFAULT_APPID = "wx0000000000000000"
DEFAULT_SECRET = "dev-secret"
SYSTEM_TAGS = {0: "未分组", 1: "黑名单", 2: "星标组"}
MAX_TAGS = 100
MAX_TAGS_PER_USER = 20
MAX_TAG_NAME = 30
MAX_BATCH = 50
CLIENTMSGID_WINDOW = 24 * 3600
STABLE_EARLY_RENEW = 300  # normal-mode stable_token renews in the last 5 minutes
READY_PREFIX = "FAKE_WECHAT_READY "

# Paths that do not take an access_token.
_NO_TOKEN = {"/cgi-bin/token", "/cgi-bin/stable_token", "/cgi-bin/webhook/send"}


def norm_path(path: str) -> str:
    """'message/custom/send', '/cgi-bin/message/custom/send' and '*' all work as path filters."""
    if path == "*" or path.startswith("/"):
        return path
    return "/cgi-bin/" + path


def _err(code: int, msg: str, **extra: Any) -> dict[str, Any]:
    return {"errcode": code, "errmsg": msg, **extra}


OK: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}


@dataclass
class _Token:
    appid: str
    kind: str  # "token" | "stable"
    expires_at: float
    revoked: bool = False


@dataclass
class _Fault:
    kind: str  # "errcode" | "latency" | "drop"
    path: str
    remaining: int | None  # None = until cleared
    errcode: int = 0
    errmsg: str = ""
    seconds: float = 0.0
    processed: bool = True  # drop: handle the request before dropping (a "maybe delivered" send)


@dataclass
class _Reply:
    status: int = 200
    body: dict[str, Any] | None = None
    delay: float = 0.0
    drop: bool = False
    content_type: str = "application/json; encoding=utf-8"


@dataclass
class _State:
    apps: dict[str, str]
    token_ttl: int
    force_refresh_interval: float
    tokens: dict[str, _Token] = field(default_factory=dict)
    current: dict[tuple[str, str], str] = field(default_factory=dict)  # (appid, kind) -> token
    last_force: dict[str, float] = field(default_factory=dict)
    token_fetches: int = 0
    tokens_issued: int = 0
    tags: dict[int, str] = field(default_factory=dict)
    members: dict[int, set[str]] = field(default_factory=dict)
    next_tag_id: int = 100
    outside_window: set[str] = field(default_factory=set)
    unsubscribed: set[str] = field(default_factory=set)
    templates: set[str] = field(default_factory=set)  # empty = any template_id accepted
    clientmsgids: dict[str, tuple[float, int]] = field(default_factory=dict)
    next_msg_id: int = 1000
    mass_sends: list[dict[str, Any]] = field(default_factory=list)
    robot_keys: set[str] = field(default_factory=set)  # empty = any key accepted
    robot_sent: dict[str, deque[float]] = field(default_factory=dict)
    robot_rate_limit: int = 20
    faults: list[_Fault] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    by_path: dict[str, int] = field(default_factory=dict)
    errcodes: dict[str, int] = field(default_factory=dict)
    delivered: int = 0
    menu: dict[str, Any] | None = None  # the custom menu (自定义菜单) last created


class FakeWeChat:
    """The fake server; a context manager that serves on 127.0.0.1 in a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, appid: str = DEFAULT_APPID,
                 secret: str = DEFAULT_SECRET, apps: dict[str, str] | None = None, token_ttl: int = 7200,
                 force_refresh_interval: float = 30.0, robot_rate_limit: int = 20,
                 log_path: str | None = None) -> None:
        self.host, self.port = host, port
        self.appid, self.secret = appid, secret
        self._state = _State(apps=dict(apps or {appid: secret}), token_ttl=token_ttl,
                             force_refresh_interval=force_refresh_interval, robot_rate_limit=robot_rate_limit)
        self._lock = threading.RLock()
        self._log_lock = threading.Lock()
        self._log = open(log_path, "a", encoding="utf-8") if log_path else None
        self._seq = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "FakeWeChat":
        server = _Server((self.host, self.port), _Handler)
        server.fake = self
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="fake-wechat", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "FakeWeChat":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # ------------------------------------------------------------------ inspection
    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        """Recorded API calls (oldest first): seq, time, method, path, query, body, errcode, delivered."""
        with self._lock:
            records = list(self._state.records)
        if path is None or path == "*":
            return records
        p = norm_path(path)
        return [r for r in records if r["path"] == p]

    def delivered(self, path: str | None = None) -> list[dict[str, Any]]:
        """Calls WeChat accepted (errcode 0), including ones whose answer was slow or dropped."""
        return [r for r in self.requests(path) if r["delivered"]]

    @property
    def token_fetches(self) -> int:
        """Calls to /cgi-bin/token and /cgi-bin/stable_token (successful or not)."""
        return self._state.token_fetches

    @property
    def tokens_issued(self) -> int:
        return self._state.tokens_issued

    def stats(self) -> dict[str, Any]:
        with self._lock:
            s = self._state
            return {"requests": len(s.records), "by_path": dict(s.by_path), "errcodes": dict(s.errcodes),
                    "delivered": s.delivered, "token_fetches": s.token_fetches,
                    "tokens_issued": s.tokens_issued, "mass_sends": len(s.mass_sends), "tags": len(s.tags)}

    def current_token(self, kind: str = "stable", appid: str | None = None) -> str | None:
        with self._lock:
            return self._state.current.get((appid or self.appid, kind))

    def mass_sends(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(m, recipients=list(m["recipients"])) for m in self._state.mass_sends]

    def tags(self) -> dict[int, str]:
        with self._lock:
            return dict(self._state.tags)

    def menu(self) -> dict[str, Any] | None:
        """The custom menu as last accepted by menu/create (None: no menu)."""
        with self._lock:
            return json.loads(json.dumps(self._state.menu)) if self._state.menu else None

    def tag_members(self, tag_id: int) -> set[str]:
        with self._lock:
            return set(self._state.members.get(tag_id, set()))

    # ------------------------------------------------------------------ setup
    def set_outside_window(self, openids: Iterable[str], outside: bool = True) -> None:
        """Mark followers as outside the 48 h customer-service window (45015) or back inside."""
        with self._lock:
            if outside:
                self._state.outside_window.update(openids)
            else:
                self._state.outside_window.difference_update(openids)

    def set_unsubscribed(self, openids: Iterable[str], unsubscribed: bool = True) -> None:
        with self._lock:
            if unsubscribed:
                self._state.unsubscribed.update(openids)
            else:
                self._state.unsubscribed.difference_update(openids)

    def set_templates(self, template_ids: Iterable[str]) -> None:
        """Restrict template_id to these (40037 for others); empty accepts any."""
        with self._lock:
            self._state.templates = set(template_ids)

    def set_robot_keys(self, keys: Iterable[str]) -> None:
        """Restrict group-robot keys to these (93000 for others); empty accepts any."""
        with self._lock:
            self._state.robot_keys = set(keys)

    def add_tag(self, name: str, members: Iterable[str] = ()) -> int:
        with self._lock:
            tag_id = self._state.next_tag_id
            self._state.next_tag_id += 1
            self._state.tags[tag_id] = name
            self._state.members[tag_id] = set(members)
            return tag_id

    # ------------------------------------------------------------------ faults
    def fail_next(self, path: str, errcode: int, count: int = 1, errmsg: str | None = None) -> None:
        """The next `count` calls to `path` ('*' = any) answer this errcode and change nothing."""
        with self._lock:
            self._state.faults.append(_Fault("errcode", norm_path(path), count, errcode=errcode,
                                             errmsg=errmsg or _ERRMSG.get(errcode, "fake injected error")))

    def slow(self, path: str, seconds: float, count: int | None = None) -> None:
        """Calls to `path` are handled, then answered `seconds` late (count None = until cleared)."""
        with self._lock:
            self._state.faults.append(_Fault("latency", norm_path(path), count, seconds=seconds))

    def drop_next(self, path: str, count: int = 1, processed: bool = True) -> None:
        """The next `count` calls get the connection closed without an answer.

        processed=True handles the call first (the message went out, the client cannot know);
        processed=False drops it unhandled.
        """
        with self._lock:
            self._state.faults.append(_Fault("drop", norm_path(path), count, processed=processed))

    def expire_token(self, appid: str | None = None) -> None:
        """Every live token of the app expires now (calls answer 42001)."""
        with self._lock:
            now = time.time()
            for tok in self._state.tokens.values():
                if tok.appid == (appid or self.appid) and tok.expires_at > now:
                    tok.expires_at = now - 0.001

    def invalidate_token(self, appid: str | None = None) -> None:
        """Every token of the app becomes invalid (calls answer 40001)."""
        with self._lock:
            for tok in self._state.tokens.values():
                if tok.appid == (appid or self.appid):
                    tok.revoked = True

    def clear_faults(self) -> None:
        with self._lock:
            self._state.faults.clear()

    def reset(self) -> None:
        """Forget records, tokens, tags, faults and sends (settings such as apps stay)."""
        with self._lock:
            old = self._state
            self._state = _State(apps=old.apps, token_ttl=old.token_ttl,
                                 force_refresh_interval=old.force_refresh_interval,
                                 robot_rate_limit=old.robot_rate_limit)

    # ------------------------------------------------------------------ request handling
    def _take_fault(self, path: str) -> list[_Fault]:
        """Consume the faults that apply to this call (at most one of each kind)."""
        taken: list[_Fault] = []
        kinds: set[str] = set()
        for fault in list(self._state.faults):
            if fault.kind in kinds or (fault.path != "*" and fault.path != path):
                continue
            kinds.add(fault.kind)
            taken.append(fault)
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._state.faults.remove(fault)
        return taken

    def dispatch(self, method: str, path: str, query: dict[str, str], raw: bytes) -> _Reply:
        if path.startswith("/_fake/"):
            return self._control(method, path, query, raw)
        body: Any = None
        bad_json = False
        if raw:
            try:
                body = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                bad_json = True
                body = raw.decode("utf-8", "replace")
        with self._lock:
            s = self._state
            self._seq += 1
            record: dict[str, Any] = {"seq": self._seq, "time": time.time(), "method": method, "path": path,
                                      "query": query, "body": body, "errcode": None, "delivered": False,
                                      "fault": None}
            s.records.append(record)
            s.by_path[path] = s.by_path.get(path, 0) + 1
            if path in ("/cgi-bin/token", "/cgi-bin/stable_token"):
                s.token_fetches += 1
            faults = self._take_fault(path)
            delay = sum(f.seconds for f in faults if f.kind == "latency")
            drop = next((f for f in faults if f.kind == "drop"), None)
            failure = next((f for f in faults if f.kind == "errcode"), None)
            if drop is not None and not drop.processed:
                record["fault"] = "drop"
                self._write_log(record)
                return _Reply(drop=True, delay=delay)
            if failure is not None:
                reply = _Reply(body=_err(failure.errcode, failure.errmsg))
                record["fault"] = "errcode"
            elif bad_json:
                reply = _Reply(body=_err(47001, "data format error"))
            else:
                reply = self._route(method, path, query, body)
            if delay:
                record["fault"] = "latency"
            if drop is not None:
                record["fault"] = "drop"
                reply.drop = True
            reply.delay = delay
            if reply.body is not None:
                code = int(reply.body.get("errcode", 0))
                record["errcode"] = code
                record["delivered"] = code == 0 and path not in ("/cgi-bin/token", "/cgi-bin/stable_token")
                s.errcodes[str(code)] = s.errcodes.get(str(code), 0) + 1
                if record["delivered"]:
                    s.delivered += 1
            self._write_log(record)
            return reply

    def _write_log(self, record: dict[str, Any]) -> None:
        if self._log is None:
            return
        line = json.dumps(record, ensure_ascii=False)
        with self._log_lock:
            self._log.write(line + "\n")
            self._log.flush()

    def _route(self, method: str, path: str, query: dict[str, str], body: Any) -> _Reply:
        handler = _ROUTES.get(path)
        if handler is None:
            return _Reply(404, _err(404, f"fake: no such API {path}"))
        allowed, func = handler
        if method not in allowed:
            return _Reply(405, _err(43002, "require POST method" if "POST" in allowed else "require GET method"))
        if path not in _NO_TOKEN:
            problem = self._check_token(query.get("access_token", ""))
            if problem is not None:
                return _Reply(body=problem)
        if method == "POST" and path != "/cgi-bin/tags/get" and not isinstance(body, dict):
            return _Reply(body=_err(44002, "empty post data"))
        return _Reply(body=func(self, query, body if isinstance(body, dict) else {}))

    def _check_token(self, token: str) -> dict[str, Any] | None:
        if not token:
            return _err(41001, "access_token missing")
        tok = self._state.tokens.get(token)
        if tok is None or tok.revoked:
            return _err(40001, "invalid credential, access_token is invalid or not latest")
        if tok.expires_at <= time.time():
            return _err(42001, "access_token expired")
        return None

    # ------------------------------------------------------------------ tokens
    def _issue(self, appid: str, kind: str) -> str:
        s = self._state
        s.tokens_issued += 1
        token = f"FAKE{s.tokens_issued}_{secrets.token_urlsafe(40)}"
        s.tokens[token] = _Token(appid, kind, time.time() + s.token_ttl)
        s.current[(appid, kind)] = token
        return token

    def _credentials(self, appid: str, secret: str) -> dict[str, Any] | None:
        if appid not in self._state.apps:
            return _err(40013, "invalid appid")
        if not secret or self._state.apps[appid] != secret:
            return _err(40125, "invalid appsecret")
        return None

    def _api_token(self, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        if query.get("grant_type") != "client_credential":
            return _err(40002, "invalid grant_type")
        appid = query.get("appid", "")
        problem = self._credentials(appid, query.get("secret", ""))
        if problem:
            return problem
        old = self._state.current.get((appid, "token"))
        if old:  # a fresh /token fetch invalidates the previous one
            self._state.tokens[old].revoked = True
        token = self._issue(appid, "token")
        return {"access_token": token, "expires_in": self._state.token_ttl}

    def _api_stable_token(self, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        if body.get("grant_type") != "client_credential":
            return _err(40002, "invalid grant_type")
        appid = str(body.get("appid", ""))
        problem = self._credentials(appid, str(body.get("secret", "")))
        if problem:
            return problem
        s, now = self._state, time.time()
        cur = s.current.get((appid, "stable"))
        tok = s.tokens.get(cur) if cur else None
        alive = tok is not None and not tok.revoked and tok.expires_at > now
        if body.get("force_refresh") is True:
            too_soon = now - s.last_force.get(appid, 0.0) < s.force_refresh_interval
            if alive and too_soon:  # WeChat: forced refreshes closer than 30 s do not refresh
                assert tok is not None and cur is not None
                return {"access_token": cur, "expires_in": int(tok.expires_at - now)}
            s.last_force[appid] = now
            if tok is not None:
                tok.revoked = True
            token = self._issue(appid, "stable")
            return {"access_token": token, "expires_in": s.token_ttl}
        if alive and tok is not None and cur is not None and tok.expires_at - now > STABLE_EARLY_RENEW:
            return {"access_token": cur, "expires_in": int(tok.expires_at - now)}
        # Last 5 minutes (or gone): a new token; the old one stays valid until it runs out.
        token = self._issue(appid, "stable")
        return {"access_token": token, "expires_in": s.token_ttl}

    # ------------------------------------------------------------------ messages
    def _check_user(self, openid: Any) -> dict[str, Any] | None:
        if not isinstance(openid, str) or not openid:
            return _err(40003, "invalid openid")
        if openid in self._state.unsubscribed:
            return _err(43004, "require subscribe")
        return None

    def _api_custom_send(self, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        openid = body.get("touser")
        problem = self._check_user(openid)
        if problem:
            return problem
        msgtype = body.get("msgtype")
        if msgtype not in ("text", "image", "voice", "video", "music", "news", "mpnews", "msgmenu",
                           "wxcard", "miniprogrampage", "mpnewsarticle"):
            return _err(40008, "invalid message type")
        if msgtype == "text" and not (body.get("text") or {}).get("content"):
            return _err(44003, "empty content")
        if openid in self._state.outside_window:
            return _err(45015, "response out of time limit or subscription is canceled")
        return dict(OK)

    def _api_template_send(self, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        problem = self._check_user(body.get("touser"))
        if problem:
            return problem
        template_id = body.get("template_id")
        if not template_id or (self._state.templates and template_id not in self._state.templates):
            return _err(40037, "invalid template_id")
        if not isinstance(body.get("data"), dict):
            return _err(47001, "data format error")
        self._state.next_msg_id += 1
        return {"errcode": 0, "errmsg": "ok", "msgid": self._state.next_msg_id}

    def _api_mass_sendall(self, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        s, now = self._state, time.time()
        flt = body.get("filter")
        if not isinstance(flt, dict) or "group_id" in flt:
            return _err(47001, "data format error (filter.group_id is retired: use tag_id)")
        msgtype = body.get("msgtype")
        if msgtype not in ("text", "mpnews", "voice", "image", "mpvideo", "wxcard"):
            return _err(40008, "invalid message type")
        if msgtype == "text" and not (body.get("text") or {}).get("content"):
            return _err(47001, "data format error")
        clientmsgid = body.get("clientmsgid")
        if clientmsgid is not None:
            if not isinstance(clientmsgid, str) or not clientmsgid or len(clientmsgid) > 64:
                return _err(47001, "data format error (clientmsgid)")
            seen = s.clientmsgids.get(clientmsgid)
            if seen is not None and now - seen[0] < CLIENTMSGID_WINDOW:
                return _err(45065, "clientmsgid exist", msg_id=seen[1])
        if flt.get("is_to_all") is True:
            recipients = set().union(*s.members.values()) if s.members else set()
            tag_id = None
        else:
            tag_id = flt.get("tag_id")
            if not isinstance(tag_id, int) or tag_id not in s.tags:
                return _err(40050, "invalid tag_id")
            recipients = set(s.members.get(tag_id, set()))
        recipients -= s.unsubscribed
        s.next_msg_id += 1
        msg_id = s.next_msg_id
        if clientmsgid is not None:
            s.clientmsgids[clientmsgid] = (now, msg_id)
        s.mass_sends.append({"msg_id": msg_id, "tag_id": tag_id, "clientmsgid": clientmsgid, "msgtype": msgtype,
                             "body": body, "recipients": sorted(recipients), "time": now})
        return {"errcode": 0, "errmsg": "send job submission success", "msg_id": msg_id,
                "msg_data_id": 2_000_000_000 + msg_id}

    # ------------------------------------------------------------------ tags and users
    def _api_tags_create(self, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        s = self._state
        name = (body.get("tag") or {}).get("name")
        if not isinstance(name, str) or not name.strip():
            return _err(47001, "data format error")
        if len(name) > MAX_TAG_NAME:
            return _err(45158, "tag name too long")
        if name in s.tags.values() or name in SYSTEM_TAGS.values():
            return _err(45157, "invalid tag name (tag name exists)")
        if len(s.tags) >= MAX_TAGS:
            return _err(45056, "too many tags")
        tag_id = self.add_tag(name)
        return {"tag": {"id": tag_id, "name": name}}

    def _api_tags_get(self, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        s = self._state
        tags = [{"id": 2, "name": SYSTEM_TAGS[2], "count": 0}]
        tags += [{"id": i, "name": n, "count": len(s.members.get(i, ()))} for i, n in sorted(s.tags.items())]
        return {"tags": tags}

    def _tag_id(self, body: dict[str, Any]) -> tuple[int | None, dict[str, Any] | None]:
        tag_id = (body.get("tag") or {}).get("id")
        if tag_id in SYSTEM_TAGS:
            return None, _err(45058, "can't modify sys tag")
        if not isinstance(tag_id, int) or tag_id not in self._state.tags:
            return None, _err(45159, "invalid tag id")
        return tag_id, None

    def _api_tags_update(self, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        tag_id, problem = self._tag_id(body)
        if problem:
            return problem
        name = (body.get("tag") or {}).get("name")
        if not isinstance(name, str) or not name.strip():
            return _err(47001, "data format error")
        if len(name) > MAX_TAG_NAME:
            return _err(45158, "tag name too long")
        if any(n == name and i != tag_id for i, n in self._state.tags.items()):
            return _err(45157, "invalid tag name (tag name exists)")
        assert tag_id is not None
        self._state.tags[tag_id] = name
        return dict(OK)

    def _api_tags_delete(self, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        tag_id, problem = self._tag_id(body)
        if problem:
            return problem
        assert tag_id is not None
        del self._state.tags[tag_id]
        self._state.members.pop(tag_id, None)
        return dict(OK)

    def _batch(self, body: dict[str, Any], tagging: bool) -> dict[str, Any]:
        s = self._state
        openids = body.get("openid_list")
        if not isinstance(openids, list) or not openids or len(openids) > MAX_BATCH:
            return _err(40032, "invalid openid list size, at most 50")
        tag_id = body.get("tagid")
        if tag_id in SYSTEM_TAGS:
            return _err(45058, "can't modify sys tag")
        if not isinstance(tag_id, int) or tag_id not in s.tags:
            return _err(45159, "invalid tag id")
        if any(not isinstance(o, str) or not o for o in openids):
            return _err(40003, "invalid openid")
        members = s.members.setdefault(tag_id, set())
        if tagging:
            for openid in openids:
                if openid not in members and sum(openid in m for m in s.members.values()) >= MAX_TAGS_PER_USER:
                    return _err(45059, "tag count of this user exceeds limit")
            members.update(openids)
        else:
            members.difference_update(openids)
        return dict(OK)

    def _api_batchtagging(self, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        return self._batch(body, True)

    def _api_batchuntagging(self, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        return self._batch(body, False)

    def _api_user_info(self, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        openid = query.get("openid", "")
        if not openid:
            return _err(40003, "invalid openid")
        if openid in self._state.unsubscribed:
            return {"subscribe": 0, "openid": openid}
        tag_ids = sorted(i for i, m in self._state.members.items() if openid in m)
        return {"subscribe": 1, "openid": openid, "language": query.get("lang", "zh_CN"),
                "subscribe_time": 1700000000, "remark": "", "groupid": 0, "tagid_list": tag_ids,
                "subscribe_scene": "ADD_SCENE_QR_CODE", "qr_scene": 0, "qr_scene_str": ""}

    # ------------------------------------------------------------------ WeCom group robot
    def _api_robot(self, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        s, now = self._state, time.time()
        key = query.get("key", "")
        if not key or (s.robot_keys and key not in s.robot_keys):
            return _err(93000, "invalid webhook url")
        msgtype = body.get("msgtype")
        limits = {"text": 2048, "markdown": 4096}
        if msgtype not in limits and msgtype not in ("image", "news", "file", "template_card"):
            return _err(40008, "invalid message type")
        if msgtype in limits:
            content = (body.get(msgtype) or {}).get("content")
            if not isinstance(content, str) or not content:
                return _err(44004, "empty content")
            if len(content.encode("utf-8")) > limits[msgtype]:
                return _err(40058, f"{msgtype}.content exceed max length {limits[msgtype]}")
        sent = s.robot_sent.setdefault(key, deque())
        while sent and now - sent[0] >= 60:
            sent.popleft()
        if len(sent) >= s.robot_rate_limit:
            return _err(45009, "api freq out of limit")
        sent.append(now)
        return dict(OK)

    # ------------------------------------------------------------------ custom menu
    def _api_menu_create(self, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        """WeChat's rules: 1–3 top buttons, up to 5 under each; names ≤ 16 / 60 bytes; keys ≤ 128."""
        buttons = body.get("button")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            return _err(40016, "invalid button size")
        for top in buttons:
            if not isinstance(top, dict):
                return _err(40017, "invalid button type")
            if not 0 < len(str(top.get("name", "")).encode("utf-8")) <= 16:
                return _err(40018, "invalid button name size")
            subs = top.get("sub_button")
            if subs:
                if not isinstance(subs, list) or len(subs) > 5:
                    return _err(40023, "invalid sub button size")
                for sub in subs:
                    if not isinstance(sub, dict) or not 0 < len(str(sub.get("name", "")).encode("utf-8")) <= 60:
                        return _err(40025, "invalid sub button name size")
                    problem = _check_leaf(sub)
                    if problem:
                        return problem
            else:
                problem = _check_leaf(top)
                if problem:
                    return problem
        self._state.menu = {"button": buttons}
        return dict(OK)

    def _api_menu_get(self, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        if self._state.menu is None:
            return _err(46003, "menu no exist")
        return {"menu": self._state.menu}

    def _api_menu_delete(self, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        self._state.menu = None
        return dict(OK)

    # ------------------------------------------------------------------ control API (/_fake/*)
    def _control(self, method: str, path: str, query: dict[str, str], raw: bytes) -> _Reply:
        try:
            if path == "/_fake/requests":
                records = self.requests(query.get("path"))
                since = int(query.get("since", "0") or 0)
                if query.get("delivered") in ("1", "true"):
                    records = [r for r in records if r["delivered"]]
                return _Reply(body={"requests": [r for r in records if r["seq"] > since]})
            if path == "/_fake/stats":
                return _Reply(body=self.stats())
            if path == "/_fake/mass_sends":
                return _Reply(body={"mass_sends": self.mass_sends()})
            if path == "/_fake/faults" and method == "POST":
                ops = json.loads(raw.decode("utf-8") or "{}")
                results = [self._control_op(op) for op in (ops if isinstance(ops, list) else [ops])]
                return _Reply(body={"ok": True, "results": results})
        except (ValueError, TypeError, KeyError) as exc:
            return _Reply(400, {"ok": False, "error": f"{type(exc).__name__}: {exc}"})
        return _Reply(404, {"ok": False, "error": f"no control endpoint {method} {path}"})

    def _control_op(self, op: dict[str, Any]) -> Any:
        name = op.get("op")
        if name not in _CONTROL_OPS:
            raise ValueError(f"unknown op {name!r}; known: {sorted(_CONTROL_OPS)}")
        args = {k: v for k, v in op.items() if k != "op"}
        result = getattr(self, name)(**args)
        return sorted(result) if isinstance(result, set) else result


def _check_leaf(button: dict[str, Any]) -> dict[str, Any] | None:
    kind = button.get("type")
    if kind in ("click", "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album",
                "pic_weixin", "location_select"):
        if not 0 < len(str(button.get("key", "")).encode("utf-8")) <= 128:
            return _err(40019, "invalid button key size")
        return None
    if kind == "view":
        url = str(button.get("url", ""))
        if not url.startswith(("http://", "https://")) or len(url.encode("utf-8")) > 1024:
            return _err(40027, "invalid sub button url size")
        return None
    return _err(40017, "invalid button type")


_CONTROL_OPS = {"fail_next", "slow", "drop_next", "expire_token", "invalidate_token", "clear_faults", "reset",
                "set_outside_window", "set_unsubscribed", "set_templates", "set_robot_keys", "add_tag",
                "tag_members", "current_token", "menu"}

_ERRMSG = {-1: "system error", 45009: "reach max api daily quota limit", 40001: "invalid credential",
           42001: "access_token expired", 45015: "response out of time limit or subscription is canceled",
           45028: "has no masssend quota", 45047: "out of response count limit", 45011: "api minute-quota reach limit"}

_Api = Callable[[FakeWeChat, dict[str, str], dict[str, Any]], dict[str, Any]]
_ROUTES: dict[str, tuple[tuple[str, ...], _Api]] = {
    "/cgi-bin/token": (("GET",), FakeWeChat._api_token),
    "/cgi-bin/stable_token": (("POST",), FakeWeChat._api_stable_token),
    "/cgi-bin/message/custom/send": (("POST",), FakeWeChat._api_custom_send),
    "/cgi-bin/message/template/send": (("POST",), FakeWeChat._api_template_send),
    "/cgi-bin/message/mass/sendall": (("POST",), FakeWeChat._api_mass_sendall),
    "/cgi-bin/tags/create": (("POST",), FakeWeChat._api_tags_create),
    "/cgi-bin/tags/get": (("GET", "POST"), FakeWeChat._api_tags_get),
    "/cgi-bin/tags/update": (("POST",), FakeWeChat._api_tags_update),
    "/cgi-bin/tags/delete": (("POST",), FakeWeChat._api_tags_delete),
    "/cgi-bin/tags/members/batchtagging": (("POST",), FakeWeChat._api_batchtagging),
    "/cgi-bin/tags/members/batchuntagging": (("POST",), FakeWeChat._api_batchuntagging),
    "/cgi-bin/user/info": (("GET",), FakeWeChat._api_user_info),
    "/cgi-bin/webhook/send": (("POST",), FakeWeChat._api_robot),
    "/cgi-bin/menu/create": (("POST",), FakeWeChat._api_menu_create),
    "/cgi-bin/menu/get": (("GET",), FakeWeChat._api_menu_get),
    "/cgi-bin/menu/delete": (("GET",), FakeWeChat._api_menu_delete),
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True
    fake: FakeWeChat

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (read timeout) closes its end before a slow answer: not an error.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections, as with the real API
    disable_nagle_algorithm = True
    timeout = 120
    server_version = "FakeWeChat/1.0"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by design
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        reply = self.server.fake.dispatch(method, parts.path, query, raw)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        data = json.dumps(reply.body, ensure_ascii=False).encode("utf-8")
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


# ---------------------------------------------------------------------- standalone process helpers
class RemoteFake:
    """Control a standalone fake (another process) through its /_fake/* endpoints."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def _get(self, endpoint: str, **params: Any) -> Any:
        qs = urlencode({k: v for k, v in params.items() if v is not None})
        with urlopen(f"{self.base_url}{endpoint}?{qs}", timeout=30) as resp:
            return json.loads(resp.read())

    def _op(self, op: str, **args: Any) -> Any:
        data = json.dumps({"op": op, **args}).encode()
        req = Request(f"{self.base_url}/_fake/faults", data=data, headers={"Content-Type": "application/json"})
        with urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())["results"][0]

    def requests(self, path: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        return self._get("/_fake/requests", path=path, since=since)["requests"]

    def delivered(self, path: str | None = None) -> list[dict[str, Any]]:
        return self._get("/_fake/requests", path=path, delivered=1)["requests"]

    def stats(self) -> dict[str, Any]:
        return self._get("/_fake/stats")

    def mass_sends(self) -> list[dict[str, Any]]:
        return self._get("/_fake/mass_sends")["mass_sends"]

    def fail_next(self, path: str, errcode: int, count: int = 1, errmsg: str | None = None) -> None:
        self._op("fail_next", path=path, errcode=errcode, count=count, errmsg=errmsg)

    def slow(self, path: str, seconds: float, count: int | None = None) -> None:
        self._op("slow", path=path, seconds=seconds, count=count)

    def drop_next(self, path: str, count: int = 1, processed: bool = True) -> None:
        self._op("drop_next", path=path, count=count, processed=processed)

    def expire_token(self) -> None:
        self._op("expire_token")

    def invalidate_token(self) -> None:
        self._op("invalidate_token")

    def clear_faults(self) -> None:
        self._op("clear_faults")

    def reset(self) -> None:
        self._op("reset")

    def set_outside_window(self, openids: Iterable[str], outside: bool = True) -> None:
        self._op("set_outside_window", openids=list(openids), outside=outside)

    def set_unsubscribed(self, openids: Iterable[str], unsubscribed: bool = True) -> None:
        self._op("set_unsubscribed", openids=list(openids), unsubscribed=unsubscribed)

    def add_tag(self, name: str, members: Iterable[str] = ()) -> int:
        return int(self._op("add_tag", name=name, members=list(members)))

    def tag_members(self, tag_id: int) -> set[str]:
        return set(self._op("tag_members", tag_id=tag_id))

    def menu(self) -> dict[str, Any] | None:
        return self._op("menu")


class FakeWeChatProcess:
    """Run the fake as a separate process (for benchmarks and kill -9 tests); controls via RemoteFake.

        with FakeWeChatProcess(log_path=tmp / "fake.jsonl") as proc:
            proc.base_url; proc.remote.stats()
    """

    def __init__(self, port: int = 0, *, log_path: str | os.PathLike[str] | None = None,
                 extra_args: list[str] | None = None) -> None:
        self.args = [sys.executable, os.path.abspath(__file__), "--port", str(port)]
        if log_path is not None:
            self.args += ["--log", str(log_path)]
        self.args += extra_args or []
        self.proc: subprocess.Popen[str] | None = None
        self.base_url = ""

    def start(self, timeout: float = 10.0) -> "FakeWeChatProcess":
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if line.startswith(READY_PREFIX):
                self.base_url = line[len(READY_PREFIX):].strip()
                return self
            if not line and self.proc.poll() is not None:
                break
        self.stop()
        raise RuntimeError("fake WeChat process did not start")

    @property
    def remote(self) -> RemoteFake:
        return RemoteFake(self.base_url)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()

    def __enter__(self) -> "FakeWeChatProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake WeChat API server for tests and benchmarks.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8901, help="0 picks a free port (printed on stdout)")
    parser.add_argument("--appid", default=DEFAULT_APPID)
    parser.add_argument("--secret", default=DEFAULT_SECRET)
    parser.add_argument("--token-ttl", type=int, default=7200)
    parser.add_argument("--robot-rate-limit", type=int, default=20)
    parser.add_argument("--log", default=None, help="append every call as a JSON line (flushed per call)")
    ns = parser.parse_args(argv)
    fake = FakeWeChat(ns.host, ns.port, appid=ns.appid, secret=ns.secret, token_ttl=ns.token_ttl,
                      robot_rate_limit=ns.robot_rate_limit, log_path=ns.log)
    server = _Server((fake.host, fake.port), _Handler)
    server.fake = fake
    fake.port = server.server_address[1]
    print(f"{READY_PREFIX}{fake.base_url}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
