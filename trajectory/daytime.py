"""Messages reach participants only in daytime, Brussels time (DESIGN §4)."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

BRUSSELS = ZoneInfo("Europe/Brussels")
DAY_STARTS = time(9, 0)
DAY_ENDS = time(20, 0)


def day_of(at: datetime) -> datetime:
    """The start of `at`'s day in Brussels: what `ParcoursLastContact` holds, so that the
    search attribute changes once a day, not at every contact (the read model keeps the time)."""
    return datetime.combine(at.astimezone(BRUSSELS).date(), time(0), tzinfo=BRUSSELS)


def next_daytime(at: datetime) -> datetime:
    """The first moment at or after `at` when a message may be sent, in UTC."""
    local = at.astimezone(BRUSSELS)
    if DAY_STARTS <= local.time() < DAY_ENDS:
        return at
    day = local.date() if local.time() < DAY_STARTS else local.date() + timedelta(days=1)
    return datetime.combine(day, DAY_STARTS, tzinfo=BRUSSELS).astimezone(at.tzinfo)
