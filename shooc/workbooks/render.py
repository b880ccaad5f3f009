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
    "a": {"footnote-ref", "footnote-backref", "glossary-term"},
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


# Glossary terms (issue 19) -------------------------------------------------------
#
# In a workbook's text the first use of each glossary term (or of one of its
# aliases), in any case, becomes a link to its entry on the course's glossary page,
# with the definition as its title: done at publish time on the sanitised HTML (the
# stored body), so requests cost nothing more. Not inside headings (a heading that is
# a link reads badly in the contents list), links, code, or what is already a term;
# activities' prompts are rendered apart and keep their text as written.

_TAG_OR_TEXT = re.compile(r"(<[^>]+>)")
_NO_TERMS_IN = {"a", "code", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "abbr", "kbd", "summary"}
_TAG_NAME = re.compile(r"^</?([a-zA-Z0-9]+)")


def _is_abbreviation(name: str) -> bool:
    """ECT, SENCo, SMART, Teachers' Standards: two capitals or more keep their case
    (so that 'send' or 'smart' in a sentence is not SEND or SMART)."""
    return sum(1 for c in name if c.isupper()) >= 2


def _term_key(name: str) -> str:
    name = " ".join(name.replace("\u2019", "'").split())
    return name if _is_abbreviation(name) else name.casefold()


def _term_pattern(key: str) -> str:
    """A term's name as it stands in sanitised HTML: any spaces, an apostrophe as
    typed or curled by Markdown's smarty (&rsquo;), in any case unless an abbreviation."""
    parts = [r"\s+" if part.isspace() else r"(?:'|&rsquo;|&#39;|\u2019)" if part == "'" else re.escape(part)
             for part in re.split(r"(\s+|')", key) if part]
    body = "".join(parts)
    return body if _is_abbreviation(key) else f"(?i:{body})"


def link_glossary_terms(html: str, terms: list[tuple[tuple[str, ...], str, str]]) -> str:
    """``html`` with the first use of each term linked: ``terms`` holds, per term, its
    names (term and aliases), its entry's address and its definition as plain text."""
    if not terms:
        return html
    entry_of: dict[str, int] = {}
    for index, (names, _href, _title) in enumerate(terms):
        for name in names:
            entry_of.setdefault(_term_key(name), index)
    alternatives = sorted(entry_of, key=len, reverse=True)  # the longest name first: "lead mentor" before "mentor"
    pattern = re.compile(r"(?<![\w@-])(" + "|".join(_term_pattern(n) for n in alternatives) + r")(?![\w@-])")
    linked: set[int] = set()
    skipping: list[str] = []
    out: list[str] = []
    for piece in _TAG_OR_TEXT.split(html):
        if piece.startswith("<"):
            name_match = _TAG_NAME.match(piece)
            name = name_match.group(1).lower() if name_match else ""
            if name in _NO_TERMS_IN:
                if piece.startswith("</"):
                    if skipping and skipping[-1] == name:
                        skipping.pop()
                elif not piece.endswith("/>"):
                    skipping.append(name)
            out.append(piece)
            continue
        if skipping or not piece.strip() or piece.startswith("@@activity:"):
            out.append(piece)
            continue

        def link(match: re.Match[str]) -> str:
            written = " ".join(html_unescape(match.group(1)).replace("\u2019", "'").split())
            index = entry_of.get(written, entry_of.get(written.casefold()))  # "LEAD MENTOR" is "lead mentor"
            if index is None or index in linked:
                return match.group(0)
            linked.add(index)
            _names, href, title = terms[index]
            return (f'<a href="{html_escape(href)}" class="glossary-term" title="{html_escape(title)}">'
                    f"{match.group(0)}</a>")

        out.append(pattern.sub(link, piece))
    return "".join(out)


def plain_text(html: str, most: int = 300) -> str:
    """Sanitised HTML as one line of text, at most ``most`` characters (a title)."""
    text = " ".join(html_unescape(_TAG.sub("", html)).split())
    return text if len(text) <= most else text[:most - 1].rstrip() + "…"


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
    microseconds; and a post with no table (most) is handed back unsearched, as the
    discussion's page runs it on each of its 80 posts (kept at read time rather than
    run once when a post is written, which would need the posts written before it
    migrated)."""
    if "<table>" not in html:
        return Markup(html)  # exactly what _TABLE.sub would give: it matches "<table>" only

    def wrap(match: re.Match[str]) -> str:
        headings = [html_unescape(_TAG.sub("", cell)).strip() for cell in _HEADER_CELL.findall(match.group(1))]
        label = "Table: " + ", ".join(h for h in headings if h) if any(headings) else "Table"
        return (f'<div class="table-scroll" role="region" tabindex="0" aria-label="{html_escape(label)}">'
                f"{match.group(0)}</div>")

    return Markup(_TABLE.sub(wrap, str(html)))
