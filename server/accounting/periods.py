"""Quota periods that reset: daily at midnight, weekly on Monday at midnight, monthly on
the first at midnight, in the service host's local time."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum


class Period(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


def start_of(period: Period, now: float) -> int:
    """When the period that holds `now` began (epoch seconds)."""
    moment = datetime.fromtimestamp(now).astimezone()
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == Period.WEEKLY:
        midnight -= timedelta(days=midnight.weekday())
    elif period == Period.MONTHLY:
        midnight = midnight.replace(day=1)
    # Local midnight, even across a daylight-saving change inside the period.
    return int(midnight.replace(tzinfo=None).astimezone().timestamp())


def next_start(period: Period, now: float) -> int:
    """When the period after the one holding `now` begins: the quota's reset."""
    begun = datetime.fromtimestamp(start_of(period, now)).astimezone()
    if period == Period.DAILY:
        later = begun + timedelta(days=1, hours=3)  # past any daylight-saving shift
    elif period == Period.WEEKLY:
        later = begun + timedelta(days=7, hours=3)
    else:
        later = (begun.replace(day=28) + timedelta(days=4)).replace(day=1, hour=3)
    return start_of(period, later.timestamp())
