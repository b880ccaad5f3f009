"""Uploads limited in size and type, and nothing written outside its folder: the
413 page for anything larger than SHOOC_MAX_UPLOAD_BYTES (records CSV, course zip, a
long text), the longest text a form accepts still accepted, a zip that lies about its
sizes, images that are not what they say. (The zip path tricks, symbolic links and
zip bombs are in test_web_publish.py: test_a_dangerous_or_broken_zip_is_refused...)"""
from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bad_input import changed_tables, database_fingerprint
from conftest import MENTORING, csrf_token
from shooc.lead.communications import TRANSCRIPT_MAX
from shooc.workbooks.models import ContentUpload
from shooc.lead.models import Recording
from shooc.workbooks import staging
from shooc.workbooks.loader import load_course


@pytest.fixture
def leader(client, auth, make_user, make_run):  # type: ignore[no-untyped-def]
    make_run(slug="spring")
    user = make_user("leader")
    auth.login(user)
    return user


@pytest.mark.parametrize("url, field, filename", [
    ("/lead/runs/spring/import", "file", "records.csv"),
    ("/lead/publish/upload", "archive", "mentoring.zip"),
])
def test_a_file_over_the_limit_gets_the_413_page_and_nothing_is_written(
        app, client, leader, db: Session, monkeypatch, url: str, field: str, filename: str) -> None:
    token = csrf_token(client, url.rsplit("/", 1)[0] if url.endswith("upload") else url)
    before = database_fingerprint(db)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 100_000)
    response = client.post(url, content_type="multipart/form-data", data={
        "csrf_token": token, field: (io.BytesIO(b"email,name\n" * 20_000), filename)})
    assert response.status_code == 413
    body = response.get_data(as_text=True)
    assert "larger than this site accepts (0.0954 MB). Nothing was saved" in body
    assert "Traceback" not in body
    assert changed_tables(before, database_fingerprint(db)) == set()


def test_a_text_over_the_limit_gets_the_413_page_and_the_draft_survives(
        app, client, auth, db: Session, make_user, make_run, monkeypatch) -> None:
    from shooc.enrolment.services import enrol

    run = make_run()
    learner = make_user("learner")
    enrol(db, run, learner.id)
    db.commit()
    auth.login(learner)
    url = "/courses/mentoring/workbooks/the-mentors-role"
    token = csrf_token(client, url)
    assert client.post(url, data={"csrf_token": token, "a.roles-warm-up.text": "My draft"}).status_code == 302
    before = database_fingerprint(db)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 100_000)
    response = client.post(url, data={"csrf_token": token, "a.roles-warm-up.text": "x" * 200_000,
                                      "action": "submit"})
    assert response.status_code == 413
    assert changed_tables(before, database_fingerprint(db)) == set()
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 16 * 1024 * 1024)
    assert "My draft" in client.get(url).get_data(as_text=True)


def test_the_longest_transcript_in_any_script_is_accepted_not_413(client, leader, db: Session) -> None:
    """The longest text any form takes (a 200,000-character transcript), in a script of
    three bytes a character: 1.8 MB as a browser sends it, under the upload limit. (Werkzeug's
    500 kB MAX_FORM_MEMORY_SIZE is for multipart forms' text fields only: the import and
    the upload, whose only text is the CSRF token.)"""
    url = "/lead/courses/mentoring/recordings"
    fields = {"csrf_token": csrf_token(client, url), "workbook": "the-mentors-role", "title": "Webinar",
              "url": "https://video.example.org/1", "transcript": "中" * TRANSCRIPT_MAX}
    response = client.post(url, data=fields)
    assert response.status_code == 302, response.status_code
    assert db.scalar(select(func.count()).select_from(Recording)) == 1


def _lying_zip(declared: int, real: bytes) -> bytes:
    """A course zip whose extra entry says it unpacks to ``declared`` bytes but holds ``real``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(MENTORING.iterdir()):
            archive.write(file, f"mentoring/{file.name}")
        archive.writestr("mentoring/notes.txt", real)
    data = bytearray(buffer.getvalue())
    name = b"mentoring/notes.txt"
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local header, central directory
        at = data.index(signature)
        while data[at + (30 if signature == b"PK\x03\x04" else 46):][:len(name)] != name:
            at = data.index(signature, at + 4)
        data[at + size_at:at + size_at + 4] = declared.to_bytes(4, "little")
    return bytes(data)


def test_a_zip_that_lies_about_its_sizes_writes_no_more_than_it_declares(db: Session) -> None:
    data = _lying_zip(10, b"\0" * 5_000_000)  # "10 bytes", 5 MB inside
    upload = staging.stage_upload(db, "mentoring.zip", data, None)  # the sizes declared are small
    with pytest.raises(staging.StagingError, match="notes.txt"):
        with staging.extracted(upload) as folder:
            pytest.fail(f"unpacked into {folder}")
    leftovers = list(Path(tempfile.gettempdir()).glob("shooc-upload-*"))
    assert leftovers == []  # the temporary folder is gone, with the 10 bytes it held


@pytest.mark.parametrize("name, data, message", [
    ("images/diagram.svg", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
     "image 'images/diagram.svg': use a PNG, JPEG, GIF or WebP file"),
    ("images/page.png", b"<html><script>alert(1)</script></html>", "image 'images/page.png' is not a PNG file"),
    ("images/big.png", b"\x89PNG\r\n\x1a\n" + b"\0" * (2 * 1024 * 1024), "image 'images/big.png' is larger than 2 MB"),
])
def test_images_are_only_real_pngs_jpegs_gifs_and_webps_of_a_modest_size(course_copy: Path, name: str,
                                                                         data: bytes, message: str) -> None:
    (course_copy / "images").mkdir(exist_ok=True)
    (course_copy / name).write_bytes(data)
    course = course_copy / "course.md"
    course.write_text(course.read_text() + f"\n![a picture]({name})\n")
    assert [p.message for p in load_course(course_copy).problems] == [message]


def test_staged_uploads_are_kept_in_the_database_not_on_disk(client, leader, db: Session, tmp_path: Path,
                                                             monkeypatch) -> None:
    """What a leader uploads is never written into the instance or content folders."""
    # a temporary folder of this test's own: other xdist workers make theirs in /tmp meanwhile
    own_tmp = tmp_path / "tmp"
    own_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(own_tmp))
    before = {p for p in Path(tempfile.gettempdir()).iterdir()}
    data = staging.zip_folder(MENTORING)
    response = client.post("/lead/publish/upload", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, "/lead/publish"), "archive": (io.BytesIO(data), "../../evil.zip")})
    assert response.status_code == 302
    upload = db.scalar(select(ContentUpload))
    assert upload.data == data and upload.filename == "../../evil.zip" and upload.course_slug == "mentoring"
    client.get(response.headers["Location"])  # reviewing it unpacks it into a temporary folder, then removes it
    assert {p for p in Path(tempfile.gettempdir()).iterdir()} - before == set()
