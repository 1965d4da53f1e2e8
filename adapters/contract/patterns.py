"""The patterns of the HTTP API's fields: what the OpenAPI document publishes, and what the
checks of ``fields.py`` match, so that the two cannot drift apart.

Character classes are spelled out: in some regex dialects ``\\d`` and ``\\s`` are Unicode-wide.
Dates are exact: days per month, 29 February in leap years only, years 0001 to 9999.
"""

from __future__ import annotations

import re

_MONTH_DAY = (
    "(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
    "|(?:0[13578]|1[02])-31)"
)
_LEAP_YEAR = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_INNER_YEAR = (
    "(?:000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"
)
_YEAR = f"(?:0001|{_INNER_YEAR}|9999)"
_DATE = f"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
_HOURS_MINUTES = "(?:[01][0-9]|2[0-3]):[0-5][0-9]"
_SECONDS = f"{_HOURS_MINUTES}:[0-5][0-9](?:\\.[0-9]{{1,9}})?"


def _date_time(time: str) -> str:
    """A date-time with an offset or Z. In year 1 the offset may not be east of UTC, in year
    9999 not west, so that every such text is an instant of years 1 to 9999 in UTC.
    """
    return (
        f"(?:(?:{_INNER_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)T{time}(?:Z|[+-]{_HOURS_MINUTES})"
        f"|0001-{_MONTH_DAY}T{time}(?:Z|[+-]00:00|-{_HOURS_MINUTES})"
        f"|9999-{_MONTH_DAY}T{time}(?:Z|[+-]00:00|\\+{_HOURS_MINUTES}))"
    )


# RFC 3339's date-time (seconds required), and the same without seconds, which ISO 8601 allows.
RFC3339_PATTERN = f"^{_date_time(_SECONDS)}$"
MINUTES_PATTERN = f"^{_date_time(_HOURS_MINUTES)}$"
_DATE_TIME = f"(?:{RFC3339_PATTERN[1:-1]}|{MINUTES_PATTERN[1:-1]})"
DATE_TIME_INPUT_PATTERN = f"^{_DATE_TIME}$"
DUE_DATE_PATTERN = f"^(?:{_DATE}|{_DATE_TIME})$"
DATE_PATTERN = f"^{_DATE}$"
# What the service writes: UTC, millisecond precision, Z.
INSTANT_PATTERN = f"^{_DATE}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\\.[0-9]{{3}}Z$"
# ``ms_`` and a 128-bit UUIDv7 in Crockford base32: 26 digits, the first carrying 3 bits.
MILESTONE_ID_PATTERN = r"^ms_[0-7][0-9A-HJKMNP-TV-Z]{25}$"
# A one-line text (projectId, title): no control characters (C0, DEL, C1), and at least one
# character that is not white space as Python's str.strip() sees it.
_CONTROLS = r"\x00-\x1f\x7f-\x9f"
_SPACES = r"\x20\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
LINE_PATTERN = f"^[^{_CONTROLS}]*[^{_CONTROLS}{_SPACES}][^{_CONTROLS}]*$"
# A multi-line text (description): no control characters but tab, line feed and return.
MULTILINE_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"

DATE_ONLY = re.compile(_DATE, re.ASCII)
DATE_LENGTH = len("2026-03-01")
DATE_TIME_INPUT = re.compile(DATE_TIME_INPUT_PATTERN[1:-1], re.ASCII)
CONTROL_CHARACTERS = re.compile(f"[{_CONTROLS}]")
MULTILINE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
