"""One branded HTML layout for every e-mail shooc sends through the queue
(announcements, reminders, messages from the course team, live sessions,
notifications): the institution's name or logo on a band of its colour, the
message, and a footer saying why it came and how to stop it.

Pure (no Flask): Jinja2 on ``templates/email/layout.html`` with autoescaping, the
brand from the ``SiteUrls`` every sender already has (``links.brand``).

Decisions:

- **Every message keeps its plain-text part, unchanged**; the HTML is an
  alternative (``multipart/alternative``), so a text-only reader, a screen reader's
  mail client or a filter sees exactly what it saw before.
- **The HTML of a plain-text message is made from that text** (``text_html``):
  paragraphs at blank lines, line breaks kept, addresses made links, everything
  escaped; the part after the signature line ``-- `` becomes the footer. One source
  of truth, so the two parts cannot say different things.
- **An announcement's HTML part is its Markdown, rendered and sanitised** once at
  posting (``Announcement.body_html``: nh3, no images, no ids), never the raw
  Markdown shown in the text part.
- **Styles are inline and tables lay it out.** Mail readers drop ``<style>`` and
  external stylesheets (the site's CSP does not reach a mailbox); the colours are
  the brand's, with text on them at 4.5:1 or more (``shooc.branding``).
"""
from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from shooc.urls import SiteUrls

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SIGNATURE = "\n-- \n"
_URL_RE = re.compile(r"https?://[^\s<>\"')]+[^\s<>\"').,;:!?]")


@cache
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True),
                       trim_blocks=True, lstrip_blocks=True)


#: A link in an e-mail: mail readers drop a page's style sheet, so it is inline.
LINK_STYLE = "color:inherit;text-decoration:underline"


def styled_links(html: str) -> Markup:
    """Sanitised HTML of our own (an announcement's, whose links carry only href and
    rel) with its links styled as the rest of the e-mail's, not the mail reader's
    default blue."""
    return Markup(html.replace("<a ", f'<a style="{LINK_STYLE}" '))


def linked(text: str) -> Markup:
    """``text`` escaped, its web addresses made links, its line breaks kept."""
    out: list[str] = []
    position = 0
    for match in _URL_RE.finditer(text):
        out.append(str(escape(text[position:match.start()])))
        url = escape(match.group(0))
        out.append(f'<a href="{url}" style="{LINK_STYLE}">{url}</a>')
        position = match.end()
    out.append(str(escape(text[position:])))
    return Markup("".join(out).replace("\n", "<br>\n"))


def paragraphs(text: str) -> Markup:
    """Plain text as HTML paragraphs (at blank lines), escaped and linked."""
    blocks = [block.strip("\n") for block in re.split(r"\n\s*\n", text.strip()) if block.strip()]
    return Markup("\n").join(Markup('<p style="margin:0 0 16px">') + linked(block) + Markup("</p>")
                             for block in blocks)


def text_html(text: str, links: SiteUrls, title: str) -> str:
    """The branded HTML of a plain-text message (its signature part the footer)."""
    content, _, footer = text.partition(SIGNATURE)
    return page(links, title, paragraphs(content), paragraphs(footer) if footer.strip() else None)


def page(links: SiteUrls, title: str, content: Markup | str, footer: Markup | str | None = None) -> str:
    """The layout around ``content`` (HTML, trusted: escaped or sanitised by the caller)."""
    brand = links.brand
    logo = brand.logo_url
    if logo and logo.startswith("/"):
        logo = links.base + logo
    return _environment().get_template("email/layout.html").render(
        brand=brand, logo=logo, title=title, content=Markup(content),
        footer=Markup(footer) if footer is not None else None, home=links.base + "/")
