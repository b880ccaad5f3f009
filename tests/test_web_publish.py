"""Publishing from the web (/lead/publish): stage a zip or a server folder, see its
problems or its diff and previews, publish or discard; and the zips that are refused."""
from __future__ import annotations

import io
import re
import stat
import tempfile
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from conftest import MENTORING, TODAY, csrf_token
from shooc.enrolment.services import enrol
from shooc.audit import AuditEntry
from shooc.workbooks.models import ContentUpload
from shooc.workbooks import staging
from shooc.workbooks.loader import load_course
from shooc.workbooks.models import Course, CourseVersion
from shooc.workbooks.publish import publish_course

WB = "03-observation-and-feedback.md"
NEW_TEXT = "Look for evidence of pupils' learning, minute by minute."
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


def change_workbook(folder: Path) -> None:
    """A new paragraph with an image, and a changed activity, in workbook 3."""
    (folder / "images").mkdir(exist_ok=True)
    (folder / "images" / "dot.png").write_bytes(PNG)
    text = (folder / WB).read_text()
    text = text.replace("## Case study", f"{NEW_TEXT}\n\n![A dot](images/dot.png)\n\n## Case study", 1)
    (folder / WB).write_text(text.replace("min_words: 200", "min_words: 250"))


def zip_contents(folder: Path) -> bytes:
    """A zip of a folder's contents (course.md at its top), as "compress these files" makes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(folder).as_posix())
    return buffer.getvalue()


def zip_of(entries: list[tuple[str | zipfile.ZipInfo, bytes]], base: Path | None = MENTORING,
           compression: int = zipfile.ZIP_STORED) -> bytes:
    """A zip of the shipped course folder (under mentoring/) plus the given entries."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        if base is not None:
            for file in sorted(base.iterdir()):
                archive.write(file, f"mentoring/{file.name}")
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def post_zip(client, data: bytes, filename: str = "mentoring.zip", course: str = ""):  # type: ignore[no-untyped-def]
    return client.post("/lead/publish/upload", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, "/lead/publish"), "archive": (io.BytesIO(data), filename), "course": course})


def upload_id(response) -> int:  # type: ignore[no-untyped-def]
    assert response.status_code == 302, response.get_data(as_text=True)
    match = re.fullmatch(r"/lead/publish/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def versions(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(CourseVersion)) or 0


def uploads(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(ContentUpload)) or 0


@pytest.fixture
def leader(client, auth, make_user):  # type: ignore[no-untyped-def]
    user = make_user("leader", name="Lee Leader")
    auth.login(user)
    return user


@pytest.fixture
def staged(db: Session, publish, course_copy: Path) -> ContentUpload:
    """Version 1 published; a changed copy of it staged."""
    publish(course_copy)
    change_workbook(course_copy)
    upload = staging.stage_upload(db, "mentoring.zip", staging.zip_folder(course_copy), None)
    db.commit()
    return upload


def test_every_form_needs_its_csrf_token(client, leader, db: Session, staged) -> None:
    for url, data in [("/lead/publish/upload", {"archive": (io.BytesIO(zip_of([])), "mentoring.zip")}),
                      ("/lead/publish/folder", {"folder": "mentoring"}),
                      (f"/lead/publish/{staged.id}/publish", {"seen_version": "1"}),
                      (f"/lead/publish/{staged.id}/discard", {})]:
        response = client.post(url, data=data, content_type="multipart/form-data")
        assert response.status_code == 400, url
        assert "Form expired" in response.get_data(as_text=True)
    assert versions(db) == 1 and uploads(db) == 1


# Looking, publishing, discarding -----------------------------------------------

def test_an_uploaded_change_shows_its_diff_and_a_preview_of_the_changed_workbook(
        client, leader, db: Session, publish, course_copy: Path) -> None:
    publish(course_copy)
    change_workbook(course_copy)
    home = client.get("/lead/publish").get_data(as_text=True)
    assert "Upload a course folder" in home and 'enctype="multipart/form-data"' in home
    review_url = f"/lead/publish/{upload_id(post_zip(client, staging.zip_folder(course_copy)))}"
    page = client.get(review_url).get_data(as_text=True)
    assert "changes to publish" in page
    assert "version 1, published" in page  # compared with what learners see now
    assert re.search(r'status-tag in-progress">changed</span> workbook 03-observation-and-feedback.md: '
                     r"Observation and feedback", page)
    assert re.search(r'changed</span> activity <code>observation-reflective-task</code>', page)
    assert "01-the-mentors-role.md" not in page  # unchanged workbooks are not listed
    assert "course.md" not in page
    assert "Publish version 2" in page and "Discard this upload" in page
    # the words that changed, as learners read them: the new paragraph added, nothing else
    diff = page.split("The words that changed")[1].split("</div>")[0]
    added = re.findall(r'<ins><span class="visually-hidden">added: </span>([^<]*)</ins>', diff)
    assert len(added) == 1 and "minute by minute." in added[0] and "[image: A dot]" in added[0], diff
    assert "<del>" not in diff
    preview_url = f"{review_url}/workbooks/observation-and-feedback"
    assert f'href="{preview_url}"' in page
    assert versions(db) == 1  # looking publishes nothing

    preview = client.get(preview_url).get_data(as_text=True)
    assert NEW_TEXT.replace("'", "&#39;") in preview or NEW_TEXT.replace("'", "’") in preview
    assert "not published yet" in preview and f'href="{review_url}"' in preview
    assert "<textarea" in preview and "<fieldset disabled" in preview  # read-only, as a leader's preview is
    assert 'id="activity-observation-reflective-task"' in preview and "at least 250" in preview
    image = f"{review_url}/assets/images/dot.png"
    assert f'<img alt="A dot" src="{image}">' in preview
    served = client.get(image)
    assert served.status_code == 200 and served.data == PNG and served.mimetype == "image/png"
    # the other workbooks of the upload, as the side navigation links them
    assert f'href="{review_url}/workbooks/the-mentors-role"' in preview
    assert client.get(f"{review_url}/workbooks/the-mentors-role").status_code == 200
    assert client.get(f"{review_url}/workbooks/no-such-workbook").status_code == 404
    for missing in ("images/nope.png", "03-observation-and-feedback.md", "../course.md", "course.md"):
        assert client.get(f"{review_url}/assets/{missing}").status_code == 404, missing
    assert client.get("/lead/publish/999999").status_code == 404


def test_publishing_makes_version_2_which_learners_see(client, auth, leader, db: Session, staged, make_run,
                                                       make_user) -> None:
    run = make_run()
    learner = make_user("learner")
    enrol(db, run, learner.id, TODAY)
    db.commit()
    assert "Waiting to be published" in client.get("/lead/publish").get_data(as_text=True)
    token = csrf_token(client, f"/lead/publish/{staged.id}")
    response = client.post(f"/lead/publish/{staged.id}/publish", data={"csrf_token": token, "seen_version": "1"})
    assert response.status_code == 302 and response.headers["Location"] == "/lead/publish"
    page = client.get("/lead/publish").get_data(as_text=True)
    assert ("Published version 2 of mentoring, replacing version 1: workbook changed: "
            "03-observation-and-feedback.md. Learners see it now.") in page
    assert "Waiting to be published" not in page
    assert versions(db) == 2 and uploads(db) == 0
    course = db.scalar(select(Course))
    db.refresh(course)
    assert course.current_version.number == 2
    assert course.current_version.published_by_id == leader.id
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "content.publish"))
    assert entry.actor_id == leader.id and "version 2 (replacing version 1)" in entry.summary
    assert "    changed  activity observation-reflective-task" in entry.details["changes"]
    assert "Published course mentoring version 2 (replacing version 1) from mentoring.zip" in client.get(
        "/lead/audit").get_data(as_text=True)
    # publishing it again: it is gone
    again = client.post(f"/lead/publish/{staged.id}/publish", data={"csrf_token": token, "seen_version": "1"})
    assert again.status_code == 302 and "no longer waiting" in client.get("/lead/publish").get_data(as_text=True)

    auth.logout()
    auth.login(learner)
    workbook = client.get("/courses/mentoring/workbooks/observation-and-feedback").get_data(as_text=True)
    assert "minute by minute" in workbook and "at least 250" in workbook
    assert re.search(r'<img alt="A dot" src="/assets/[0-9a-f]{64}\.png">', workbook)


def test_discarding_publishes_nothing(client, leader, db: Session, staged) -> None:
    token = csrf_token(client, f"/lead/publish/{staged.id}")
    response = client.post(f"/lead/publish/{staged.id}/discard", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/lead/publish"
    assert "Discarded mentoring.zip: nothing was published." in client.get("/lead/publish").get_data(as_text=True)
    assert versions(db) == 1 and uploads(db) == 0
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "content.discard"))
    assert entry.actor_id == leader.id and "mentoring.zip" in entry.summary
    assert client.get(f"/lead/publish/{staged.id}").status_code == 404


def test_a_broken_course_shows_its_problems_by_file_and_line_and_is_not_published(
        client, leader, db: Session, publish, course_copy: Path) -> None:
    publish(course_copy)
    text = (course_copy / WB).read_text()
    (course_copy / WB).write_text(text.replace("kind: quiz", "kind: exam").replace("title: Observation", "titel: Observation"))
    expected = [str(p).replace(str(course_copy), "mentoring") for p in load_course(course_copy).problems]
    assert len(expected) == 3
    upload = upload_id(post_zip(client, staging.zip_folder(course_copy)))
    page = client.get(f"/lead/publish/{upload}").get_data(as_text=True)
    assert "3 problems found: nothing can be published." in page
    for problem in expected:
        file_line, message = problem.split(": ", 1)
        assert re.match(r"mentoring/03-observation-and-feedback\.md:\d+$", file_line)
        assert f"<li><code>{file_line}</code>: {message.replace(chr(39), '&#39;')}</li>" in page, problem
    assert "Publish version" not in page and "Discard this upload" in page
    home = client.get("/lead/publish").get_data(as_text=True)  # listed as needing a fix, not as waiting
    assert "Waiting to be published" not in home and "mentoring: 3 problems to fix" in home
    token = csrf_token(client, f"/lead/publish/{upload}")
    response = client.post(f"/lead/publish/{upload}/publish", data={"csrf_token": token, "seen_version": "1"})
    assert response.headers["Location"] == f"/lead/publish/{upload}"
    assert "3 problems found; nothing published." in client.get(response.headers["Location"]).get_data(as_text=True)
    assert versions(db) == 1 and uploads(db) == 1


def test_an_unchanged_course_has_nothing_to_publish(client, leader, db: Session, publish) -> None:
    publish()
    upload = upload_id(post_zip(client, staging.zip_folder(MENTORING)))
    page = client.get(f"/lead/publish/{upload}").get_data(as_text=True)
    assert "No changes: this is exactly version 1" in page
    assert "Publish version" not in page and "Discard this upload" in page


def test_a_first_version_lists_every_workbook(client, leader, db: Session) -> None:
    upload = upload_id(post_zip(client, staging.zip_folder(MENTORING)))
    page = client.get(f"/lead/publish/{upload}").get_data(as_text=True)
    assert "nothing: the course is not published yet" in page and "publishing makes version 1, with 5 workbooks" in page
    assert page.count('status-tag submitted">added</span> workbook') == 5
    token = csrf_token(client, f"/lead/publish/{upload}")
    client.post(f"/lead/publish/{upload}/publish", data={"csrf_token": token, "seen_version": "0"})
    assert "Published version 1 of mentoring: workbooks added" in client.get("/lead/publish").get_data(as_text=True)
    assert versions(db) == 1


def test_a_stale_upload_is_compared_with_the_version_published_now(
        client, leader, db: Session, staged, course_copy: Path, tmp_path: Path) -> None:
    # someone publishes another change (course.md) after the upload was staged
    other = tmp_path / "other" / "mentoring"
    other.parent.mkdir()
    other.mkdir()
    for file in MENTORING.iterdir():
        (other / file.name).write_bytes(file.read_bytes())
    (other / "course.md").write_text((other / "course.md").read_text().replace("## About this course", "## About the course"))
    publish_course(db, load_course(other).course)
    db.commit()
    assert versions(db) == 2

    page = client.get(f"/lead/publish/{staged.id}").get_data(as_text=True)
    assert "version 2, published" in page and "Publish version 3" in page
    assert 'changed</span> course.md' in page  # the upload has the old course.md: publishing brings it back
    # a publish from a page that showed the diff against version 1 is refused, nothing changes
    token = csrf_token(client, f"/lead/publish/{staged.id}")
    refused = client.post(f"/lead/publish/{staged.id}/publish", data={"csrf_token": token, "seen_version": "1"})
    assert refused.headers["Location"] == f"/lead/publish/{staged.id}"
    assert "Version 2 of &#39;mentoring&#39; was published since you looked" in client.get(refused.headers["Location"]).get_data(as_text=True)
    assert versions(db) == 2
    client.post(f"/lead/publish/{staged.id}/publish", data={"csrf_token": token, "seen_version": "2"})
    assert versions(db) == 3


# Zips and folders ----------------------------------------------------------------

def test_a_zip_of_the_folder_contents_takes_the_zip_name_or_the_chosen_course(
        client, leader, db: Session, publish, course_copy: Path) -> None:
    publish()
    change_workbook(course_copy)
    data = zip_contents(course_copy)
    upload = upload_id(post_zip(client, data, filename="mentoring.zip"))
    assert "changes to publish" in client.get(f"/lead/publish/{upload}").get_data(as_text=True)
    renamed = post_zip(client, data, filename="mentoring (2).zip")
    assert renamed.status_code == 422
    assert "The course folder&#39;s name &#39;mentoring (2)&#39; is the course&#39;s address" in renamed.get_data(as_text=True)
    chosen = upload_id(post_zip(client, data, filename="mentoring (2).zip", course="mentoring"))
    assert db.get(ContentUpload, chosen).course_slug == "mentoring"
    assert "changes to publish" in client.get(f"/lead/publish/{chosen}").get_data(as_text=True)
    # macOS's extra entries are ignored
    macos = zip_of([("__MACOSX/mentoring/._course.md", b"junk"), ("mentoring/.DS_Store", b"junk")])
    assert "No changes" in client.get(f"/lead/publish/{upload_id(post_zip(client, macos, 'Archive.zip'))}").get_data(as_text=True)


def _symlink(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def _encrypted(data: bytes, name: str) -> bytes:
    """The zip with one entry marked as encrypted (zipfile cannot write such a zip)."""
    encoded = name.encode()
    central = data.index(b"PK\x01\x02")  # the first central directory header
    while data[central + 46:central + 46 + len(encoded)] != encoded:
        central = data.index(b"PK\x01\x02", central + 4)
    flags = int.from_bytes(data[central + 8:central + 10], "little") | 0x1
    return data[:central + 8] + flags.to_bytes(2, "little") + data[central + 10:]


BAD_ZIPS = {
    "dot-dot": (lambda: zip_of([("mentoring/../evil.md", b"evil")]),
                "Zip entry &#39;mentoring/../evil.md&#39; has a &#39;..&#39; in its path"),
    "dot-dot-top": (lambda: zip_of([("../evil", b"evil")]), "Zip entry &#39;../evil&#39; has a &#39;..&#39;"),
    "backslashes": (lambda: zip_of([("mentoring\\..\\..\\evil.md", b"evil")]), "has a &#39;..&#39; in its path"),
    "absolute": (lambda: zip_of([("/tmp/evil.md", b"evil")]),
                 "Zip entry &#39;/tmp/evil.md&#39; is an absolute path"),
    "drive": (lambda: zip_of([("C:/evil.md", b"evil")]), "Zip entry &#39;C:/evil.md&#39; is an absolute path"),
    "symlink": (lambda: zip_of([(_symlink("mentoring/images"), b"/etc")]),
                "Zip entry &#39;mentoring/images&#39; is a symbolic link"),
    "encrypted": (lambda: _encrypted(zip_of([("mentoring/secret.md", b"x")]), "mentoring/secret.md"),
                  "Zip entry &#39;mentoring/secret.md&#39; is encrypted"),
    "outside": (lambda: zip_of([("notes.txt", b"x")]),
                "Zip entry &#39;notes.txt&#39; is outside the course folder &#39;mentoring/&#39;"),
    "no-course": (lambda: zip_of([("readme.txt", b"x")], base=None), "The zip has no course.md"),
    "not-a-zip": (lambda: b"PK but not really a zip file at all", "The file is not a zip file"),
    "too-many": (lambda: zip_of([(f"mentoring/images/{i}.txt", b"") for i in range(staging.MAX_ENTRIES)]),
                 "more than the 500 a course folder may have"),
    "bomb": (lambda: zip_of([("mentoring/big.md", b"\0" * (staging.MAX_UNCOMPRESSED_BYTES + 1))],
                            compression=zipfile.ZIP_DEFLATED),
             "The zip unpacks to more than 50 MB (at entry &#39;mentoring/big.md&#39;)"),
    # one name, two things (issue 14, item 9: staged, then its pages answered 500)
    "file-and-folder": (lambda: zip_of([("mentoring/images", b"x"), ("mentoring/images/x.png", PNG)]),
                        "Zip entry &#39;mentoring/images&#39; is a file, but entry &#39;mentoring/images/x.png&#39; "
                        "makes &#39;mentoring/images&#39; a folder: a name can be a file or a folder, not both."),
    "folder-then-file": (lambda: zip_of([("mentoring/images/x.png", PNG), ("mentoring/images", b"x")]),
                         "Zip entry &#39;mentoring/images&#39; is a file, but entry &#39;mentoring/images/x.png&#39; "
                         "makes &#39;mentoring/images&#39; a folder"),
    "folder-entry": (lambda: zip_of([("mentoring/images/", b""), ("mentoring/images", b"x")]),
                     "Zip entry &#39;mentoring/images&#39; is a file, but entry &#39;mentoring/images/&#39; makes "
                     "&#39;mentoring/images&#39; a folder"),
    "backslash-folder": (lambda: zip_of([("mentoring\\images", b"x"), ("mentoring\\images\\", b"")]),
                         "Zip entry &#39;mentoring\\images&#39; is a file, but entry &#39;mentoring\\images\\&#39; makes"),
    "case-folders": (lambda: zip_of([("mentoring/images/a.png", PNG), ("mentoring/Images/b.png", PNG)]),
                     "Zip entries &#39;mentoring/images/a.png&#39; and &#39;mentoring/Images/b.png&#39; name "
                     "&#39;mentoring/images&#39; and &#39;mentoring/Images&#39;, which differ only in upper and lower "
                     "case or in how an accent is encoded"),
    "case-files": (lambda: zip_of([("mentoring/Course.md", b"---\ntitle: x\n---\n")]),
                   "Zip entries &#39;mentoring/course.md&#39; and &#39;mentoring/Course.md&#39; name"),
    "accents": (lambda: zip_of([("mentoring/caf\u00e9.png", PNG), ("mentoring/cafe\u0301.png", PNG)]),
                "which differ only in upper and lower case or in how an accent is encoded"),
    "twice": (lambda: zip_of([("mentoring/./course.md", b"---\ntitle: x\n---\n")]),
              "Zip entry &#39;mentoring/./course.md&#39; is in the zip twice (also as &#39;mentoring/course.md&#39;)"),
    "long-name": (lambda: zip_of([("mentoring/" + "a" * 256 + ".md", b"x")]),
                  "has a name longer than 255 bytes"),
}


@pytest.fixture(scope="module")
def bad_zips() -> dict[str, bytes]:
    zips = {name: make() for name, (make, _) in BAD_ZIPS.items()}
    assert len(zips["bomb"]) < 500_000  # small to send (the course with its templates), 50 MB unpacked
    return zips


def _evil_files() -> list[Path]:
    places = [Path(tempfile.gettempdir()), Path(tempfile.gettempdir()).parent, Path.cwd()]
    return [p / name for p in places for name in ("evil", "evil.md") if (p / name).exists()]


@pytest.mark.parametrize("case", list(BAD_ZIPS))
def test_a_dangerous_or_broken_zip_is_refused_with_a_clear_message(client, leader, db: Session, bad_zips,
                                                                  case: str) -> None:
    before = _evil_files()
    response = post_zip(client, bad_zips[case])
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert BAD_ZIPS[case][1] in page, page[page.find('class="error"') - 200:page.find('class="error"') + 400]
    assert uploads(db) == 0
    assert _evil_files() == before

    # unpacking refuses it too (a zip stored by other means), writing nothing
    upload = ContentUpload(filename="x.zip", data=bad_zips[case], course_slug="mentoring")
    with pytest.raises(staging.StagingError), staging.extracted(upload):
        pass
    assert _evil_files() == before


def test_only_zip_files_are_accepted_and_a_file_is_needed(client, leader, db: Session) -> None:
    wrong = post_zip(client, b"hello", filename="course.md")
    assert wrong.status_code == 422 and "Upload a .zip file: compress the course folder first." in wrong.get_data(as_text=True)
    none = client.post("/lead/publish/upload", content_type="multipart/form-data",
                       data={"csrf_token": csrf_token(client, "/lead/publish")})
    assert none.status_code == 422 and "Choose the .zip file of the course folder." in none.get_data(as_text=True)
    assert uploads(db) == 0


def test_a_file_larger_than_the_site_accepts_is_refused(client, leader, db: Session, app, monkeypatch) -> None:
    token = csrf_token(client, "/lead/publish")
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 10_000)
    response = client.post("/lead/publish/upload", content_type="multipart/form-data", data={
        "csrf_token": token, "archive": (io.BytesIO(b"\0" * 20_000), "mentoring.zip")})
    assert response.status_code == 413
    assert "larger than this site accepts" in response.get_data(as_text=True)
    assert uploads(db) == 0


def test_a_folder_of_the_content_path_can_be_staged_and_nothing_outside_it(
        client, leader, db: Session, app, monkeypatch, course_copy: Path, tmp_path: Path) -> None:
    monkeypatch.setitem(app.config, "SHOOC_CONTENT_PATH", str(tmp_path))
    (tmp_path / "not-a-course").mkdir()
    change_workbook(course_copy)
    home = client.get("/lead/publish").get_data(as_text=True)
    assert '<option value="mentoring">mentoring</option>' in home and "not-a-course" not in home
    token = csrf_token(client, "/lead/publish")
    staged = upload_id(client.post("/lead/publish/folder", data={"csrf_token": token, "folder": "mentoring"}))
    upload = db.get(ContentUpload, staged)
    assert upload.filename == str(course_copy) and upload.course_slug == "mentoring"
    page = client.get(f"/lead/publish/{staged}").get_data(as_text=True)
    assert "publishing makes version 1, with 5 workbooks" in page
    # the folder is read when it is staged: later edits are not what gets published
    (course_copy / WB).write_text("broken")
    assert "changes to publish" in client.get(f"/lead/publish/{staged}").get_data(as_text=True)

    for outside in ("..", "../mentoring", str(MENTORING), "/etc", "not-a-course", "mentoring/images", ""):
        response = client.post("/lead/publish/folder", data={"csrf_token": token, "folder": outside})
        assert response.status_code == 422, outside
        text = response.get_data(as_text=True)
        assert ("is not a course folder of" in text or "Choose a course folder." in text), outside
    assert uploads(db) == 1


def test_zip_folder_leaves_out_hidden_files_and_links(tmp_path: Path, course_copy: Path) -> None:
    (course_copy / ".git").mkdir()
    (course_copy / ".git" / "config").write_text("secret")
    (course_copy / "link.md").symlink_to("/etc/hostname")
    names = zipfile.ZipFile(io.BytesIO(staging.zip_folder(course_copy))).namelist()
    assert "mentoring/course.md" in names and f"mentoring/{WB}" in names
    assert not [n for n in names if ".git" in n or "link.md" in n]


def test_a_staged_upload_is_unpacked_into_a_temporary_folder_that_is_removed(db: Session) -> None:
    upload = staging.stage_upload(db, "mentoring.zip", staging.zip_folder(MENTORING), None)
    with staging.extracted(upload) as folder:
        assert folder.name == "mentoring" and (folder / "course.md").read_bytes() == (MENTORING / "course.md").read_bytes()
        assert load_course(folder).ok
    assert not folder.exists() and not folder.parent.exists()


# Content ------------------------------------------------------------------------

def test_markdown_in_a_workbook_is_sanitised_in_the_preview(client, leader, db: Session, course_copy: Path) -> None:
    text = (course_copy / WB).read_text()
    payload = ('<script>alert(1)</script>\n\n<a href="javascript:alert(2)" onclick="alert(3)">click</a>\n\n'
               '<svg onload="alert(4)"></svg>\n\n<iframe src="https://evil.example"></iframe>\n\n## Case study')
    (course_copy / WB).write_text(text.replace("## Case study", payload, 1))
    upload = upload_id(post_zip(client, staging.zip_folder(course_copy)))
    response = client.get(f"/lead/publish/{upload}/workbooks/observation-and-feedback")
    preview = response.get_data(as_text=True)
    assert ">click</a>" in preview
    for bad in ("<script>alert", "javascript:", "onclick", "onload", "<svg", "<iframe", "alert("):
        assert bad not in preview, bad
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_an_image_path_starting_with_dot_slash_is_published(db: Session, course_copy: Path) -> None:
    (course_copy / "images").mkdir()
    (course_copy / "images" / "dot.png").write_bytes(PNG)
    text = (course_copy / WB).read_text()
    (course_copy / WB).write_text(text.replace("## Case study", "![A dot](./images/dot.png)\n\n## Case study", 1))
    result = load_course(course_copy)
    assert result.ok  # the loader accepts it...
    version = publish_course(db, result.course).version
    html = "".join(p.get("html", "") for w in version.workbooks for p in w.body_parts)
    assert re.search(r'<img alt="A dot" src="/assets/[0-9a-f]{64}\.png">', html)  # ...but learners see no image


def test_a_script_address_in_course_md_is_a_problem_and_never_reaches_the_badge(
        client, leader, db: Session, publish, course_copy: Path) -> None:
    """Issue 14, item 7: standards.url "javascript:..." was published into the
    BadgeClass page's link and its JSON-LD alignment."""
    publish(course_copy)
    text = (course_copy / "course.md").read_text()
    good = "url: https://www.gov.uk/government/publications/national-standards-for-school-based-initial-teacher-training-itt-mentors"
    (course_copy / "course.md").write_text(text.replace(good, "url: javascript:alert(document.domain)"))
    line = next(n for n, t in enumerate(text.split("\n"), start=1) if good in t)
    upload = upload_id(post_zip(client, staging.zip_folder(course_copy)))
    page = client.get(f"/lead/publish/{upload}").get_data(as_text=True)
    assert "1 problem found: nothing can be published." in page
    assert (f"<li><code>mentoring/course.md:{line}</code>: &#39;standards&#39; &#39;url&#39; must be a web address "
            "starting with https:// or http://, not &#39;javascript:alert(document.domain)&#39;</li>") in page
    token = csrf_token(client, f"/lead/publish/{upload}")
    response = client.post(f"/lead/publish/{upload}/publish", data={"csrf_token": token, "seen_version": "1"})
    assert response.headers["Location"] == f"/lead/publish/{upload}" and versions(db) == 1
    badge_page = client.get("/badges/classes/mentoring/the-mentors-role").get_data(as_text=True)
    document = client.get("/badges/classes/mentoring/the-mentors-role",
                          headers={"Accept": "application/ld+json"}).get_data(as_text=True)
    for shown in (badge_page, document):
        assert "javascript:" not in shown and "gov.uk/government/publications" in shown


def test_an_upload_staged_with_a_file_and_a_folder_of_one_name_shows_a_problem_not_a_500(
        client, leader, db: Session, publish) -> None:
    """Issue 14, item 9: a zip staged before it was refused at upload (or stored by
    other means) answered 500 (FileExistsError) on its review, preview and publish
    pages; each now names the entry and publishes nothing."""
    publish()
    data = zip_of([("mentoring/images", b"x"), ("mentoring/images/x.png", PNG)])
    upload = ContentUpload(filename="mentoring.zip", data=data, course_slug="mentoring")
    db.add(upload)
    db.commit()
    message = ("Zip entry &#39;mentoring/images&#39; is a file, but entry &#39;mentoring/images/x.png&#39; makes "
               "&#39;mentoring/images&#39; a folder")
    review = client.get(f"/lead/publish/{upload.id}")
    assert review.status_code == 200 and message.replace("Zip", "zip") in review.get_data(as_text=True)
    assert client.get(f"/lead/publish/{upload.id}/workbooks/the-mentors-role").status_code == 404
    assert client.get(f"/lead/publish/{upload.id}/assets/images/x.png").status_code == 404
    token = csrf_token(client, f"/lead/publish/{upload.id}")
    response = client.post(f"/lead/publish/{upload.id}/publish", data={"csrf_token": token, "seen_version": "1"})
    assert response.status_code == 302 and versions(db) == 1
    assert "1 problem found; nothing published." in client.get(response.headers["Location"]).get_data(as_text=True)
