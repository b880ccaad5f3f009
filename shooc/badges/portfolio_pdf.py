"""The portfolio as a PDF (ReportLab's page layout, platypus): A4 portrait, the
certificate's embedded fonts (Latin, Greek and Cyrillic), the institution's name and
brand colour in the heading band of every page, page numbers.

Every text a learner or the course team wrote is escaped before ReportLab reads it
as paragraph markup (``<``, ``&`` print as themselves; nothing becomes a tag).
"""
from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.colors import Color, HexColor, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable, HRFlowable

from shooc.badges.certificate_pdf import INK, MUTED, _register_fonts
from shooc.badges.portfolio import DEFAULT_BRAND_COLOUR, Answer, Portfolio, WorkbookPart

MARGIN = 18 * mm
BAND = 14 * mm  # the coloured band at the top of every page
WIDTH = A4[0] - 2 * MARGIN - 12  # of the text (the frame pads 6 points each side)


def _colour(text: str) -> Color:
    try:
        return HexColor(text)
    except (ValueError, TypeError):
        return HexColor(DEFAULT_BRAND_COLOUR)


def _styles(brand: Color) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName="Serif", fontSize=10.5, leading=14.5, textColor=INK, spaceAfter=5)
    return {
        "body": base,
        "title": ParagraphStyle("title", parent=base, fontName="Serif-Semibold", fontSize=24, leading=29,
                                textColor=brand, spaceAfter=4),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontName="Sans", fontSize=12, leading=16, textColor=MUTED),
        "h1": ParagraphStyle("h1", parent=base, fontName="Serif-Semibold", fontSize=16, leading=20, textColor=brand,
                             spaceBefore=10, spaceAfter=2, keepWithNext=1),
        "h2": ParagraphStyle("h2", parent=base, fontName="Sans-Semibold", fontSize=11.5, leading=15, textColor=INK,
                             spaceBefore=8, spaceAfter=2, keepWithNext=1),
        "kind": ParagraphStyle("kind", parent=base, fontName="Sans", fontSize=9.5, leading=12.5, textColor=MUTED,
                               spaceAfter=3, keepWithNext=1),
        "meta": ParagraphStyle("meta", parent=base, fontName="Sans", fontSize=9.5, leading=12.5, textColor=MUTED,
                               spaceAfter=3),
        "label": ParagraphStyle("label", parent=base, fontName="Sans-Semibold", fontSize=9.5, leading=12.5,
                                spaceAfter=0),
        "value": ParagraphStyle("value", parent=base, fontSize=10, leading=13.5, spaceAfter=0),
        "feedback": ParagraphStyle("feedback", parent=base, fontName="Serif", leftIndent=8, borderPadding=0),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text: escaped, line breaks kept."""
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def render(content: Portfolio) -> bytes:
    _register_fonts()
    brand = _colour(content.brand_colour)
    styles = _styles(brand)
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN + BAND,
                            bottomMargin=MARGIN, title=f"Portfolio: {content.holder} — {content.course_title}",
                            author=content.holder, subject=content.course_title, creator=content.institution)
    story: list[Flowable] = [
        _p(content.institution.upper(), styles["meta"]),
        _p("Portfolio", styles["title"]),
        _p(content.holder, ParagraphStyle("holder", parent=styles["h1"], textColor=INK, spaceBefore=0)),
        _p(f"{content.course_title} · {content.run_name}", styles["subtitle"]),
        _p(f"Made on {content.made_on:%-d %B %Y}: the learner's own answers, the course team's feedback, "
           "badges and certificate.", styles["meta"]),
        Spacer(1, 4),
    ]
    story.extend(_credentials(content, styles, brand))
    story.extend(_confidence(content, styles, brand))
    for part in content.workbooks:
        story.extend(_workbook(part, styles, brand))

    def page(canvas: Any, document: Any) -> None:
        width, height = A4
        canvas.saveState()
        canvas.setFillColor(brand)
        canvas.rect(0, height - BAND, width, BAND, stroke=0, fill=1)
        canvas.setFillColor(white)
        canvas.setFont("Sans-Semibold", 9.5)
        canvas.drawString(MARGIN, height - BAND + 5 * mm, content.institution)
        canvas.drawRightString(width - MARGIN, height - BAND + 5 * mm, content.course_title[:90])
        canvas.setFillColor(MUTED)
        canvas.setFont("Sans", 8.5)
        canvas.drawString(MARGIN, 10 * mm, f"Portfolio of {content.holder}")
        canvas.drawRightString(width - MARGIN, 10 * mm, f"Page {document.page}")
        canvas.restoreState()

    doc.build(story, onFirstPage=page, onLaterPages=page)
    return out.getvalue()


def _credentials(content: Portfolio, styles: dict[str, ParagraphStyle], brand: Color) -> list[Flowable]:
    flow: list[Flowable] = [_p("Badges and certificate", styles["h1"])]
    if content.certificate_code:
        state = " (revoked)" if content.certificate_revoked else ""
        flow.append(_p(f"Certificate{state}: code {content.certificate_code}", styles["h2"]))
        flow.append(_link(content.certificate_url or "", styles["meta"]))
    else:
        flow.append(_p("No certificate yet: it is issued when every workbook has its badge.", styles["meta"]))
    if content.badges:
        rows = [[_p("Open Badge", styles["label"]), _p("Issued", styles["label"]), _p("Address", styles["label"])]]
        for badge in content.badges:
            rows.append([_p(badge.name + (" (revoked)" if badge.revoked else ""), styles["value"]),
                         _p(f"{badge.issued_on:%-d %B %Y}", styles["value"]), _link(badge.url, styles["meta"])])
        table = Table(rows, colWidths=[55 * mm, 30 * mm, WIDTH - 85 * mm], repeatRows=1)
        table.setStyle(_ruled_table_style(brand))
        flow.append(table)
    else:
        flow.append(_p("No badges yet: each workbook submitted earns its Open Badge.", styles["meta"]))
    return flow


def _ruled_table_style(brand: Color) -> TableStyle:
    """A table of the portfolio: a brand-coloured rule under its header, thin rules between rows."""
    return TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                       ("LINEBELOW", (0, 0), (-1, 0), 0.8, brand),
                       ("LINEBELOW", (0, 1), (-1, -1), 0.3, HexColor("#d8dce3")),
                       ("BOTTOMPADDING", (0, 0), (-1, -1), 4), ("TOPPADDING", (0, 0), (-1, -1), 4),
                       ("LEFTPADDING", (0, 0), (-1, -1), 0)])


def _confidence(content: Portfolio, styles: dict[str, ParagraphStyle], brand: Color) -> list[Flowable]:
    """How my confidence changed: the learner's ratings against the standards."""
    if not content.confidence:
        return []
    flow: list[Flowable] = [_p("How my confidence changed", styles["h1"]),
                            _p("My own rating against each of the course's standards when I started and when "
                               "I had finished, on a scale of 1 (not yet confident) to 5 (very confident).",
                               styles["meta"])]
    rows = [[_p("Standard", styles["label"]), _p("When I started", styles["label"]),
             _p("When I had finished", styles["label"]), _p("Change", styles["label"])]]
    for line in content.confidence:
        change = "" if line.change is None else f"+{line.change}" if line.change > 0 else str(line.change)
        rows.append([_p(line.standard, styles["value"]), _p(line.before or "not rated", styles["value"]),
                     _p(line.after or "not rated yet", styles["value"]), _p(change, styles["value"])])
    table = Table(rows, colWidths=[60 * mm, 42 * mm, 42 * mm, WIDTH - 144 * mm], repeatRows=1)
    table.setStyle(_ruled_table_style(brand))
    flow.append(table)
    return flow


def _link(url: str, style: ParagraphStyle) -> Paragraph:
    shown = escape(url)
    return Paragraph(f'<link href="{escape(url, {chr(34): "&quot;"})}">{shown}</link>', style)


def _workbook(part: WorkbookPart, styles: dict[str, ParagraphStyle], brand: Color) -> list[Flowable]:
    flow: list[Flowable] = [
        HRFlowable(width="100%", thickness=1.2, color=brand, spaceBefore=12, spaceAfter=2),
        _p(f"Workbook {part.position}: {part.title}", styles["h1"]),
        _p(part.status + (" · its Open Badge issued" if part.badge and not part.badge.revoked else ""),
           styles["meta"]),
    ]
    if not part.answers:
        flow.append(_p("Nothing written in this workbook yet.", styles["meta"]))
    for answer in part.answers:
        flow.extend(_answer(answer, styles))
    if part.feedback:
        heading = _p("Feedback from the course team" + (f" ({part.feedback_by})" if part.feedback_by else ""),
                     ParagraphStyle("fbh", parent=styles["h2"], textColor=brand))
        body = [_p(block.strip(), styles["feedback"]) for block in part.feedback.split("\n\n") if block.strip()]
        flow.append(heading)  # a heading keeps with what follows it (keepWithNext)
        flow.extend(body)
    return flow


def _answer(answer: Answer, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    head = [_p(answer.title, styles["h2"]), _p(answer.kind, styles["kind"])]
    flow: list[Flowable] = []
    fields: list[list[Paragraph]] = []

    def flush() -> None:
        if fields:
            table = Table(list(fields), colWidths=[62 * mm, WIDTH - 62 * mm])
            table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                       ("BOTTOMPADDING", (0, 0), (-1, -1), 3), ("TOPPADDING", (0, 0), (-1, -1), 1)]))
            flow.append(table)
            fields.clear()

    for line in answer.lines:
        if line[0] == "field":
            fields.append([_p(line[1], styles["label"]), _p(line[2], styles["value"])])
            continue
        flush()
        flow.append(_p(line[1], styles["body"] if line[0] == "text" else styles["meta"]))
    flush()
    return head + flow  # the headings never end a page alone (keepWithNext)
