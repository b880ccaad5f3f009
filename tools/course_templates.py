"""Write the four templates the mentoring course ships, each as an editable Word
file (.docx) and a PDF to print, into content/mentoring/ (issue 19).

    pip install -e '.[templates]'          # python-docx, for this tool only
    python tools/course_templates.py        # writes the eight files
    python tools/course_templates.py --check  # exit 1 if a committed file differs

The forms are described once (FORMS) and drawn twice, with ReportLab (already the
site's PDF library) and python-docx. The output is reproducible: ReportLab in its
invariant mode (no dates, fixed ids), the DOCX's dates fixed and its zip entries
stamped with one date, so that running the tool again changes no byte unless the
forms changed.
"""
from __future__ import annotations

import argparse
import io
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "content" / "mentoring"
COURSE = "Mentoring trainee and early-career teachers"
CREDIT = (f"From the free online course \u201c{COURSE}\u201d (shooc Mentoring Course Team). "
          "Copy and adapt it for your school.")
FIXED_DATE = (2026, 9, 1, 0, 0, 0)


@dataclass(frozen=True)
class Fields:
    """Short details, two to a row: label, then a space to write."""
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Box:
    """A heading and a space to write in (``lines`` lines)."""
    heading: str
    hint: str
    lines: int


@dataclass(frozen=True)
class Table:
    heading: str
    hint: str
    columns: tuple[str, ...]
    widths: tuple[float, ...]  # fractions of the width
    rows: int
    first_column: tuple[str, ...] = ()  # printed row labels, if any


@dataclass(frozen=True)
class Signatures:
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Form:
    filename: str  # without extension
    title: str
    purpose: str
    parts: tuple[Fields | Box | Table | Signatures, ...]


FORMS = (
    Form("mentoring-agreement", "Mentoring agreement",
         "Agree at your first meeting how you will work together, and review it each term. Both keep a copy.",
         (Fields(("Mentor", "Trainee or ECT", "School", "Provider or appropriate body", "Induction tutor or lead mentor",
                  "Agreement starts")),
          Box("What the mentoring is for", "The programme (ITT placement, ECF induction year 1 or 2) and what the "
              "trainee or ECT most wants from it.", 3),
          Table("How we will meet", "", ("Arrangement", "What we agree"), (0.35, 0.65), 5,
                ("Day and time of the weekly meeting", "Where we meet", "How long it lasts",
                 "If a meeting has to move", "How to reach each other between meetings")),
          Table("What we each commit to", "For example: coming prepared, acting on agreed steps, honest feedback.",
                ("The mentor will\u2026", "The trainee or ECT will\u2026"), (0.5, 0.5), 4),
          Box("Confidentiality and its limits", "What stays between us; what the mentor must pass on (safeguarding "
              "concerns always go to the DSL; serious concerns about progress go to the induction tutor or "
              "provider) and how the trainee or ECT will be told first.", 4),
          Box("How we record our work", "Weekly meeting records, observation records and the goal-review log: "
              "where they are kept and who may read them (UK GDPR: only what is needed, kept securely).", 2),
          Fields(("First review of this agreement", "Reviewed on")),
          Signatures(("Mentor", "Trainee or ECT")))),
    Form("observation-record", "Observation record",
         "A record of what was seen against one agreed focus: evidence, not a grade. Talk it through within two "
         "working days.",
         (Fields(("Teacher observed", "Observer", "Date and time", "Class or year group", "Subject or topic",
                  "Number of pupils")),
          Box("Agreed focus of the observation", "One or two aspects agreed beforehand, linked to the Teachers' "
              "Standards or the ITTECF (e.g. checking understanding with hinge questions).", 2),
          Table("What was seen", "Note what the teacher and the pupils did, as facts: what was said, done, written.",
                ("Time", "What the teacher did", "What the pupils did (evidence of learning)"), (0.12, 0.44, 0.44), 8),
          Box("What went well", "Strengths seen against the focus, with the evidence.", 3),
          Box("One area to develop", "The most useful next step, with the evidence that points to it.", 3),
          Table("Agreed next steps", "", ("Action", "Support", "By when"), (0.5, 0.3, 0.2), 3),
          Box("The teacher's reflection", "Written by the teacher after the conversation.", 3),
          Signatures(("Observer", "Teacher observed")))),
    Form("weekly-meeting-record", "Weekly meeting record",
         "Fill it in together at the end of each weekly meeting; start the next meeting from its actions.",
         (Fields(("Mentor", "Trainee or ECT", "Date", "Week of the placement or induction")),
          Table("Actions from last time", "", ("Action", "Done?", "What happened"), (0.45, 0.12, 0.43), 3),
          Box("This week's focus", "The area of the ITTECF or the Teachers' Standards discussed, and why now.", 2),
          Box("What we discussed", "Evidence looked at (planning, pupils' work, an observation), questions, "
              "what the trainee or ECT noticed.", 5),
          Table("Actions for next week", "Small, specific steps: deliberate practice of one technique beats a long list.",
                ("Action", "Support needed", "Review on"), (0.5, 0.3, 0.2), 3),
          Box("Workload and wellbeing", "How the week has gone; anything to raise with the induction tutor.", 2),
          Fields(("Next meeting", "Record kept by")),
          Signatures(("Mentor", "Trainee or ECT")))),
    Form("goal-review-log", "Goal-review log",
         "One page per goal: set it as a SMART goal, then log each review until it is met.",
         (Fields(("Trainee or ECT", "Mentor", "Goal set on", "Target date")),
          Table("The goal", "", ("", "What we agree"), (0.25, 0.75), 6,
                ("Specific", "Measurable", "Achievable", "Relevant", "Time-bound", "Standard it develops")),
          Table("Reviews", "At each review: what has changed, the evidence, and the next step. Status: not started, "
                "under way or met.", ("Date", "Progress and evidence", "Next step", "Status"),
                (0.13, 0.45, 0.29, 0.13), 5),
          Box("Final review", "Was the goal met? What made the difference? What comes next?", 2),
          Signatures(("Mentor", "Trainee or ECT")))),
)


# PDF -------------------------------------------------------------------------------

def pdf(form: Form) -> bytes:
    from reportlab import rl_config
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer
    from reportlab.platypus import Table as RLTable
    from reportlab.platypus import TableStyle

    rl_config.invariant = 1  # no dates or random ids: the same bytes every time
    styles = getSampleStyleSheet()
    title = ParagraphStyle("title", parent=styles["Title"], fontSize=20, leading=24, alignment=0, spaceAfter=4)
    course = ParagraphStyle("course", parent=styles["Normal"], fontSize=9, textColor=colors.HexColor("#4a5568"))
    body = ParagraphStyle("body", parent=styles["Normal"], fontSize=10, leading=13)
    heading = ParagraphStyle("heading", parent=styles["Heading2"], fontSize=12, leading=15, spaceBefore=8,
                             spaceAfter=3, textColor=colors.HexColor("#1a365d"))
    hint = ParagraphStyle("hint", parent=body, fontSize=8.5, leading=11, textColor=colors.HexColor("#4a5568"))
    cell = ParagraphStyle("cell", parent=body, fontSize=9, leading=11)
    head_cell = ParagraphStyle("head", parent=cell, fontName="Helvetica-Bold")
    width = A4[0] - 36 * mm
    line = colors.HexColor("#718096")
    shade = colors.HexColor("#edf2f7")
    row_height = 9 * mm

    story = [Paragraph(COURSE, course), Paragraph(form.title, title), Paragraph(form.purpose, body), Spacer(1, 4)]
    for part in form.parts:
        if isinstance(part, Fields):
            rows, labels = [], list(part.labels)
            for i in range(0, len(labels), 2):
                pair = labels[i:i + 2] + [""] * (2 - len(labels[i:i + 2]))
                rows.append([Paragraph(pair[0], head_cell), "", Paragraph(pair[1], head_cell), ""])
            table = RLTable(rows, colWidths=[width * f for f in (0.2, 0.3, 0.2, 0.3)], rowHeights=row_height)
            table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, line), ("BACKGROUND", (0, 0), (0, -1), shade),
                                       ("BACKGROUND", (2, 0), (2, -1), shade), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
            story += [Spacer(1, 6), table]
        elif isinstance(part, Box):
            box = RLTable([[""]], colWidths=[width], rowHeights=part.lines * 7 * mm)
            box.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.5, line)]))
            story.append(KeepTogether([Paragraph(part.heading, heading), Paragraph(part.hint, hint),
                                       Spacer(1, 3), box]))
        elif isinstance(part, Table):
            rows = [[Paragraph(c, head_cell) for c in part.columns]]
            for r in range(part.rows):
                label = part.first_column[r] if r < len(part.first_column) else ""
                rows.append([Paragraph(label, cell)] + [""] * (len(part.columns) - 1))
            table = RLTable(rows, colWidths=[width * f for f in part.widths],
                            rowHeights=[None] + [row_height * (1.0 if part.first_column else 1.6)] * part.rows,
                            repeatRows=1)
            table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, line), ("BACKGROUND", (0, 0), (-1, 0), shade),
                                       ("VALIGN", (0, 0), (-1, -1), "TOP")]
                                      + ([("BACKGROUND", (0, 1), (0, -1), shade)] if part.first_column else [])))
            parts = [Paragraph(part.heading, heading)] + ([Paragraph(part.hint, hint)] if part.hint else [])
            story.append(KeepTogether(parts + [Spacer(1, 3), table]))
        else:
            rows = [[Paragraph(f"{role}: signed", head_cell), "", Paragraph("Date", head_cell), ""]
                    for role in part.roles]
            table = RLTable(rows, colWidths=[width * f for f in (0.25, 0.4, 0.1, 0.25)], rowHeights=11 * mm)
            table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, line), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                                       ("BACKGROUND", (0, 0), (0, -1), shade), ("BACKGROUND", (2, 0), (2, -1), shade)]))
            story += [Spacer(1, 10), KeepTogether([table])]

    def footer(canvas, doc) -> None:  # type: ignore[no-untyped-def]
        canvas.saveState()
        canvas.setFont("Helvetica", 7.5)
        canvas.setFillColor(colors.HexColor("#4a5568"))
        canvas.drawString(18 * mm, 11 * mm, CREDIT)
        canvas.drawString(18 * mm, 7.5 * mm, f"{form.title}, page {doc.page}")
        canvas.restoreState()

    out = io.BytesIO()
    document = SimpleDocTemplate(out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                                 bottomMargin=18 * mm, title=f"{form.title} \u2013 {COURSE}",
                                 author="shooc Mentoring Course Team", subject=form.purpose, lang="en-GB")
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


# DOCX ------------------------------------------------------------------------------

def docx(form: Form) -> bytes:
    import datetime as dt

    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt, RGBColor

    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)  # A4
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(1.8))
    section.top_margin, section.bottom_margin = Cm(1.6), Cm(1.8)
    width = Cm(21.0 - 3.6)
    normal = document.styles["Normal"]
    normal.font.name, normal.font.size = "Arial", Pt(10)
    properties = document.core_properties
    properties.title, properties.author = f"{form.title} \u2013 {COURSE}", "shooc Mentoring Course Team"
    properties.subject, properties.language = form.purpose, "en-GB"
    properties.created = properties.modified = dt.datetime(*FIXED_DATE)
    properties.last_modified_by, properties.revision = "shooc", 1

    def shade(cell) -> None:  # type: ignore[no-untyped-def]
        fill = OxmlElement("w:shd")
        fill.set(qn("w:val"), "clear")
        fill.set(qn("w:fill"), "EDF2F7")
        cell._tc.get_or_add_tcPr().append(fill)

    def row_height(row, cm: float) -> None:  # type: ignore[no-untyped-def]
        row.height = Cm(cm)

    def grid(rows: int, widths: list[float]):  # type: ignore[no-untyped-def]
        table = document.add_table(rows=rows, cols=len(widths))
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.LEFT
        for row in table.rows:
            for cell, fraction in zip(row.cells, widths):
                cell.width = int(width * fraction)
        return table

    def bold(cell, text: str) -> None:  # type: ignore[no-untyped-def]
        cell.text = ""
        run = cell.paragraphs[0].add_run(text)
        run.bold = True

    def hint(text: str) -> None:
        run = document.add_paragraph().add_run(text)
        run.font.size, run.font.color.rgb = Pt(8.5), RGBColor(0x4A, 0x55, 0x68)

    course = document.add_paragraph().add_run(COURSE)
    course.font.size, course.font.color.rgb = Pt(9), RGBColor(0x4A, 0x55, 0x68)
    document.add_heading(form.title, level=0)
    document.add_paragraph(form.purpose)
    for part in form.parts:
        if isinstance(part, Fields):
            labels = list(part.labels)
            table = grid((len(labels) + 1) // 2, [0.2, 0.3, 0.2, 0.3])
            for i, label in enumerate(labels):
                cell = table.rows[i // 2].cells[(i % 2) * 2]
                bold(cell, label)
                shade(cell)
            for row in table.rows:
                row_height(row, 0.9)
            document.add_paragraph()
        elif isinstance(part, Box):
            document.add_heading(part.heading, level=2)
            hint(part.hint)
            table = grid(1, [1.0])
            row_height(table.rows[0], part.lines * 0.7)
        elif isinstance(part, Table):
            document.add_heading(part.heading, level=2)
            if part.hint:
                hint(part.hint)
            table = grid(part.rows + 1, list(part.widths))
            for cell, column in zip(table.rows[0].cells, part.columns):
                bold(cell, column)
                shade(cell)
            for r, row in enumerate(table.rows[1:]):
                row_height(row, 0.9 if part.first_column else 1.45)
                if r < len(part.first_column):
                    row.cells[0].text = part.first_column[r]
                    shade(row.cells[0])
        else:
            document.add_paragraph()
            table = grid(len(part.roles), [0.25, 0.4, 0.1, 0.25])
            for row, role in zip(table.rows, part.roles):
                bold(row.cells[0], f"{role}: signed")
                bold(row.cells[2], "Date")
                shade(row.cells[0])
                shade(row.cells[2])
                row_height(row, 1.1)
    footer = section.footer.paragraphs[0]
    run = footer.add_run(CREDIT)
    run.font.size, run.font.color.rgb = Pt(7.5), RGBColor(0x4A, 0x55, 0x68)

    out = io.BytesIO()
    document.save(out)
    return _stamped(out.getvalue())


def _stamped(data: bytes) -> bytes:
    """The zip again, every entry dated FIXED_DATE, in the same order: reproducible."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, source.read(info.filename))
    return out.getvalue()


def files() -> dict[str, bytes]:
    made = {}
    for form in FORMS:
        made[f"{form.filename}.pdf"] = pdf(form)
        made[f"{form.filename}.docx"] = docx(form)
    return made


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a committed file differs from what is made")
    args = parser.parse_args()
    differ = []
    for name, data in files().items():
        path = FOLDER / name
        if args.check:
            if not path.is_file() or path.read_bytes() != data:
                differ.append(name)
        else:
            path.write_bytes(data)
            print(f"wrote {path.relative_to(ROOT)} ({len(data) // 1024} kB)")
    if differ:
        print("differs from what tools/course_templates.py makes: " + ", ".join(differ), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
