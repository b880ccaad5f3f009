"""Every CSV file shooc writes (exports, downloads, the command line's ``--format csv``)
goes through ``csv_text``, so that no cell can be run as a formula by the spreadsheet
that opens it (OWASP, "CSV Injection").

The decision: text that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return gets a leading ``'``, which spreadsheets show as text and do not display. That
is every name, e-mail address, title and slug, whoever typed it. Values that shooc
itself holds as numbers (``int``, ``float``) are written as they are: ``-3`` written
from a number is a number in every spreadsheet, never a formula, and escaping it would
break the numeric columns of docs/formats.md. Text is escaped even when it looks
like a number ("-1" typed into a name): only our own numbers are trusted.
"""
from __future__ import annotations

import csv
import io
from typing import Any, Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value to write: numbers as they are, text escaped if a spreadsheet could run it."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(rows: Iterable[Iterable[Any]], lineterminator: str = "\r\n") -> str:
    """The rows (the header first) as CSV text, every cell through ``safe_cell``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=lineterminator)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return out.getvalue()
