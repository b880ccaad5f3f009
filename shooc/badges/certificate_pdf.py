"""The certificate as a PDF (ReportLab): A4 landscape, fonts embedded from Python
packages so that any Latin, Greek or Cyrillic name prints, and a QR code of the
verification URL."""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import font_source_sans_pro
import font_source_serif_pro
from reportlab import rl_config
from reportlab.graphics.barcode import qrencoder
from reportlab.lib.colors import HexColor, white
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from shooc.badges.images import PALETTE

INK = HexColor("#1d2433")
MUTED = HexColor("#5b6475")
ACCENT = HexColor("#174a6c")
GOLD = HexColor("#b08d3c")
# Page streams compressed, not also ASCII85-encoded: ReportLab does that in pure
# Python (about 1 ms a certificate) for 7-bit-clean files that nobody needs. A
# process-wide setting: nothing else in shooc writes PDFs.
rl_config.useA85 = 0
SERIF_FILES = Path(font_source_serif_pro.__file__).parent / "files"
SANS_FILES = Path(font_source_sans_pro.__file__).parent / "files"


@cache
def _register_fonts() -> None:
    for name, path in (("Serif", SERIF_FILES / "SourceSerifPro-Regular.ttf"),
                       ("Serif-Semibold", SERIF_FILES / "SourceSerifPro-Semibold.ttf"),
                       ("Sans", SANS_FILES / "SourceSansPro-Regular.ttf"),
                       ("Sans-Semibold", SANS_FILES / "SourceSansPro-Semibold.ttf")):
        pdfmetrics.registerFont(TTFont(name, str(path)))


@dataclass(frozen=True)
class CertificateContent:
    holder: str
    course_title: str
    run_name: str
    completed_on: dt.date
    title: str  # e.g. "Certificate of completion"
    text: str  # e.g. "has completed all five workbooks of ..."
    signatory: str
    issuer_name: str
    workbooks: tuple[tuple[int, str, str], ...]  # (position, title, badge name)
    code: str  # as people read it: XXXX-XXXX-XXXX
    url: str
    revoked_reason: str | None = None
    signatory_role: str = ""  # under the signatory's name (course.md certificate.signatory.role)
    hours: float | None = None  # study hours for CPD records (course.md hours)


def badge_suffix(title: str, badge: str) -> str:
    """What a badge's name adds to its workbook's title: nothing when it repeats it
    ("Mentoring 3: Observation and feedback" after "Observation and feedback")."""
    return "" if title.casefold() in badge.casefold() else badge


def hours_text(hours: float | None) -> str:
    """15 -> "15 hours of study", 7.5 -> "7.5 hours of study"."""
    if not hours:
        return ""
    shown = f"{hours:g}"
    return f"{shown} hour{'' if shown == '1' else 's'} of study"


# The mask every certificate's QR code uses. ReportLab's encoder otherwise builds the
# code nine times to score all eight masks, in pure Python: 8 of the 9 ms the code
# costs, a third of a certificate. Any mask gives a valid code (a reader finds it in
# the code's format bits); the scoring only steers clear of patterns that can trouble
# poor scanners, and tests/test_badges.py decodes certificates' codes to prove this one reads.
QR_MASK = 0


def _draw_qr(pdf: Canvas, text: str, x: float, y: float, size: float) -> None:
    """A QR code drawn straight onto the page: encoded once (ReportLab's own
    encoder) with one fixed mask, each row's dark runs as one rectangle of a single
    path. ReportLab's QR widget encodes twice and draws every module."""
    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData(text)
    code.version = code.calculate_version()
    code.makeImpl(False, QR_MASK)
    count = code.getModuleCount()
    quiet = 2  # modules of white margin (the page around it is white too)
    cell = size / (count + 2 * quiet)
    path = pdf.beginPath()
    for row in range(count):
        column = 0
        while column < count:
            if code.isDark(row, column):
                start = column
                while column < count and code.isDark(row, column):
                    column += 1
                path.rect(x + (quiet + start) * cell, y + size - (quiet + row + 1) * cell,
                          (column - start) * cell, cell)
            else:
                column += 1
    pdf.setFillColor(INK)
    pdf.drawPath(path, stroke=0, fill=1)


def render(content: CertificateContent) -> bytes:
    """The certificate as a one-page landscape A4 PDF."""
    _register_fonts()
    width, height = landscape(A4)
    out = io.BytesIO()
    pdf = Canvas(out, pagesize=(width, height), pageCompression=1)
    pdf.setTitle(f"{content.title}: {content.holder}")
    pdf.setAuthor(content.issuer_name)
    pdf.setSubject(content.course_title)
    _draw_frame(pdf, width, height)
    y = _draw_heading_and_holder(pdf, content, width, height)
    _draw_text(pdf, content, width, y)
    _draw_workbooks(pdf, content.workbooks)
    _draw_signatory(pdf, content.signatory, content.signatory_role, content.issuer_name)
    _draw_verification(pdf, content, width)
    if content.revoked_reason:
        _draw_revoked(pdf, width, height)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def _draw_frame(pdf: Canvas, width: float, height: float) -> None:
    """A wide band of the accent colour, then a thin gold rule inside it."""
    pdf.setFillColor(ACCENT)
    pdf.rect(0, 0, width, height, stroke=0, fill=1)
    pdf.setFillColor(white)
    pdf.rect(22, 22, width - 44, height - 44, stroke=0, fill=1)
    pdf.setStrokeColor(GOLD)
    pdf.setLineWidth(1.2)
    pdf.rect(34, 34, width - 68, height - 68, stroke=1, fill=0)
    pdf.setLineWidth(0.5)
    pdf.rect(38, 38, width - 76, height - 76, stroke=1, fill=0)


def _draw_heading_and_holder(pdf: Canvas, content: CertificateContent, width: float, height: float) -> float:
    """Issuer, title and the holder's name (as large as fits); returns where the text starts."""
    centre = width / 2
    pdf.setFillColor(MUTED)
    pdf.setFont("Sans-Semibold", 11)
    pdf.drawCentredString(centre, height - 78, content.issuer_name.upper())
    pdf.setFillColor(ACCENT)
    pdf.setFont("Serif-Semibold", 34)
    pdf.drawCentredString(centre, height - 124, content.title)
    pdf.setFillColor(MUTED)
    pdf.setFont("Serif", 14)
    pdf.drawCentredString(centre, height - 158, "This is to certify that")
    size = 36.0
    while size > 16 and pdfmetrics.stringWidth(content.holder, "Serif-Semibold", size) > width - 200:
        size -= 1
    pdf.setFillColor(INK)
    pdf.setFont("Serif-Semibold", size)
    pdf.drawCentredString(centre, height - 205, content.holder)
    pdf.setStrokeColor(GOLD)
    pdf.setLineWidth(0.8)
    pdf.line(centre - 210, height - 217, centre + 210, height - 217)
    return height - 244


def _draw_text(pdf: Canvas, content: CertificateContent, width: float, y: float) -> None:
    """What the holder did, wrapped, then the run and the date."""
    centre = width / 2
    pdf.setFillColor(INK)
    pdf.setFont("Serif", 14)
    for line in simpleSplit(content.text, "Serif", 14, width - 240):
        pdf.drawCentredString(centre, y, line)
        y -= 19
    pdf.setFillColor(MUTED)
    pdf.setFont("Sans", 11.5)
    facts = [content.run_name, f"completed {content.completed_on:%-d %B %Y}", hours_text(content.hours)]
    pdf.drawCentredString(centre, y - 4, " · ".join(fact for fact in facts if fact))


def _draw_workbooks(pdf: Canvas, workbooks: tuple[tuple[int, str, str], ...]) -> None:
    """The workbooks and their badges, each with its badge colour."""
    top = 215
    pdf.setFont("Sans-Semibold", 10.5)
    pdf.setFillColor(ACCENT)
    pdf.drawString(80, top, "WORKBOOKS COMPLETED, EACH WITH ITS OPEN BADGE")
    y = top - 22
    for position, title, badge in workbooks:
        light, dark = PALETTE[(position - 1) % len(PALETTE)]
        pdf.setFillColor(HexColor(light))
        pdf.circle(89, y + 3.5, 8, stroke=0, fill=1)
        pdf.setFillColor(white)
        pdf.setFont("Sans-Semibold", 9.5)
        pdf.drawCentredString(89, y + 0.3, str(position))
        pdf.setFillColor(INK)
        pdf.setFont("Sans-Semibold", 10.5)
        pdf.drawString(104, y, title)
        suffix = badge_suffix(title, badge)
        if suffix:
            pdf.setFillColor(MUTED)
            pdf.setFont("Sans", 9.5)
            pdf.drawString(104 + pdfmetrics.stringWidth(title, "Sans-Semibold", 10.5) + 6, y, f"· {suffix}")
        y -= 21


def _draw_signatory(pdf: Canvas, name: str, role: str, institution: str) -> None:
    """The signature line, the signatory's name and role, and the issuing institution."""
    pdf.setStrokeColor(INK)
    pdf.setLineWidth(0.6)
    pdf.line(80, 88, 330, 88)
    pdf.setFillColor(INK)
    pdf.setFont("Sans-Semibold", 10.5)
    pdf.drawString(80, 75, name)
    pdf.setFillColor(MUTED)
    pdf.setFont("Sans", 9.5)
    lines = [line for line in (role, institution if institution != name else "") if line]
    for n, line in enumerate(lines[:2]):
        pdf.drawString(80, 63 - 11.5 * n, line[:90])


def _draw_verification(pdf: Canvas, content: CertificateContent, width: float) -> None:
    """The QR code, the code and the address where anyone can check the certificate."""
    qr_size = 104
    _draw_qr(pdf, content.url, width - 80 - qr_size, 92, qr_size)
    pdf.setFillColor(MUTED)
    pdf.setFont("Sans", 9)
    pdf.drawRightString(width - 80, 80, "Check this certificate at")
    pdf.setFillColor(ACCENT)
    pdf.drawRightString(width - 80, 68, content.url)
    pdf.setFillColor(INK)
    pdf.setFont("Sans-Semibold", 10.5)
    pdf.drawRightString(width - 80, 52, f"Code {content.code}")
    pdf.linkURL(content.url, (width - 80 - qr_size, 92, width - 80, 92 + qr_size), relative=0)


def _draw_revoked(pdf: Canvas, width: float, height: float) -> None:
    pdf.saveState()
    pdf.setFillColor(HexColor("#b42318"))
    pdf.setFillAlpha(0.18)
    pdf.translate(width / 2, height / 2)
    pdf.rotate(24)
    pdf.setFont("Sans-Semibold", 120)
    pdf.drawCentredString(0, -40, "REVOKED")
    pdf.restoreState()
