"""Files a course ships (issue 19): templates linked from the Markdown, checked by
`shooc content validate` with file:line, published with the version, downloaded."""
from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from conftest import MENTORING
from shooc.workbooks.loader import MAX_COURSE_FILE_BYTES, load_course
from shooc.workbooks.publish import find_course

TEMPLATES = ("mentoring-agreement", "observation-record", "weekly-meeting-record", "goal-review-log")
WORKBOOK = "01-the-mentors-role.md"


def small_course(tmp_path: Path, link: str, files: dict[str, bytes]) -> tuple[Path, int]:
    """The shipped course's course.md and first workbook, the workbook linking ``link``
    on a line of its own; returns the folder and that line's number."""
    folder = tmp_path / "shipped"
    folder.mkdir()
    shipped = [f"{t}{suffix}" for t in TEMPLATES for suffix in (".docx", ".pdf")]  # course.md links them
    for name in ("course.md", "course.png", WORKBOOK, *shipped):
        shutil.copy(MENTORING / name, folder / name)
    text = (folder / WORKBOOK).read_text()
    head, _, rest = text.partition("\n## ")
    (folder / WORKBOOK).write_text(f"{head}\nDownload the [agreement form]({link}) before you start.\n\n## {rest}")
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder, head.count("\n") + 2


def _entry(name: str) -> zipfile.ZipInfo:
    # a fixed time: writestr(name) stamps the clock's, so the same file made a second
    # later had other bytes (the "same bytes" test failed when the second turned)
    return zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))


def docx_bytes(content_types: bytes = b'<Types><Override ContentType="application/vnd.openxmlformats-'
                                      b'officedocument.wordprocessingml.document.main+xml"/></Types>') -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(_entry("[Content_Types].xml"), content_types)
        archive.writestr(_entry("word/document.xml"), "<w:document/>")
    return out.getvalue()


def odt_bytes(mimetype: str = "application/vnd.oasis.opendocument.text") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(_entry("mimetype"), mimetype)
        archive.writestr(_entry("content.xml"), "<office:document-content/>")
    return out.getvalue()


@pytest.mark.parametrize("link, files, message", [
    ("agreement.docx", {}, "the file 'agreement.docx' is not in the course folder"),
    ("agreement.docx", {"agreement.docx": b"just some text, saved as .docx"}, "is not a Word (DOCX) file"),
    ("agreement.docx", {"agreement.docx": docx_bytes(b"<Types/>")}, "is not a Word (DOCX) file"),
    ("agreement.odt", {"agreement.odt": odt_bytes("application/zip")}, "is not a OpenDocument text (ODT) file"),
    ("agreement.pdf", {"agreement.pdf": b"<html>not a PDF</html>"}, "is not a PDF file"),
    ("setup.exe", {"setup.exe": b"MZ\x90\x00"}, "a course can ship only PDF, Word (DOCX), OpenDocument text (ODT)"),
    ("forms/agreement.pdf", {}, "course folders have no subfolders"),
    ("agreement.pdf", {"agreement.pdf": b"%PDF-1.4\n" + b"0" * MAX_COURSE_FILE_BYTES},
     "more than the 5 MB a course file may be"),
])
def test_a_bad_course_file_is_a_problem_at_its_link_and_nothing_is_published(
        tmp_path: Path, runner, db: Session, link: str, files: dict[str, bytes], message: str) -> None:
    folder, line = small_course(tmp_path, link, files)
    result = load_course(folder)
    assert not result.ok
    assert [str(p) for p in result.problems if message in p.message] == [
        p for p in map(str, result.problems) if p.startswith(f"{folder}/{WORKBOOK}:{line}: link '{link}'")]
    assert len(result.problems) == 1 and message in str(result.problems[0])
    validate = runner.invoke(args=["content", "validate", str(folder)])
    assert validate.exit_code == 1 and f"{WORKBOOK}:{line}: link '{link}'" in validate.output
    publish = runner.invoke(args=["content", "publish", str(folder)])
    assert publish.exit_code == 1 and find_course(db, "shipped") is None


def test_a_good_file_is_published_linked_and_downloaded_with_its_headers(tmp_path: Path, runner, client,
                                                                          db: Session, make_user, auth) -> None:
    pdf = (MENTORING / "mentoring-agreement.pdf").read_bytes()
    folder, _line = small_course(tmp_path, "./agreement.pdf", {"agreement.pdf": pdf, "unlinked.docx": docx_bytes(),
                                                               "agreement.odt": odt_bytes()})
    assert load_course(folder).ok
    assert runner.invoke(args=["content", "publish", str(folder)]).exit_code == 0
    url = "/courses/shipped/files/agreement.pdf"
    auth.login(make_user("leader"))
    page = client.get("/courses/shipped/workbooks/the-mentors-role").get_data(as_text=True)
    assert f'<a href="{url}" rel="noopener noreferrer">agreement form</a>' in page
    auth.logout()
    download = client.get(url)  # public, as the course page is
    assert download.status_code == 200 and download.data == pdf
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"] == 'attachment; filename="agreement.pdf"'
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Cache-Control"] == "public, max-age=300"
    assert client.get(url, headers={"If-None-Match": download.headers["ETag"]}).status_code == 304
    # a file linked nowhere is not published; nor is any other name
    assert client.get("/courses/shipped/files/unlinked.docx").status_code == 404
    assert client.get("/courses/shipped/files/course.md").status_code == 404
    assert client.get("/courses/nothing/files/agreement.pdf").status_code == 404


def test_a_changed_file_is_a_new_version(tmp_path: Path, publish, client) -> None:
    folder, _line = small_course(tmp_path, "agreement.docx", {"agreement.docx": docx_bytes()})
    publish(folder)
    (folder / "agreement.docx").write_bytes(docx_bytes() + b"")
    assert not publish(folder).published  # the same bytes: nothing new
    changed = docx_bytes(b'<Types><Override ContentType="application/vnd.openxmlformats-officedocument.'
                         b'wordprocessingml.document.main+xml"/><!-- v2 --></Types>')
    (folder / "agreement.docx").write_bytes(changed)
    result = publish(folder)
    assert result.published and [c.filename for c in result.diff.workbooks_changed] == [WORKBOOK]
    download = client.get("/courses/shipped/files/agreement.docx")
    assert download.data == changed
    assert download.headers["Content-Type"] == ("application/vnd.openxmlformats-officedocument."
                                                "wordprocessingml.document")


@pytest.mark.parametrize("name", TEMPLATES)
def test_the_course_ships_each_template_as_docx_and_pdf(name: str) -> None:
    from shooc.workbooks.loader import _looks_like

    for suffix in (".docx", ".pdf"):
        data = (MENTORING / f"{name}{suffix}").read_bytes()
        assert _looks_like(suffix, data) and len(data) < MAX_COURSE_FILE_BYTES
    text = zipfile.ZipFile(MENTORING / f"{name}.docx").read("word/document.xml").decode()
    assert "Mentoring trainee and early-career teachers" in text
    footer = zipfile.ZipFile(MENTORING / f"{name}.docx").read("word/footer1.xml").decode()
    assert "From the free online course" in footer
