"""The days a housing office works: Monday to Friday, less the bank holidays of the pack's nation
(from the maintained `holidays` library, which follows the UK government's announcements,
substitute days included) and the pack's own closure days (say, between Christmas and New Year).

A pack chooses its calendar in pack.toml:

    [calendar]
    nation = "scotland"
    closed = ["2026-12-29", "2026-12-30", "2026-12-31"]

and counts in working days wherever it writes a duration: `P10WD` (workflows/platform/clock.py).
"""
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays

# pack.toml's spelling -> the `holidays` library's subdivision of GB (England and Wales share theirs)
NATIONS = {"england-and-wales": "ENG", "scotland": "SCT", "northern-ireland": "NIR"}
NATION_NAMES = {"england-and-wales": "England and Wales", "scotland": "Scotland",
                "northern-ireland": "Northern Ireland"}


@lru_cache(maxsize=None)
def _bank_holidays(nation: str):
    return holidays.country_holidays("GB", subdiv=NATIONS[nation])  # fills in each year as it is asked


@dataclass(frozen=True)
class BusinessCalendar:
    nation: str  # a key of NATIONS
    closed: frozenset[date] = frozenset()  # the pack's own closure days

    def bank_holiday(self, day: date) -> str | None:
        """The bank holiday's name on this day in the pack's nation, if it is one."""
        return _bank_holidays(self.nation).get(day)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.closed and self.bank_holiday(day) is None

    def add_working_days(self, day: date, count: int) -> date:
        """The `count`th working day after `day` (before it, for a negative count); 0 is `day` itself."""
        step = 1 if count >= 0 else -1
        for _ in range(abs(count)):
            day += timedelta(days=step)
            while not self.is_working_day(day):
                day += timedelta(days=step)
        return day


def from_settings(settings, where: str) -> BusinessCalendar:
    """pack.toml's [calendar] table as a calendar; ValueError naming what is wrong."""
    if not isinstance(settings, dict):
        raise ValueError(f"{where} must be a table, e.g. [calendar] nation = \"england-and-wales\"")
    unknown = set(settings) - {"nation", "closed"}
    if unknown:
        raise ValueError(f"{where} has unknown settings {sorted(unknown)} (it takes nation and closed)")
    nation = settings.get("nation")
    if nation not in NATIONS:
        raise ValueError(f"{where} nation is {nation!r}; it must be one of {', '.join(repr(n) for n in NATIONS)}")
    closed = settings.get("closed", [])
    if not isinstance(closed, list):
        raise ValueError(f"{where} closed must be a list of dates, e.g. closed = [\"2026-12-29\", \"2026-12-30\"]")
    days = set()
    for value in closed:
        if isinstance(value, date):
            days.add(value)
            continue
        try:
            days.add(date.fromisoformat(str(value)))
        except ValueError:
            raise ValueError(f"{where} closed: {value!r} is not a date such as \"2026-12-29\"") from None
    return BusinessCalendar(nation, frozenset(days))
