"""The working-day calendar: weekends, each state's public holidays, the local day and pauses."""

from __future__ import annotations

import datetime

from backend.cases.deadlines import due_date, extend, local_due_day, working_days_between

BERLIN = "Europe/Berlin"


def _at(y: int, m: int, d: int, hour: int = 10) -> datetime.datetime:
    return datetime.datetime(y, m, d, hour, tzinfo=datetime.UTC)


def _due_day(start: datetime.datetime, days: int, state: str | None, **kw: object) -> datetime.date:
    return local_due_day(due_date(start, days, state, BERLIN, **kw), BERLIN)  # type: ignore[arg-type]


def test_weekends_do_not_count() -> None:
    friday = _at(2026, 11, 6)
    assert _due_day(friday, 1, "BY") == datetime.date(2026, 11, 9)  # Monday
    assert _due_day(friday, 5, "BY") == datetime.date(2026, 11, 13)


def test_the_due_instant_is_the_end_of_the_local_day() -> None:
    due = due_date(_at(2026, 11, 6), 1, "BY", BERLIN)
    assert due == datetime.datetime(2026, 11, 9, 23, 0, tzinfo=datetime.UTC)  # midnight in Berlin (CET)


def test_days_are_counted_in_the_municipality_time_zone() -> None:
    # 23:30 UTC on Friday is already Saturday in Berlin: the next working day after Saturday is Monday.
    late_friday_utc = datetime.datetime(2026, 11, 6, 23, 30, tzinfo=datetime.UTC)
    assert _due_day(late_friday_utc, 1, "BY") == datetime.date(2026, 11, 9)
    assert _due_day(late_friday_utc, 2, "BY") == datetime.date(2026, 11, 10)


def test_epiphany_is_a_holiday_in_bavaria_but_not_in_berlin() -> None:
    monday = _at(2026, 1, 5)  # 6 January 2026 is a Tuesday
    assert _due_day(monday, 1, "BY") == datetime.date(2026, 1, 7)
    assert _due_day(monday, 1, "BW") == datetime.date(2026, 1, 7)
    assert _due_day(monday, 1, "BE") == datetime.date(2026, 1, 6)


def test_womens_day_is_a_holiday_in_berlin_and_since_2023_in_mecklenburg_western_pomerania() -> None:
    friday = _at(2027, 3, 5)  # 8 March 2027 is a Monday
    assert _due_day(friday, 1, "BE") == datetime.date(2027, 3, 9)
    assert _due_day(friday, 1, "MV") == datetime.date(2027, 3, 9)
    assert _due_day(friday, 1, "BY") == datetime.date(2027, 3, 8)
    assert _due_day(_at(2022, 3, 7), 1, "MV") == datetime.date(2022, 3, 8)  # not yet a holiday there in 2022


def test_without_a_state_only_federal_holidays_count() -> None:
    assert _due_day(_at(2026, 1, 5), 1, None) == datetime.date(2026, 1, 6)
    assert _due_day(_at(2026, 1, 5), 1, "") == datetime.date(2026, 1, 6)
    assert _due_day(_at(2025, 10, 2), 1, None) == datetime.date(2025, 10, 6)  # Unity Day, Friday 3 October


def test_a_span_over_christmas_and_new_year_skips_the_holidays() -> None:
    # From Wednesday 23 December 2026: 24 Thu (working), 25/26 holidays, weekend, 28-31, 1 Jan holiday.
    start = _at(2026, 12, 23)
    assert _due_day(start, 1, "BE") == datetime.date(2026, 12, 24)
    assert _due_day(start, 2, "BE") == datetime.date(2026, 12, 28)
    assert _due_day(start, 6, "BE") == datetime.date(2027, 1, 4)
    assert _due_day(start, 6, "BY") == datetime.date(2027, 1, 4)
    assert _due_day(start, 8, "BE") == datetime.date(2027, 1, 6)
    assert _due_day(start, 8, "BY") == datetime.date(2027, 1, 7)  # Epiphany in Bavaria


def test_a_pause_moves_the_due_date_by_the_working_days_waited() -> None:
    start = _at(2026, 11, 2)  # Monday
    assert _due_day(start, 5, "BE") == datetime.date(2026, 11, 9)
    # Waited from Tuesday to the next Tuesday: 5 working days.
    pause = (_at(2026, 11, 3), _at(2026, 11, 10))
    assert working_days_between(*pause, "BE", BERLIN) == 5
    assert _due_day(start, 5, "BE", pauses=[pause]) == datetime.date(2026, 11, 16)


def test_extending_a_stored_deadline_keeps_counting_working_days() -> None:
    due = due_date(_at(2026, 11, 2), 5, "BE", BERLIN)  # Monday 9 November
    assert local_due_day(extend(due, 5, "BE", BERLIN), BERLIN) == datetime.date(2026, 11, 16)
    assert extend(due, 0, "BE", BERLIN) == due
    assert working_days_between(_at(2026, 11, 7), _at(2026, 11, 8), "BE", BERLIN) == 0  # a weekend
