"""Tables as CSV, for the spreadsheets maintainers open them in.

Every text cell is made safe on the way out: a spreadsheet runs a cell that starts
with = + - @ (or a tab or carriage return before one) as a formula, and these
tables hold text anyone who edits can type (section titles, TODO notes, names). A
leading quote keeps such a cell text (OWASP's advice on CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """Text that a spreadsheet would run gets a leading quote; the rest as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """The table line by line, for streaming: nothing is held but one row."""
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([safe_cell(value) for value in row])


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The whole table as one string."""
    out = io.StringIO()
    out.writelines(csv_lines(header, rows))
    return out.getvalue()


class _Echo:
    """What csv.writer writes to: each line comes straight back."""

    def write(self, value: str) -> str:
        return value
