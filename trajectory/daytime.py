"""Messages reach participants only in daytime, Brussels time (DESIGN §4)."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

BRUSSELS = ZoneInfo("Europe/Brussels")
DAY_STARTS = time(9, 0)
DAY_ENDS = time(20, 0)


def next_daytime(at: datetime) -> datetime:
    """The first moment at or after `at` when a message may be sent, in UTC."""
    local = at.astimezone(BRUSSELS)
    if DAY_STARTS <= local.time() < DAY_ENDS:
        return at
    day = local.date() if local.time() < DAY_STARTS else local.date() + timedelta(days=1)
    return datetime.combine(day, DAY_STARTS, tzinfo=BRUSSELS).astimezone(at.tzinfo)
