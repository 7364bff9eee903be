"""What a staff member reads on an admin page, and the check that it is plain Chinese.

`messages(html)` collects the text of every message element (errors, flashes, the import's
problem list, the error page, the delivery report's reason column); `plain_problems(text)` names
what a clerk should never read there: command-line flags (`--reason`), snake_case codes
(`state_secret`), English words or Python exception text.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

MESSAGE_CLASSES = {"error", "flash"}
MESSAGE_IDS = {"import-problems", "notice-error", "reply-error", "member-error", "finance-error", "action-error"}
# ASCII a clerk may meet in a message: file kinds and the protocol of a link they typed.
ALLOWED_WORDS = {"xlsx", "xlsm", "csv", "yaml", "yml", "excel", "http", "https", "mb"}

_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")
_SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
_WORD = re.compile(r"[A-Za-z]{2,}")


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []  # is this open element (or an ancestor) a message?
        self.parts: list[str] = []
        self.in_reason_col = False
        self._col = 0
        self._in_delivery = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        inside = bool(self.stack and self.stack[-1])
        is_msg = inside or bool(classes & MESSAGE_CLASSES) or a.get("id") in MESSAGE_IDS
        if a.get("id") == "delivery-rows":
            self._in_delivery = 1
        if self._in_delivery and tag == "tr":
            self._col = 0
        if self._in_delivery and tag == "td":
            self._col += 1
            is_msg = is_msg or self._col == 5  # 原因
        if tag in ("input", "br", "meta", "link", "img"):
            return
        self.stack.append(is_msg)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("input", "br", "meta", "link", "img"):
            return
        if tag == "table" and self._in_delivery:
            self._in_delivery = 0
        if self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] and data.strip():
            self.parts.append(data.strip())


def messages(html: str) -> list[str]:
    c = _Collector()
    c.feed(html)
    text = [p for p in c.parts]
    # The error page: its one heading is the message.
    m = re.search(r'<section class="card narrow">\s*<h1>(.*?)</h1>', html, re.S)
    if m:
        text.append(m.group(1).strip())
    return text


_QUOTED = re.compile(r"“[^”]*”")


def plain_problems(text: str) -> list[str]:
    """Problems in a message; what the clerk typed, echoed back in “quotes”, is theirs to keep."""
    text = _QUOTED.sub("“”", text)
    out = [f"flag {m}" for m in _FLAG.findall(text)]
    out += [f"code {m}" for m in _SNAKE.findall(text)]
    out += [f"English {w}" for w in _WORD.findall(text) if w.lower() not in ALLOWED_WORDS]
    return out


def assert_plain(html: str, *, expect: str | None = None, where: str = "") -> list[str]:
    """Every message on the page is plain Chinese; `expect` must be among them."""
    found = messages(html)
    bad = {m: plain_problems(m) for m in found if plain_problems(m)}
    assert not bad, f"{where}: staff-facing text that is not plain Chinese: {bad}"
    if expect is not None:
        assert any(expect in m for m in found), f"{where}: expected message {expect!r}, got {found}"
    return found
