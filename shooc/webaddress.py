"""Web addresses given to shooc, checked one way wherever they come from.

An address a course leader writes (``issuer.url``, ``standards.url`` in course.md, a
media activity's ``url``...) ends up in an ``href`` on a page, in a badge's JSON-LD
(``url``, ``alignment[].targetUrl``) that other sites show as a link, or in a PDF.
A ``javascript:``, ``data:`` or ``vbscript:`` address there runs script in whoever
clicks it, and a badge's documents are published to other sites where shooc's
Content-Security-Policy does not protect anyone.

The decision: a web address is an absolute ``https://`` (or, where allowed,
``http://``) address with a host, written without any whitespace or control
character (browsers silently drop tabs and newlines from an address, so
``java\\tscript:`` would run), of at most ``MAX_LENGTH`` characters. Anything else is
refused where it is given, with a message saying what is wanted: never rewritten,
never stored. The scheme is compared without regard to case (``HTTPS://`` is the
same address), as browsers compare it.
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

WEB_SCHEMES = ("https", "http")
HTTPS_ONLY = ("https",)
MAX_LENGTH = 2000  # what every browser and search engine handles
_SPACE_OR_CONTROL_RE = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")


def _wanted(schemes: tuple[str, ...]) -> str:
    return " or ".join(f"{scheme}://" for scheme in schemes)


def _shown(value: str) -> str:
    text = value if len(value) <= 60 else value[:57] + "..."
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)  # a tab shown as \t


def web_address_problem(value: Any, schemes: tuple[str, ...] = WEB_SCHEMES) -> str | None:
    """None if ``value`` is a web address of one of ``schemes``; else what is wrong,
    as the end of a sentence naming the field ("'url' must be ...")."""
    example = f"{schemes[0]}://www.example.org/page"
    if not isinstance(value, str):
        return f"must be a web address starting with {_wanted(schemes)}, e.g. {example}"
    if len(value) > MAX_LENGTH:
        return f"must be a web address of at most {MAX_LENGTH:,} characters (it has {len(value):,})"
    if _SPACE_OR_CONTROL_RE.search(value):
        return f"must be a web address without spaces or control characters, not '{_shown(value)}'"
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return f"must be a web address starting with {_wanted(schemes)}, not '{_shown(value)}'"
    if parts.scheme.lower() not in schemes:
        return f"must be a web address starting with {_wanted(schemes)}, not '{_shown(value)}'"
    if not host or not value.lower().startswith(f"{parts.scheme.lower()}://"):
        return f"must be a web address with a site after {parts.scheme.lower()}://, e.g. {example}"
    return None


def is_web_address(value: Any, schemes: tuple[str, ...] = WEB_SCHEMES) -> bool:
    return web_address_problem(value, schemes) is None
