"""Outbound WeChat API client (official account + WeCom group robot) with one shared access token.

Why not wechatpy's WeChatClient: its token fetch ignores API_BASE_URL and has no timeout, its
auto_retry recurses on a persistent 40001, it keeps the token per process, and send_mass_text
sends the retired filter.group_id. This client is small and explicit instead:

- every call has connect/read timeouts (3 s / 10 s);
- the access token lives in the database (or Redis, see core/tokens.py) and is refreshed by one
  process at a time through POST /cgi-bin/stable_token, 5 minutes before it runs out;
- failures are typed so the outbox can tell "definitely not delivered" (retry) from "maybe
  delivered" (needs review): `SendNotAttempted` (incl. `WeChatAPIError`) vs `SendOutcomeUnknown`;
- 40001/42001 refresh the shared token once and retry once, never more.
"""
from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from core.config import Config
from core.tokens import (
    REFRESH_MARGIN,
    CachedToken,
    DBTokenStore,
    RedisTokenStore,
    TokenFetcher,
    TokenStore,
    TokenWaitTimeout,
)

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.weixin.qq.com"
DEFAULT_WECOM_BASE = "https://qyapi.weixin.qq.com"
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0
MAX_BATCH = 50  # openids per batchtagging call

TOKEN_ERRCODES = frozenset({40001, 40014, 42001})  # invalid / malformed / expired access_token
# Errors where WeChat did nothing and asking again later may work.
RETRYABLE_ERRCODES = frozenset({-1, 45009, 45011, 45033, 45047}) | TOKEN_ERRCODES

_SECRET_RE = re.compile(r"((?:access_token|key|secret)=)[^&\s'\"]+")


def _scrub(text: str) -> str:
    """Tokens, robot keys and secrets must never reach logs or error rows."""
    return _SECRET_RE.sub(r"\1***", text)


# --------------------------------------------------------------------------- errors
class WeChatError(Exception):
    """Base of everything this client raises."""
    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(_scrub(message))
        self.path = path


class SendNotAttempted(WeChatError):
    """Definitely not delivered: nothing reached WeChat, or WeChat refused it. Safe to retry
    when `retryable` (a later attempt may succeed), pointless otherwise."""

    retryable: bool = True


class WeChatAPIError(SendNotAttempted):
    """WeChat answered with errcode != 0: the call had no effect."""
    def __init__(self, errcode: int, errmsg: str, *, path: str = "", data: dict[str, Any] | None = None) -> None:
        super().__init__(f"{path or 'WeChat API'}: errcode {errcode}: {errmsg}", path=path)
        self.errcode = errcode
        self.errmsg = errmsg
        self.data = data or {}

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        return self.errcode in RETRYABLE_ERRCODES


class SendOutcomeUnknown(WeChatError):
    """The request may have reached WeChat and been acted on (read timeout, connection dropped
    after sending, garbled answer). Re-sending could deliver twice: mark for review instead,
    unless WeChat dedupes it (mass send with the same clientmsgid)."""


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class MassSendResult:
    msg_id: int
    msg_data_id: int | None
    # True when WeChat answered 45065: this clientmsgid was already sent (by an earlier attempt).
    duplicate: bool = False


# --------------------------------------------------------------------------- the client
class WeChatAPI:
    """Calls WeChat for one official account. Thread-safe; one instance per process is enough."""
    def __init__(self, appid: str, secret: str, *, store: TokenStore, api_base: str = DEFAULT_API_BASE,
                 wecom_base: str = DEFAULT_WECOM_BASE, connect_timeout: float = CONNECT_TIMEOUT,
                 read_timeout: float = READ_TIMEOUT, refresh_margin: float = REFRESH_MARGIN,
                 cache_seconds: float = 30.0) -> None:
        self.appid = appid
        self._secret = secret
        self.store = store
        self.api_base = api_base.rstrip("/")
        self.wecom_base = wecom_base.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.refresh_margin = refresh_margin
        # A short per-process read cache of the shared token spares a DB/Redis read per call; a
        # token another process replaced is caught by WeChat's 40001 and re-read from the store.
        self.cache_seconds = cache_seconds
        self._cached: tuple[CachedToken, float] | None = None
        self._local = threading.local()

    @classmethod
    def from_config(cls, config: "Config | None" = None, **kwargs: Any) -> "WeChatAPI":
        """The client as configured: token in Redis when REDIS_URL is set, else in the database."""
        config = config or Config.from_env()
        store: TokenStore
        if config.redis_url:
            store = RedisTokenStore(config.wechat_appid, config.redis_url)
        else:
            store = DBTokenStore(config.wechat_appid, config.database_url)
        return cls(config.wechat_appid, config.wechat_appsecret, store=store, api_base=config.wechat_api_base,
                   wecom_base=config.wecom_api_base, **kwargs)

    # ----------------------------------------------------------------- HTTP
    def _session(self) -> requests.Session:
        """One pooled session per thread and process (a forked child must not share sockets)."""
        pid = os.getpid()
        session = getattr(self._local, "session", None)
        if session is None or self._local.pid != pid:
            session = requests.Session()
            session.headers["User-Agent"] = "cunwu-bot/1.0"
            self._local.session, self._local.pid = session, pid
        return session

    def _http(self, method: str, url: str, path: str, params: dict[str, Any] | None,
              body: dict[str, Any] | None) -> dict[str, Any]:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else None
        headers = {"Content-Type": "application/json; charset=utf-8"} if data is not None else None
        try:
            resp = self._session().request(method, url, params=params, data=data, headers=headers,
                                           timeout=self.timeout)
        except requests.exceptions.ConnectTimeout as exc:
            raise SendNotAttempted(f"{path}: connect timeout ({exc.__class__.__name__})", path=path) from exc
        except requests.exceptions.ReadTimeout as exc:
            raise SendOutcomeUnknown(f"{path}: no answer within {self.timeout[1]} s after sending",
                                     path=path) from exc
        except requests.exceptions.ConnectionError as exc:
            if _failed_before_sending(exc):
                raise SendNotAttempted(f"{path}: cannot connect: {exc}", path=path) from exc
            raise SendOutcomeUnknown(f"{path}: connection lost after sending: {exc}", path=path) from exc
        except requests.exceptions.RequestException as exc:
            raise SendOutcomeUnknown(f"{path}: {exc.__class__.__name__}: {exc}", path=path) from exc
        if resp.status_code >= 500:
            raise SendOutcomeUnknown(f"{path}: HTTP {resp.status_code} from WeChat", path=path)
        try:
            payload = resp.json()
        except ValueError as exc:
            if resp.status_code >= 400:
                raise _http_refusal(path, resp.status_code) from exc
            raise SendOutcomeUnknown(f"{path}: answer is not JSON (HTTP {resp.status_code})", path=path) from exc
        if not isinstance(payload, dict):
            raise SendOutcomeUnknown(f"{path}: unexpected answer (HTTP {resp.status_code})", path=path)
        if resp.status_code >= 400 and not payload.get("errcode"):
            raise _http_refusal(path, resp.status_code)
        return payload

    def _call(self, method: str, path: str, *, params: dict[str, Any] | None = None,
              body: dict[str, Any] | None = None) -> dict[str, Any]:
        """An official-account API call with the shared token; one refresh+retry on 40001/42001."""
        url = f"{self.api_base}{path}"
        token = self.access_token()
        data = self._http(method, url, path, {**(params or {}), "access_token": token}, body)
        errcode = int(data.get("errcode") or 0)
        if errcode in TOKEN_ERRCODES:
            log.info("WeChat refused the access token on %s (errcode %s); refreshing once", path, errcode)
            token = self.access_token(stale=token)
            data = self._http(method, url, path, {**(params or {}), "access_token": token}, body)
            errcode = int(data.get("errcode") or 0)
        if errcode != 0:
            raise WeChatAPIError(errcode, str(data.get("errmsg", "")), path=path, data=data)
        return data

    # ----------------------------------------------------------------- access token
    def access_token(self, stale: str | None = None) -> str:
        """The shared token; `stale` = the token WeChat just refused, which must be replaced.

        Any failure here means the message itself was never sent, so it surfaces as
        SendNotAttempted (store down, fetch timed out, WeChat refused the credentials).
        """
        now = time.time()
        if stale is None and self._cached is not None:
            tok, read_at = self._cached
            if now - read_at < self.cache_seconds and tok.fresh(self.refresh_margin, now):
                return tok.token
        try:
            if stale is None:
                current = self.store.get()
                if current is not None and current.fresh(self.refresh_margin, now):
                    self._cached = (current, now)
                    return current.token
            tok = self.store.refresh_with_lock(self._fetch_token, stale=stale, margin=self.refresh_margin)
        except SendNotAttempted:
            raise
        except TokenWaitTimeout as exc:
            raise SendNotAttempted(str(exc)) from exc
        except SendOutcomeUnknown as exc:
            raise SendNotAttempted(f"access token fetch failed: {exc}", path="/cgi-bin/stable_token") from exc
        except Exception as exc:  # noqa: BLE001 - database/Redis trouble: nothing was sent
            raise SendNotAttempted(f"access token store failed: {exc.__class__.__name__}: {exc}") from exc
        self._cached = (tok, time.time())
        return tok.token

    def _fetch_token(self, force_refresh: bool) -> tuple[str, int]:
        path = "/cgi-bin/stable_token"
        body = {"grant_type": "client_credential", "appid": self.appid, "secret": self._secret,
                "force_refresh": force_refresh}
        data = self._http("POST", f"{self.api_base}{path}", path, None, body)
        if data.get("errcode") or not data.get("access_token"):
            raise WeChatAPIError(int(data.get("errcode") or -1), str(data.get("errmsg", "no access_token")),
                                 path=path)
        log.info("fetched a new WeChat access token (force_refresh=%s)", force_refresh)
        return str(data["access_token"]), int(data.get("expires_in") or 7200)

    # ----------------------------------------------------------------- messages
    def send_custom_text(self, openid: str, text: str) -> None:
        """Customer-service text; only within 48 h of the user's last action (else 45015)."""
        self._call("POST", "/cgi-bin/message/custom/send",
                   body={"touser": openid, "msgtype": "text", "text": {"content": text}})

    def send_template(self, openid: str, template_id: str, data: dict[str, Any], url: str | None = None) -> int:
        """Template message; `data` values may be plain strings or {"value": …} dicts. Returns msgid."""
        fields = {k: (v if isinstance(v, dict) else {"value": str(v)}) for k, v in data.items()}
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": fields}
        if url:
            body["url"] = url
        result = self._call("POST", "/cgi-bin/message/template/send", body=body)
        return int(result.get("msgid") or 0)

    def mass_send_text_by_tag(self, tag_id: int, text: str, clientmsgid: str) -> MassSendResult:
        """Mass send to one tag. `clientmsgid` makes a re-send safe: WeChat answers 45065 for a
        key already used within 24 h, which we report as a duplicate of the earlier send."""
        body = {"filter": {"is_to_all": False, "tag_id": int(tag_id)}, "text": {"content": text},
                "msgtype": "text", "send_ignore_reprint": 0, "clientmsgid": clientmsgid}
        try:
            result = self._call("POST", "/cgi-bin/message/mass/sendall", body=body)
        except WeChatAPIError as exc:
            if exc.errcode == 45065:
                return MassSendResult(int(exc.data.get("msg_id") or 0), exc.data.get("msg_data_id"), True)
            raise
        return MassSendResult(int(result.get("msg_id") or 0), result.get("msg_data_id"))

    def wecom_robot_send(self, key: str, text: str, *, markdown: bool = False) -> None:
        """Post into a WeCom group through its group robot (20 messages/min per robot → 45009)."""
        path = "/cgi-bin/webhook/send"
        msgtype = "markdown" if markdown else "text"
        data = self._http("POST", f"{self.wecom_base}{path}", path, {"key": key},
                          {"msgtype": msgtype, msgtype: {"content": text}})
        errcode = int(data.get("errcode") or 0)
        if errcode != 0:
            raise WeChatAPIError(errcode, str(data.get("errmsg", "")), path=path, data=data)

    # ----------------------------------------------------------------- tags and users
    def create_tag(self, name: str) -> int:
        return int(self._call("POST", "/cgi-bin/tags/create", body={"tag": {"name": name}})["tag"]["id"])

    def get_tags(self) -> list[dict[str, Any]]:
        """All tags: [{"id", "name", "count"}] (includes WeChat's own 星标组)."""
        return list(self._call("GET", "/cgi-bin/tags/get").get("tags", []))

    def ensure_tag(self, name: str) -> int:
        """The id of the tag with this name, created if missing (safe to repeat after a crash)."""
        for tag in self.get_tags():
            if tag.get("name") == name:
                return int(tag["id"])
        try:
            return self.create_tag(name)
        except WeChatAPIError as exc:
            if exc.errcode != 45157:  # name exists: created by an earlier attempt
                raise
            for tag in self.get_tags():
                if tag.get("name") == name:
                    return int(tag["id"])
            raise

    def update_tag(self, tag_id: int, name: str) -> None:
        self._call("POST", "/cgi-bin/tags/update", body={"tag": {"id": int(tag_id), "name": name}})

    def delete_tag(self, tag_id: int) -> None:
        self._call("POST", "/cgi-bin/tags/delete", body={"tag": {"id": int(tag_id)}})

    def tag_users(self, tag_id: int, openids: Iterable[str]) -> int:
        """Tag followers, 50 per call (WeChat's limit). Idempotent, so a failed run can simply be
        repeated. Returns the number of calls made."""
        return self._batch("/cgi-bin/tags/members/batchtagging", tag_id, openids)

    def untag_users(self, tag_id: int, openids: Iterable[str]) -> int:
        return self._batch("/cgi-bin/tags/members/batchuntagging", tag_id, openids)

    def _batch(self, path: str, tag_id: int, openids: Iterable[str]) -> int:
        unique = list(dict.fromkeys(o for o in openids if o))
        for chunk in _chunks(unique, MAX_BATCH):
            self._call("POST", path, body={"openid_list": chunk, "tagid": int(tag_id)})
        return (len(unique) + MAX_BATCH - 1) // MAX_BATCH

    def get_user_info(self, openid: str, lang: str = "zh_CN") -> dict[str, Any]:
        return self._call("GET", "/cgi-bin/user/info", params={"openid": openid, "lang": lang})

    # ----------------------------------------------------------------- custom menu (自定义菜单)
    def create_menu(self, buttons: list[dict[str, Any]]) -> None:
        """Replace the account's custom menu (WeChat: 1–3 buttons, up to 5 under each)."""
        self._call("POST", "/cgi-bin/menu/create", body={"button": buttons})

    def get_menu(self) -> list[dict[str, Any]] | None:
        """The menu WeChat has now, or None when the account has none (46003)."""
        try:
            data = self._call("GET", "/cgi-bin/menu/get")
        except WeChatAPIError as exc:
            if exc.errcode == 46003:
                return None
            raise
        return list((data.get("menu") or {}).get("button") or [])


# --------------------------------------------------------------------------- helpers
def _chunks(items: Sequence[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield list(items[i:i + size])


def _failed_before_sending(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the connection was never established (refused, DNS, connect timeout, TLS
    handshake), so the request cannot have reached WeChat."""
    if isinstance(exc, (requests.exceptions.ConnectTimeout, requests.exceptions.SSLError,
                        requests.exceptions.ProxyError)):
        return True
    reason: object = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # urllib3 MaxRetryError wraps the cause
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError))


def _http_refusal(path: str, status: int) -> SendNotAttempted:
    err = SendNotAttempted(f"{path}: HTTP {status} from WeChat", path=path)
    err.retryable = status in (408, 429)
    return err


__all__ = ["CachedToken", "DBTokenStore", "RedisTokenStore", "TokenFetcher", "TokenStore", "TokenWaitTimeout",
           "WeChatAPI", "WeChatError", "SendNotAttempted", "WeChatAPIError", "SendOutcomeUnknown", "MassSendResult"]
