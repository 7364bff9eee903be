"""Reply deadlines in working days, each expected date worked out by hand from the State
Council's holiday notices (2025: 国办发明电〔2024〕12号; 2026: 国办发明电〔2025〕7号)."""
from __future__ import annotations

from datetime import date

import pytest

from core.requests.workdays import (
    Window,
    add_workdays,
    calendar_covers,
    is_workday,
    next_workday,
    workdays_between,
)

# chinesecalendar 1.11.0 stops at 2026; once upgraded, the hand-worked 2027 case no longer applies.
COVERS_2027 = calendar_covers(date(2027, 1, 4))
FIRST_UNCOVERED = next(y for y in range(2026, 2200) if not calendar_covers(date(y, 6, 1)))


def due(received: date, days: int = 20, skip: tuple[Window, ...] = ()) -> date:
    return add_workdays(received, days, skip).due


def test_field_notes_example_working_sunday_before_national_day() -> None:
    # 2025-09-28 is a 调休 working Sunday (not counted: receipt day). Day 1 = 09-29, 2 = 09-30,
    # Oct 1–8 holiday, 3 = 10-09, 4 = 10-10, 5 = Sat 10-11 (调休), 6–10 = 10-13..17,
    # 11–15 = 10-20..24, 16–20 = 10-27..31.
    assert due(date(2025, 9, 28)) == date(2025, 10, 31)
    # A Monday-to-Friday count would have said 2025-10-24 — a week early.
    assert due(date(2025, 9, 28)) != date(2025, 10, 24)


def test_received_on_a_holiday_counts_from_next_working_day() -> None:
    # Sat 2025-10-04 is inside the National Day holiday: day 1 = Thu 10-09, 2 = 10-10,
    # 3 = Sat 10-11 (调休), 4–8 = 10-13..17, 9–13 = 10-20..24, 14–18 = 10-27..31, 19 = 11-03, 20 = 11-04.
    assert not is_workday(date(2025, 10, 4))[0]
    assert next_workday(date(2025, 10, 4)) == date(2025, 10, 9)
    assert due(date(2025, 10, 4)) == date(2025, 11, 4)


def test_received_just_before_spring_festival_2026() -> None:
    # Fri 2026-02-13; Sat 02-14 is a 调休 working day (day 1); holiday 02-15..02-23;
    # 2–5 = 02-24..27, 6 = Sat 02-28 (调休), 7–11 = 03-02..06, 12–16 = 03-09..13, 17–20 = 03-16..19.
    assert due(date(2026, 2, 13)) == date(2026, 3, 19)


def test_received_on_a_tiaoxiu_saturday() -> None:
    # Sat 2026-02-14 is a working day, so it is the receipt day and not counted:
    # 1–4 = 02-24..27, 5 = Sat 02-28, 6–10 = 03-02..06, 11–15 = 03-09..13, 16–20 = 03-16..20.
    assert is_workday(date(2026, 2, 14)) == (True, True)
    assert due(date(2026, 2, 14)) == date(2026, 3, 20)


def test_received_just_before_national_day_2026() -> None:
    # Wed 2026-09-30; holiday 10-01..10-07; 1 = 10-08, 2 = 10-09, 3 = Sat 10-10 (调休),
    # 4–8 = 10-12..16, 9–13 = 10-19..23, 14–18 = 10-26..30, 19 = 11-02, 20 = 11-03.
    assert due(date(2026, 9, 30)) == date(2026, 11, 3)


def test_plain_month_without_holidays() -> None:
    # Mon 2025-11-03: 1–4 = 11-04..07, 5–9 = 10..14, 10–14 = 17..21, 15–19 = 24..28, 20 = 12-01.
    assert due(date(2025, 11, 3)) == date(2025, 12, 1)


def test_extension_adds_twenty_more_working_days() -> None:
    # 40 working days from 2025-09-28: day 20 = 10-31, 21–25 = 11-03..07, 26–30 = 10..14,
    # 31–35 = 17..21, 36–40 = 24..28.
    assert due(date(2025, 9, 28), 40) == date(2025, 11, 28)


def test_consultation_days_are_not_counted() -> None:
    # Received Mon 2025-11-03, consultation sent Mon 11-10, answered Fri 11-14: the working
    # days 11-11..14 are not counted. 1–4 = 11-04..07, 5 = 11-10, 6–10 = 17..21, 11–15 = 24..28,
    # 16–20 = 12-01..05.
    result = add_workdays(date(2025, 11, 3), 20, [Window(date(2025, 11, 10), date(2025, 11, 14))])
    assert result.due == date(2025, 12, 5)
    assert result.uncounted == [date(2025, 11, d) for d in (11, 12, 13, 14)]


@pytest.mark.skipif(COVERS_2027, reason="calendar now covers 2027; see the generic test below")
def test_deadline_crossing_into_an_uncovered_year_is_provisional() -> None:
    # Tue 2026-12-15: 1–3 = 12-16..18, 4–8 = 21..25, 9–12 = 28..31; 2027 is not in the calendar,
    # so weekends and the statutory holidays: 元旦 Fri 2027-01-01 is skipped, 13–17 = 01-04..08,
    # 18–20 = 01-11..13 (weekends alone would have said 01-12, a day early).
    result = add_workdays(date(2026, 12, 15), 20)
    assert result.due == date(2027, 1, 13)
    assert result.provisional is True
    assert add_workdays(date(2026, 11, 2), 20).provisional is False


def test_any_deadline_reaching_the_first_uncovered_year_is_provisional() -> None:
    result = add_workdays(date(FIRST_UNCOVERED - 1, 12, 20), 20)
    assert result.due.year == FIRST_UNCOVERED and result.provisional
    assert not add_workdays(date(FIRST_UNCOVERED - 1, 3, 2), 20).provisional


def test_uncovered_dates_fall_back_to_weekends() -> None:
    saturday = next(date(FIRST_UNCOVERED, 1, d) for d in range(1, 8) if date(FIRST_UNCOVERED, 1, d).weekday() == 5)
    assert is_workday(saturday) == (False, False)
    assert is_workday(date.fromordinal(saturday.toordinal() + 2)) == (True, False)  # the Monday after


def test_workdays_between_and_zero() -> None:
    assert workdays_between(date(2025, 9, 30), date(2025, 10, 10)) == (2, True)  # 10-09, 10-10
    assert due(date(2025, 9, 28), 0) == date(2025, 9, 28)
    with pytest.raises(ValueError):
        add_workdays(date(2025, 1, 1), -1)


def test_uncovered_year_skips_the_statutory_holidays() -> None:
    """Years chinesecalendar lacks: weekends plus the days fixed by law (元旦, 春节 from the lunar
    calendar, 清明, 劳动节, 端午, 中秋, 国庆), always marked provisional."""
    from core.requests.workdays import statutory_holidays

    if COVERS_2027:
        pytest.skip("chinesecalendar covers 2027 now")
    assert is_workday(date(2027, 1, 1)) == (False, False)      # 元旦, a Friday
    assert is_workday(date(2027, 1, 4)) == (True, False)
    # 春节 2027: lunar new year is Sat 02-06; 除夕 Fri 02-05 and Mon 02-08 are days off
    assert not is_workday(date(2027, 2, 5))[0] and not is_workday(date(2027, 2, 8))[0]
    assert is_workday(date(2027, 2, 9))[0]
    assert {date(2027, 4, 5), date(2027, 6, 9), date(2027, 9, 15)} <= statutory_holidays(2027)  # 清明 端午 中秋
    assert not is_workday(date(2027, 10, 1))[0] and not is_workday(date(2027, 10, 3))[0]
    # 2026-12-20 + 20 working days skips 元旦 2027: 01-18, not 01-15 as weekends alone would say
    deadline = add_workdays(date(2026, 12, 20), 20)
    assert deadline.due == date(2027, 1, 18) and deadline.provisional


def test_statutory_holidays_agree_with_the_official_calendar() -> None:
    """For the years the package covers since the 2024 revision, every day the law fixes is a day off."""
    import chinese_calendar

    from core.requests.workdays import statutory_holidays

    for year in (2025, 2026):
        assert len(statutory_holidays(year)) == 13
        assert [d for d in statutory_holidays(year) if chinese_calendar.is_workday(d)] == []
