"""When a notice goes out: one-off times and recurrence rules, in the town's local time.

Rules are short strings stored on the notice ("monthly:5@09:00", "weekly:1@09:00",
"quarterly:1:5@09:00" = the 5th of the first month of each quarter), evaluated in Asia/Shanghai and
turned into aware UTC due times; committee members type the times in chat ("每月5号9点",
"每季度第一个月5号", "12月5日 9:00", "明天上午9点", "现在"). The quarterly rule is there because the
村民委员会组织法 (Art. 30) asks for 村务 to be published at least once a quarter.
"""
from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
_RULE = re.compile(r"^(monthly):(\d{1,2})@(\d{1,2}):(\d{2})$|^(weekly):([1-7])@(\d{1,2}):(\d{2})$"
                   r"|^(quarterly):([1-3]):(\d{1,2})@(\d{1,2}):(\d{2})$")
_WEEKDAYS = "一二三四五六日"
_QUARTER_MONTHS = {1: "第一个月（1、4、7、10月）", 2: "第二个月（2、5、8、11月）", 3: "第三个月（3、6、9、12月）"}


class TimingError(ValueError):
    """Text we could not read as a time; the message is plain Chinese for the user."""


@dataclass(frozen=True)
class Rule:
    kind: str  # monthly | weekly | quarterly
    day: int  # day of month 1-31 (clamped to month end), or weekday 1-7 (Monday = 1)
    at: time
    month: int = 1  # quarterly: which month of the quarter (1-3)

    @property
    def spec(self) -> str:
        hm = f"{self.at.hour:02d}:{self.at.minute:02d}"
        if self.kind == "quarterly":
            return f"quarterly:{self.month}:{self.day}@{hm}"
        return f"{self.kind}:{self.day}@{hm}"

    def describe(self) -> str:
        hm = f"{self.at.hour:02d}:{self.at.minute:02d}"
        if self.kind == "monthly":
            return f"每月{self.day}日 {hm}"
        if self.kind == "quarterly":
            return f"每季度{_QUARTER_MONTHS[self.month]}{self.day}日 {hm}"
        return f"每周{_WEEKDAYS[self.day - 1]} {hm}"


def parse_rule(spec: str) -> Rule:
    m = _RULE.match(spec.strip())
    if not m:
        raise TimingError(f"看不懂的周期：{spec}")
    month = 1
    if m.group(1):
        kind, day, hh, mm = "monthly", int(m.group(2)), int(m.group(3)), int(m.group(4))
    elif m.group(5):
        kind, day, hh, mm = "weekly", int(m.group(6)), int(m.group(7)), int(m.group(8))
    else:
        kind, month, day, hh, mm = "quarterly", int(m.group(10)), int(m.group(11)), int(m.group(12)), int(m.group(13))
    if kind != "weekly" and not 1 <= day <= 31:
        raise TimingError("每月的日子要在 1 到 31 之间。")
    if hh > 23 or mm > 59:
        raise TimingError("时间不对，请用 0:00 到 23:59。")
    return Rule(kind, day, time(hh, mm), month)


def _local_due(rule: Rule, year: int, month: int, day: int) -> datetime:
    return datetime.combine(date(year, month, day), rule.at, tzinfo=TZ).astimezone(timezone.utc)


def next_due(spec: str, after: datetime) -> datetime:
    """The first due time strictly after `after` (aware UTC in, aware UTC out)."""
    rule = parse_rule(spec)
    local = after.astimezone(TZ)
    if rule.kind in ("monthly", "quarterly"):
        year, month = local.year, local.month
        for _ in range(8):
            if rule.kind == "monthly" or (month - 1) % 3 == rule.month - 1:
                day = min(rule.day, calendar.monthrange(year, month)[1])
                due = _local_due(rule, year, month, day)
                if due > after:
                    return due
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        raise AssertionError("unreachable")
    start = local.date()
    for offset in range(0, 15):
        d = start + timedelta(days=offset)
        if d.isoweekday() == rule.day:
            due = _local_due(rule, d.year, d.month, d.day)
            if due > after:
                return due
    raise AssertionError("unreachable")


def due_times(spec: str, after: datetime, until: datetime, limit: int = 60) -> list[datetime]:
    """Due times in (after, until], oldest first (at most `limit`)."""
    out: list[datetime] = []
    t = after
    while len(out) < limit:
        t = next_due(spec, t)
        if t > until:
            break
        out.append(t)
    return out


def local_text(when: datetime) -> str:
    """How a time reads to a resident: 12月5日 09:00 (with the year when it is not this year)."""
    local = when.astimezone(TZ)
    now = datetime.now(TZ)
    prefix = f"{local.year}年" if local.year != now.year else ""
    return f"{prefix}{local.month}月{local.day}日 {local.hour:02d}:{local.minute:02d}"


@dataclass(frozen=True)
class When:
    """What the member asked for: now, one time, or a rule."""

    at: datetime | None  # aware UTC; None means "now"
    rule: Rule | None = None

    def describe(self) -> str:
        if self.rule is not None:
            return self.rule.describe()
        return "确认后马上发" if self.at is None else local_text(self.at)


_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
              "八": 8, "九": 9}


def _cn_number(text: str) -> str:
    """Chinese numerals up to 99 into digits (五号 → 5号, 二十一日 → 21日)."""
    def conv(m: re.Match[str]) -> str:
        s = m.group(0)
        if "十" not in s:
            return "".join(str(_CN_DIGITS[c]) for c in s)
        tens, _, ones = s.partition("十")
        value = (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)
        return str(value)
    return re.sub(r"[零〇一二两三四五六七八九十]+", conv, text)


def _clock(text: str) -> time:
    """'9点', '9:30', '下午3点半', '09:00'; no time given means 09:00."""
    pm = bool(re.search(r"下午|晚上|傍晚", text))
    m = re.search(r"(\d{1,2})\s*[:：点时]\s*(\d{1,2}|半)?", text)
    if not m:
        return time(9, 0)
    hh = int(m.group(1))
    mm = 30 if m.group(2) == "半" else int(m.group(2) or 0)
    if pm and hh < 12:
        hh += 12
    if hh > 23 or mm > 59:
        raise TimingError("时间不对，请用 0:00 到 23:59，比如 9:00。")
    return time(hh, mm)


def parse_when(text: str, now: datetime) -> When:
    """Read a publish time typed by a committee member."""
    raw = unicodedata.normalize("NFKC", text).strip()
    if re.fullmatch(r"(现在|马上|立即|立刻|now|现在发|马上发|立即发送?)", raw, re.I):
        return When(None)
    t = _cn_number(raw.replace("星期", "周").replace("礼拜", "周"))
    m = re.match(r"每(?:个)?月\s*(\d{1,2})\s*[号日]?(.*)$", t)
    if m:
        dom = int(m.group(1))
        if not 1 <= dom <= 31:
            raise TimingError("每月的日子要在 1 到 31 之间。")
        clock = _clock(m.group(2))
        return When(None, parse_rule(f"monthly:{dom}@{clock.hour}:{clock.minute:02d}"))
    # Chinese numerals are digits by now: 第一个月 → 第1个月, 最后一个月 → 最后1个月.
    m = re.match(r"每(?:1?个)?季度?\s*(?:的)?\s*(第\s*([1-3])\s*个?月|首月|头1?个?月|末月|最后1?个?月)?\s*(?:的)?\s*"
                 r"(\d{1,2})\s*[号日](.*)$", t)
    if m:
        month = int(m.group(2)) if m.group(2) else 3 if (m.group(1) or "").startswith(("末", "最后")) else 1
        qday = int(m.group(3))
        if not 1 <= qday <= 31:
            raise TimingError("每月的日子要在 1 到 31 之间。")
        clock = _clock(m.group(4))
        return When(None, parse_rule(f"quarterly:{month}:{qday}@{clock.hour}:{clock.minute:02d}"))
    if re.match(r"每(?:1?个)?季", t):
        raise TimingError("每季度哪一天发？比如“每季度第一个月5号9点”（1、4、7、10月的5号）。")
    m = re.match(r"每周\s*([1-7日天])(.*)$", t)
    if m:
        dow = 7 if m.group(1) in "日天" else int(m.group(1))
        clock = _clock(m.group(2))
        return When(None, parse_rule(f"weekly:{dow}@{clock.hour}:{clock.minute:02d}"))
    local_now = now.astimezone(TZ)
    day: date | None = None
    rest = t
    m = re.match(r"(\d{4})[-/年.](\d{1,2})[-/月.](\d{1,2})[日号]?(.*)$", t)
    if m:
        day, rest = _date(int(m.group(1)), int(m.group(2)), int(m.group(3))), m.group(4)
    else:
        m = re.match(r"(\d{1,2})[月/.-](\d{1,2})[日号]?(.*)$", t)
        if m:
            day, rest = _date(local_now.year, int(m.group(1)), int(m.group(2))), m.group(3)
            if datetime.combine(day, _clock(rest), tzinfo=TZ) < local_now:
                day = _date(local_now.year + 1, day.month, day.day)
        else:
            m = re.match(r"(今天|明天|后天)(.*)$", t)
            if m:
                day = local_now.date() + timedelta(days={"今天": 0, "明天": 1, "后天": 2}[m.group(1)])
                rest = m.group(2)
    if day is None:
        raise TimingError("没看懂时间。可以回复“现在”，或“12月5日 9:00”，或“每月5号9点”，或“每季度第一个月5号9点”。")
    at = datetime.combine(day, _clock(rest), tzinfo=TZ).astimezone(timezone.utc)
    if at < now - timedelta(minutes=1):
        raise TimingError(f"{local_text(at)}已经过去了，请给一个以后的时间，或回复“现在”。")
    return When(at)


def _date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise TimingError(f"没有{month}月{day}日这一天。") from exc
