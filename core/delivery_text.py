"""What a failed or delayed send means, in plain Chinese for the clerk.

The outbox keeps the dispatcher's technical text (`last_error`: errcodes, urllib3 exception text)
for logs and the technical staff; pages and chat reports show `plain_error(last_error)` instead,
so a clerk reads "网络不通" rather than "HTTPSConnectionPool… NameResolutionError".
"""
from __future__ import annotations

import re

# WeChat / WeCom errcodes a clerk can act on, in words.
ERRCODE_TEXT = {
    45015: "超过48小时未互动，客服消息发不出",
    43004: "对方已取消关注",
    43019: "对方把公众号拉黑了",
    40003: "微信接口拒绝（这个居民的微信号不对）",
    40037: "微信接口拒绝（模板消息的模板编号不对，请技术人员检查设置）",
    45028: "群发次数已用完，下个周期再发",
    45047: "客服消息条数超过上限，稍后会重试",
    45009: "发得太快，微信限制了频率，稍后会重试",
    45065: "相同内容24小时内已群发过",
    93000: "企业微信群机器人地址不对，请检查机器人设置",
    40001: "微信接口拒绝（公众号密码或接口凭证不对，请技术人员检查）",
    40164: "微信接口拒绝（服务器地址不在公众号的IP白名单里，请技术人员检查）",
    48001: "微信接口拒绝（公众号没有这个权限，需认证服务号）",
    -1: "微信系统繁忙，稍后会重试",
}

_TRIES = re.compile(r"[（(]已试\s*(\d+)\s*次[）)]\s*$")
_ERRCODE = re.compile(r"(?:errcode\s*[:=]?\s*|^)(-?\d{1,6})(?=[\s:：]|$)")
_HAS_LATIN = re.compile(r"[A-Za-z]{2,}")

# Technical fragments → plain words, checked in order.
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"NameResolution|getaddrinfo|Name or service not known|Temporary failure in name", re.I),
     "网络不通（找不到微信服务器，请检查服务器的网络）"),
    (re.compile(r"connect timeout|ConnectTimeout|cannot connect|Connection refused|NewConnectionError|"
                r"Max retries exceeded|ProxyError|SSLError", re.I),
     "网络不通（连不上微信服务器），稍后会重试"),
    (re.compile(r"no answer within|ReadTimeout|timed out", re.I),
     "微信没有及时回应，不确定是否已送达"),
    (re.compile(r"connection lost|Connection aborted|RemoteDisconnected|ConnectionReset", re.I),
     "网络中途断开，不确定是否已送达"),
    (re.compile(r"HTTP 5\d\d", re.I), "微信服务器出错，稍后会重试"),
    (re.compile(r"HTTP 4\d\d", re.I), "微信接口拒绝了请求（请技术人员检查设置）"),
    (re.compile(r"not JSON|unexpected answer", re.I), "微信返回的内容看不懂，不确定是否已送达"),
    (re.compile(r"access token", re.I), "取不到微信接口凭证（请技术人员检查公众号设置和网络）"),
]


def plain_error(text: str | None) -> str:
    """The clerk's version of a stored send error; empty stays empty."""
    if not text:
        return ""
    text = text.strip()
    tries = ""
    m = _TRIES.search(text)
    if m:
        tries = f"（已试 {m.group(1)} 次）"
        text = text[: m.start()].rstrip()
    prefix = ""
    for lead in ("不确定是否已送达：", "程序错误："):
        if text.startswith(lead):
            prefix, text = lead, text[len(lead):]
            break
    if prefix == "程序错误：":
        return "系统内部出错，不确定是否已送达，请核对并告诉技术人员" + tries
    words = _words(text)
    if prefix and not words.startswith("不确定"):
        words = "不确定是否已送达：" + words
    return words + tries


def _words(text: str) -> str:
    code = _ERRCODE.search(text)
    if code:
        errcode = int(code.group(1))
        if errcode in ERRCODE_TEXT:
            return ERRCODE_TEXT[errcode]
        if not _HAS_LATIN.search(_ERRCODE.sub("", text, count=1)) and any("\u4e00" <= c <= "\u9fff" for c in text):
            return _ERRCODE.sub("", text, count=1).strip(" ：:")
        return "微信接口拒绝了这条消息（原因不明，请技术人员查看记录）"
    if not _HAS_LATIN.search(text):
        return text  # already plain Chinese (e.g. 发送进程中断，已重新排队)
    for pattern, words in _PATTERNS:
        if pattern.search(text):
            return words
    return "发送出错（原因不明，请技术人员查看记录）"
