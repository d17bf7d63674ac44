"""Months as integers from a scenario's start, and their calendar dates."""

from __future__ import annotations

from functools import lru_cache

import numpy as np


def month_index(start: str, date: str) -> int:
    """Months from ``start`` (YYYY-MM) to ``date`` (YYYY-MM); negative if before."""
    y0, m0 = (int(x) for x in start.split("-"))
    y1, m1 = (int(x) for x in date.split("-"))
    return (y1 - y0) * 12 + (m1 - m0)


@lru_cache(maxsize=4096)
def month_date(start: str, month: int) -> str:
    """Calendar date (YYYY-MM) of month ``month`` counted from ``start``."""
    y0, m0 = (int(x) for x in start.split("-"))
    total = y0 * 12 + (m0 - 1) + month
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


def month_dates(start: str, months: int) -> np.ndarray:
    """Dates of months 0..months-1 as datetime64[M]."""
    return np.datetime64(start, "M") + np.arange(months)


def calendar_month(start: str, month: int) -> int:
    """1..12: the calendar month of model month ``month``."""
    return (_first_month(start) + month) % 12 + 1


@lru_cache(maxsize=64)
def _first_month(start: str) -> int:
    """0..11: the calendar month of ``start`` (YYYY-MM), counted from January."""
    return int(start.split("-")[1]) - 1
