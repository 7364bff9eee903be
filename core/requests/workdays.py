"""Working-day arithmetic for the legal deadlines of the 政府信息公开条例.

China's working days are not Monday-to-Friday: public holidays and 调休 (weekend days worked in
exchange) move them, so we use the official calendar (`chinese_calendar`). The package only knows
the years the State Council has published; for a later date we fall back to weekends plus the
statutory holidays whose dates are fixed by law (全国年节及纪念日放假办法, 2024 revision: 元旦, 春节
from the lunar calendar, 清明, 劳动节, 端午, 中秋, 国庆) and mark the result *provisional*: 调休 and
bridging days are not known until the State Council publishes them, so staff must re-check it.
A newer `chinesecalendar` that covers the year corrects the dates by itself.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
from lunardate import LunarDate

log = logging.getLogger("core.requests.workdays")

BEIJING = ZoneInfo("Asia/Shanghai")

# Legal periods, in working days.
REPLY_DAYS = 20          # Art. 33: reply within 20 working days
MAX_EXTENSION_DAYS = 20  # Art. 33: one extension of at most 20 working days
MAX_CONSULT_DAYS = 15    # Art. 32: the third party answers within 15 working days (not counted)
SUPPLEMENT_NOTICE_DAYS = 7  # Art. 30: one supplement notice within 7 working days of receipt
DEFAULT_SUPPLEMENT_DAYS = 15  # period we give the applicant to supplement (set by the agency)


def beijing_date(moment: datetime) -> date:
    """The calendar day in China of an aware UTC moment (deadlines are counted in local days)."""
    return moment.astimezone(BEIJING).date()


def _qingming(year: int) -> date:
    """清明, the solar term (4 or 5 April), from chinesecalendar's own solar-term table rather than a
    hand formula (the two agree for 2001–2099)."""
    terms = chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 10))
    return next(day for day, name in terms if name == "清明")


def _lunar(year: int, month: int, day: int) -> date:
    return LunarDate(year, month, day).to_solar_date()


def statutory_holidays(year: int) -> frozenset[date]:
    """The days off the law fixes for `year` (without 调休, which only the annual notice sets)."""
    spring = _lunar(year, 1, 1)
    days = {date(year, 1, 1), spring - timedelta(days=1), spring, spring + timedelta(days=1),
            spring + timedelta(days=2), _qingming(year), date(year, 5, 1), date(year, 5, 2),
            _lunar(year, 5, 5), _lunar(year, 8, 15), date(year, 10, 1), date(year, 10, 2), date(year, 10, 3)}
    return frozenset(d for d in days if d.year == year)


_HOLIDAY_CACHE: dict[int, frozenset[date]] = {}


def _fallback_workday(day: date) -> bool:
    if day.year not in _HOLIDAY_CACHE:
        _HOLIDAY_CACHE[day.year] = statutory_holidays(day.year)
    return day.weekday() < 5 and day not in _HOLIDAY_CACHE[day.year]


def is_workday(day: date) -> tuple[bool, bool]:
    """(is a working day, known from the official calendar). Unknown years fall back to weekends
    and the statutory holidays (see the module docstring)."""
    try:
        return bool(chinese_calendar.is_workday(day)), True
    except NotImplementedError:
        return _fallback_workday(day), False


def calendar_covers(day: date) -> bool:
    return is_workday(day)[1]


@dataclass(frozen=True)
class Window:
    """Days not counted: working days d with start < d <= end (the start day was already used)."""

    start: date
    end: date


@dataclass
class Deadline:
    due: date
    provisional: bool = False           # part of the count fell in a year the calendar lacks
    uncounted: list[date] = field(default_factory=list)  # working days skipped (consultation)


def next_workday(day: date) -> date:
    """The first working day on or after `day`."""
    while not is_workday(day)[0]:
        day += timedelta(days=1)
    return day


def add_workdays(start: date, days: int, skip: list[Window] | tuple[Window, ...] = ()) -> Deadline:
    """The `days`-th working day after `start`, the start day itself not counted (民法典 Art. 201).

    A request received on a non-working day is thereby counted from the next working day: that day
    is day 1. Working days inside a `skip` window (third-party consultation) are not counted.
    """
    if days < 0:
        raise ValueError("days must be >= 0")
    day, counted, provisional = start, 0, False
    uncounted: list[date] = []
    if not is_workday(start)[1]:
        provisional = True
    while counted < days:
        day += timedelta(days=1)
        working, known = is_workday(day)
        if not known:
            provisional = True
        if not working:
            continue
        if any(w.start < day <= w.end for w in skip):
            uncounted.append(day)
            continue
        counted += 1
    return Deadline(day, provisional, uncounted)


def workdays_between(start: date, end: date) -> tuple[int, bool]:
    """Working days d with start < d <= end, and whether the calendar knew them all."""
    count, known_all, day = 0, True, start
    while day < end:
        day += timedelta(days=1)
        working, known = is_workday(day)
        known_all &= known
        count += working
    return count, known_all
