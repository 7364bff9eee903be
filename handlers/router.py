"""Message routing: which handler answers an incoming message.

Order for a text (or recognised voice) message:
1. the resident's active conversation flow (requests, notice drafting, numbered choices …);
2. commands (`帮助`, `绑定 …`, `查询 …`), highest priority first;
3. the question matcher (the text fallback).
Events and other message kinds have their own tables. Handler modules register themselves with
the decorators below; `handlers/__init__.py` imports every one of them.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from core import ratelimit
from core.wechat import Inbound
from handlers.context import PASS, Context, Reply

__all__ = ["PASS", "Context", "Reply", "command", "flow", "event", "message_kind", "text_fallback",
           "dispatch", "is_command"]

FlowHandler = Callable[[Context], "Reply | str | object"]
CommandHandler = Callable[[Context, re.Match[str]], "Reply | str | object"]
C = TypeVar("C", bound=Callable[..., object])  # a decorated handler keeps its own signature


@dataclass(order=True)
class _Command:
    priority: int
    pattern: re.Pattern[str] = field(compare=False)
    func: CommandHandler = field(compare=False)


_flows: dict[str, FlowHandler] = {}
_commands: list[_Command] = []
_events: dict[str, Callable[[Context], "Reply | str | object"]] = {}
_kinds: dict[str, Callable[[Context], "Reply | str | object"]] = {}
_fallback: list[Callable[[Context], "Reply | str | object"]] = []

def flow(name: str) -> Callable[[FlowHandler], FlowHandler]:
    def deco(func: FlowHandler) -> FlowHandler:
        _flows[name] = func
        return func
    return deco


def command(pattern: str, priority: int = 50) -> Callable[[C], C]:
    """Register a command; `pattern` is matched (re.fullmatch) against the normalised text."""
    def deco(func: C) -> C:
        _commands.append(_Command(-priority, re.compile(pattern, re.S), func))
        _commands.sort()
        return func
    return deco


def event(name: str) -> Callable:
    def deco(func: Callable) -> Callable:
        _events[name] = func
        return func
    return deco


def message_kind(name: str) -> Callable:
    def deco(func: Callable) -> Callable:
        _kinds[name] = func
        return func
    return deco


def text_fallback(func: Callable) -> Callable:
    _fallback.append(func)
    return func


def _as_reply(result: object) -> Reply | None:
    if result is None or result is PASS:
        return None
    if isinstance(result, Reply):
        return result
    return Reply(str(result))


def command_text(text: str) -> str:
    """Commands match on trimmed, half-width text without trailing punctuation."""
    text = unicodedata.normalize("NFKC", text).strip()
    return text.rstrip("。.!！?？~～ ")


def is_command(text: str) -> bool:
    """Whether a registered command's pattern takes this text."""
    text = command_text(text)
    return any(cmd.pattern.fullmatch(text) for cmd in _commands)


def _name(func: Callable) -> str:
    return getattr(func, "__name__", "handler")


def counts_toward_flood_limit(inbound: Inbound) -> bool:
    """Whether a message counts for flood control (core/ratelimit.py): all but events other than a
    menu click."""
    return inbound.msg_type != "event" or inbound.event == "CLICK"


def dispatch(ctx: Context) -> Reply:
    inbound = ctx.inbound
    if counts_toward_flood_limit(inbound):
        counted, ctx.rate_hits = ctx.rate_hits, None     # counted by the webhook's claim (PostgreSQL)
        verdict = ratelimit.check(ctx.session, ctx.config, inbound.openid, counted=counted)
        if not verdict.allowed:
            return Reply(verdict.reply)
    if inbound.msg_type == "event":
        handler = _events.get(inbound.event)
        ctx.handled_by = f"event:{_name(handler)}" if handler else "event:none"
        reply = _as_reply(handler(ctx)) if handler else None
        return reply or Reply("")
    if inbound.msg_type not in ("text", "voice"):
        handler = _kinds.get(inbound.msg_type) or _kinds.get("*")
        ctx.handled_by = f"kind:{_name(handler)}" if handler else "kind:none"
        return (_as_reply(handler(ctx)) if handler else None) or Reply("")
    if inbound.msg_type == "voice" and not inbound.content.strip():
        handler = _kinds.get("voice_unrecognised")
        ctx.handled_by = f"kind:{_name(handler)}" if handler else "kind:none"
        return (_as_reply(handler(ctx)) if handler else None) or Reply("")

    state = ctx.state
    if state is not None and state.flow in _flows:
        ctx.handled_by = f"flow:{state.flow}"
        reply = _as_reply(_flows[state.flow](ctx))
        if reply is not None:
            return reply
    text = command_text(inbound.content)
    for cmd in _commands:
        m = cmd.pattern.fullmatch(text)
        if m:
            ctx.handled_by = f"command:{_name(cmd.func)}"
            reply = _as_reply(cmd.func(ctx, m))
            if reply is not None:
                return reply
    for func in _fallback:
        ctx.handled_by = f"fallback:{_name(func)}"
        reply = _as_reply(func(ctx))
        if reply is not None:
            return reply
    ctx.handled_by = "none"
    return Reply("")
