"""Markdown to sanitised HTML. Runs at publish time only: requests never render
(scrolling_tables, a template filter, only wraps the tables of what was rendered).

Decisions:

- **Ids that written text sets are prefixed** with ``user-content-`` (issue 14, as
  GitHub does): Markdown's headings and footnotes, and any ``id`` in raw HTML. A page
  holds ids of its own (``csrf_token``, form fields, ``main``); text that set one of
  them could take over a label, a skip link or what a script finds. In-page links
  (``href="#..."``) are rewritten to match, so footnotes and links to headings still
  work. Nothing of the site links to an id in written text, so no id is kept as is.
"""
from __future__ import annotations

import functools
import re
import threading
from html import escape as html_escape
from html import unescape as html_unescape
from typing import Any, Callable, Mapping

import markdown
import nh3
from markupsafe import Markup

EXTENSIONS = ["tables", "footnotes", "toc", "fenced_code", "sane_lists", "admonition", "smarty"]
EXTENSION_CONFIGS: dict[str, dict[str, Any]] = {"toc": {"permalink": False},
                                                "footnotes": {"BACKLINK_TITLE": "Back to the text"}}

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details", "div", "dl",
    "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub",
    "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}
ALLOWED_ATTRIBUTES = {
    "*": {"id", "title", "lang"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "th": {"style", "colspan", "rowspan", "scope"},
    "td": {"style", "colspan", "rowspan"},
    "ol": {"start"},
    "abbr": {"title"},
}
# (class is not in ALLOWED_ATTRIBUTES: nh3 takes it from here.)
# Markdown's own classes (footnotes, admonitions); anything else is dropped.
ALLOWED_CLASSES = {
    "div": {"footnote", "admonition", "note", "tip", "warning", "important"},
    "p": {"admonition-title"},
    "sup": {"footnote-ref"},
    "a": {"footnote-ref", "footnote-backref"},
}

#: Put before every id that written text sets (headings, footnotes, raw HTML).
USER_ID_PREFIX = "user-content-"

ACTIVITY_MARKER = "@@activity:{id}@@"
_ACTIVITY_SPLIT = re.compile(r"<p>@@activity:([a-z0-9-]+)@@</p>")


_local = threading.local()


def _markdown() -> markdown.Markdown:
    """A reset Markdown converter of this thread's own: making one costs more than
    converting a paragraph, and a publish converts hundreds of small texts."""
    converter = getattr(_local, "markdown", None)
    if converter is None:
        converter = _local.markdown = markdown.Markdown(
            extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIGS, output_format="html")
    return converter.reset()


#: Links in what participants write: not endorsed by the site (nofollow), user
#: content (ugc), and the page they open cannot reach back (noopener noreferrer).
PARTICIPANT_LINK_REL = "nofollow ugc noopener noreferrer"


#: What a link's address becomes: a course file's name its download address (issue
#: 19); None keeps the address as written.
LinkHref = Callable[[str], "str | None"]


def sanitise(html: str, image_src: Callable[[str], str | None] | None = None,
             link_rel: str = "noopener noreferrer", id_prefix: str = USER_ID_PREFIX,
             link_href: LinkHref | None = None) -> str:
    def attribute_filter(tag: str, attribute: str, value: str) -> str | None:
        if tag == "img" and attribute == "src":
            return image_src(value) if image_src else None
        if tag == "a" and attribute == "href" and link_href is not None:
            rewritten = link_href(value)
            if rewritten is not None:
                return rewritten
        if attribute == "id":
            return _prefixed(value, id_prefix)
        if attribute == "href" and value.startswith("#") and len(value) > 1:
            return "#" + _prefixed(value[1:], id_prefix)
        return value

    return nh3.clean(
        html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, allowed_classes=ALLOWED_CLASSES,
        url_schemes={"http", "https", "mailto"}, attribute_filter=attribute_filter,
        filter_style_properties={"text-align"}, clean_content_tags={"script", "style"}, link_rel=link_rel,
    )


def _prefixed(user_id: str, prefix: str = USER_ID_PREFIX) -> str:
    # Once only: HTML sanitised before is sanitised again (resanitise) unchanged.
    return user_id if user_id.startswith(USER_ID_PREFIX) else prefix + user_id


def resanitise(html: str) -> str:
    """HTML sanitised by an earlier release, sanitised by today's rules (its images'
    addresses, already the site's own, kept): for migrations of stored versions."""
    return sanitise(html, image_src=lambda src: src)


@functools.lru_cache(maxsize=4096)
def _converted(text: str) -> str:
    """Markdown to (unsanitised) HTML: a pure function of the text, kept for texts seen
    before, since converting is most of what publishing costs (a republished course,
    whose texts mostly did not change; and the test suite, which publishes the
    shipped course hundreds of times). Sanitising, which depends on where images
    are, is done every time."""
    return _markdown().convert(text)


def render_markdown(text: str, image_src: Callable[[str], str | None] | None = None,
                    link_rel: str = "noopener noreferrer", id_prefix: str = USER_ID_PREFIX,
                    link_href: LinkHref | None = None) -> str:
    return sanitise(_converted(text), image_src, link_rel, id_prefix, link_href)


def render_participant_text(text: str, scope: str) -> str:
    """What a participant wrote (a post, a shared reflection): the house rules, no
    images, links marked as theirs, and ids prefixed with ``scope`` too (a post's own),
    so that two posts on one page never share an id."""
    return render_markdown(text, image_src=None, link_rel=PARTICIPANT_LINK_REL,
                           id_prefix=f"{USER_ID_PREFIX}{scope}-")


def render_body(text: str, image_src: Callable[[str], str | None] | None = None,
                link_href: LinkHref | None = None,
                after: Callable[[str], str] | None = None) -> list[dict[str, Any]]:
    """Render a workbook body whose activities stand as ACTIVITY_MARKER paragraphs.

    Returns the parts in order: ``{"html": ...}`` and ``{"activity": id}``.
    ``after``: a change to the sanitised HTML (glossary terms linked), before it is split.
    """
    html = render_markdown(text, image_src, link_href=link_href)
    if after is not None:
        html = after(html)
    pieces = _ACTIVITY_SPLIT.split(html)
    parts: list[dict[str, Any]] = []
    for index, piece in enumerate(pieces):
        if index % 2:
            parts.append({"activity": piece})
        elif piece.strip():
            parts.append({"html": piece})
    return parts


def render_fields(fields: Mapping[str, str], image_src: Callable[[str], str | None] | None = None,
                  link_href: LinkHref | None = None) -> dict[str, str]:
    """Render each Markdown field; a one-paragraph text loses its <p> to sit inline."""
    rendered = {}
    for key, text in fields.items():
        html = render_markdown(text, image_src, link_href=link_href).strip()
        if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
            html = html[3:-4]
        rendered[key] = html
    return rendered


_TABLE = re.compile(r"<table>(.*?)</table>", re.S)
_HEADER_CELL = re.compile(r"<th[^>]*>(.*?)</th>", re.S)
_TAG = re.compile(r"<[^>]+>")


def scrolling_tables(html: str) -> Markup:
    """Sanitised HTML (from the functions above) with each table in a region that
    scrolls sideways when the table is wider than the screen (375 px phones, 200 %
    zoom: WCAG 1.4.10), named by its column headings and focusable, so that a screen
    reader says what it holds and the keyboard can scroll it (WCAG 2.1.1).

    A template filter, run on each request rather than at publish time, so that the
    versions published before it get their regions too; a regex over a few kB costs
    microseconds."""
    def wrap(match: re.Match[str]) -> str:
        headings = [html_unescape(_TAG.sub("", cell)).strip() for cell in _HEADER_CELL.findall(match.group(1))]
        label = "Table: " + ", ".join(h for h in headings if h) if any(headings) else "Table"
        return (f'<div class="table-scroll" role="region" tabindex="0" aria-label="{html_escape(label)}">'
                f"{match.group(0)}</div>")

    return Markup(_TABLE.sub(wrap, str(html)))
