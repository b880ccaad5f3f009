"""Staged course uploads: a course folder kept as a zip in the database until a
leader has looked at its validation and its diff, then publishes or discards it.

The web's way to publish (``shooc/lead/publish_views.py``); the command line reads a
folder directly. Both end in the same services: ``load_course`` (validation),
``diff_course`` and ``publish_course`` (``publish.py``). No Flask here: functions take
a Session and ``flush()``; the caller commits.

Decisions
---------
- **Stored in the database, not on disk.** ``ContentUpload.data`` is the course
  folder as a zip, so any app server can show, preview and publish it. It is
  unpacked into a temporary directory only while it is read (``extracted``), and
  read again from the stored zip when it is published: what is published is what
  was looked at, whatever the folder on the server has become meanwhile.
- **Layout.** A zip whose top holds ``course.md`` is the course folder itself; else
  the zip must hold exactly one folder at its top with ``course.md`` in it (what
  "Compress" in the Finder or "Send to > Compressed folder" in Windows make).
  ``__MACOSX/`` and ``.DS_Store`` entries are ignored; any other entry outside the
  course folder is refused.
- **The course's address (slug)**, as for ``shooc content publish PATH``, is the
  course folder's name: the folder in the zip; for a zip of the folder's contents,
  the zip's own file name without ``.zip`` (``mentoring.zip`` is the course
  ``mentoring``). A leader may name the course instead (``course_slug``: the upload
  form's "Course" choice), which wins over both: for "mentoring (2).zip" or a zip
  of a renamed folder. It is decided once, when the upload is staged, and kept in
  ``ContentUpload.course_slug``; a name that is not a valid address is refused then.
- **Safety.** A zip is checked, before anything is written and again when it is
  unpacked: not a zip, more than ``MAX_ENTRIES`` entries or ``MAX_UNCOMPRESSED_BYTES``
  unpacked (a zip bomb), an absolute path, a ``..`` part, a symbolic link, an
  encrypted or duplicate entry, or an entry outside the course folder are each
  refused with a message naming the entry. Files are written with ``O_EXCL`` under
  the temporary directory only, and at most the declared size of each is read.
- **One name, one thing.** A zip is a list of names, a folder a tree: a zip may say
  ``images`` is a file and also hold ``images/x.png``, or hold ``Images/x.png`` and
  ``images/x.png``, which are one folder on Windows and macOS and two on the server.
  Such a zip could not be unpacked (it once staged, then its review, preview and
  publish pages failed) or would unpack differently on the leader's computer than
  here, so it is refused at upload, naming both entries: a name that is a file and
  also a folder (``a/b`` and ``a/b/`` or ``a/b/c``), names equal but for upper and
  lower case or Unicode's two ways of writing an accent (NFC/NFD), and the same
  file twice (``a/b``, ``a//b``, ``a/./b``, ``a\\b``). A name ending in ``/`` or ``\\``
  is a folder. No part of a name may be longer than 255 bytes (what file systems
  hold). Unpacking checks the same again, and any error the file system still gives
  is the upload's problem, naming the entry, never a failed page.
- **A stale upload still works.** The diff is always computed against the version
  published *now*. Publishing checks that this is still the version the leader
  saw (``seen_version``), so nobody publishes a change they were not shown.
- **Pointing at a folder on the server** (``stage_folder``) accepts only the name
  of a course folder directly under the content folder (``SHOOC_CONTENT_PATH``);
  hidden files and symbolic links inside it are left out of the zip.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import tempfile
import unicodedata
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from shooc.audit import audit
from shooc.auth.models import User
from shooc.workbooks import textdiff
from shooc.workbooks.loader import IMAGE_TYPES, MAX_IMAGE_BYTES, SLUG_RE, CourseSource, ImageFile, Problem, load_course
from shooc.workbooks.models import ContentUpload, CourseVersion, WorkbookVersion
from shooc.workbooks.publish import (
    PublishResult,
    VersionDiff,
    _diff,
    _workbook_version,
    current_version,
    find_course,
    publish_course,
)

MAX_ENTRIES = 500
MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024
MAX_NAME_BYTES = 255  # one part of a path: what ext4, APFS and NTFS hold
IGNORED_PARTS = {"__MACOSX", ".DS_Store", "Thumbs.db"}
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE_RE = re.compile(r"^[A-Za-z]:")


class StagingError(ValueError):
    """An upload that cannot be staged, read or published; the message says why."""


class PublishRefused(StagingError):
    """The staged course has problems: nothing is published."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        count = len(problems)
        super().__init__(f"{count} problem{'' if count == 1 else 's'} found; nothing published")


class StaleReview(StagingError):
    """Another version was published since the leader looked at the changes."""


# Zips --------------------------------------------------------------------------

def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def zip_folder(path: str | os.PathLike[str]) -> bytes:
    """A course folder as a zip whose one top folder is the course folder (named as
    ``load_course`` names the course). Hidden files and folders and symbolic links
    are left out; a folder too large to stage is refused early."""
    folder = Path(path)
    if not folder.is_dir():
        raise StagingError(f"{path} is not a folder")
    top = folder.resolve().name
    buffer = io.BytesIO()
    entries = total = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, strict_timestamps=False) as archive:
        for dirpath, dirnames, filenames in os.walk(folder):
            here = Path(dirpath)
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and not (here / d).is_symlink())
            for name in sorted(filenames):
                file = here / name
                if name.startswith(".") or name in IGNORED_PARTS or file.is_symlink() or not file.is_file():
                    continue
                entries += 1
                total += file.stat().st_size
                if entries > MAX_ENTRIES:
                    raise StagingError(f"{path} has more than {MAX_ENTRIES} files: is it really a course folder?")
                if total > MAX_UNCOMPRESSED_BYTES:
                    raise StagingError(f"{path} holds more than {_mb(MAX_UNCOMPRESSED_BYTES)}: "
                                       "is it really a course folder?")
                archive.write(file, f"{top}/{file.relative_to(folder).as_posix()}")
    return buffer.getvalue()


def _is_folder(info: zipfile.ZipInfo) -> bool:
    """A folder entry: its name ends in '/' (or '\\', as old Windows tools write it)."""
    return info.filename.endswith(("/", "\\"))


def _same_name(part: str) -> str:
    """One part of a path as a file system that ignores case and Unicode's two
    spellings of accents (Windows, macOS) sees it: names equal here are one file there."""
    return unicodedata.normalize("NFC", part).casefold()


class _Names:
    """Every path a zip's entries make, files and the folders they imply, so that no
    name is both a file and a folder, or spelt two ways (see the module's docstring)."""

    def __init__(self) -> None:
        # the path as a case-blind file system sees it -> (the path as written, the entry, a folder?)
        self.seen: dict[tuple[str, ...], tuple[tuple[str, ...], str, bool]] = {}

    def add(self, parts: tuple[str, ...], info: zipfile.ZipInfo, folder: bool) -> None:
        for depth in range(1, len(parts) + 1):
            is_folder = folder or depth < len(parts)
            self._one(parts[:depth], info.filename, is_folder, implied=depth < len(parts))

    def _one(self, path: tuple[str, ...], entry: str, folder: bool, implied: bool) -> None:
        key = tuple(_same_name(p) for p in path)
        written = "/".join(path)
        if key not in self.seen:
            self.seen[key] = (path, entry, folder)
            return
        other_path, other_entry, other_folder = self.seen[key]
        other = "/".join(other_path)
        if other_path != path:
            raise StagingError(
                f"zip entries '{other_entry}' and '{entry}' name '{other}' and '{written}', which differ only "
                "in upper and lower case or in how an accent is encoded: on Windows and macOS they are the same "
                "name. Rename one of them, or use one spelling")
        if folder != other_folder:
            file_entry, folder_entry = (other_entry, entry) if folder else (entry, other_entry)
            raise StagingError(
                f"zip entry '{file_entry}' is a file, but entry '{folder_entry}' makes '{written}' a folder: "
                "a name can be a file or a folder, not both. Rename one of them")
        if not folder and not implied:
            raise StagingError(f"zip entry '{entry}' is in the zip twice"
                               + ("" if entry == other_entry else f" (also as '{other_entry}')"))


@dataclass(frozen=True)
class _Layout:
    top: str | None  # the course folder's name in the zip; None: the zip's top is the course
    files: dict[str, zipfile.ZipInfo]  # path inside the course folder -> entry


def _entry_parts(info: zipfile.ZipInfo) -> tuple[str, ...]:
    """The parts of an entry's path, refusing anything that could land outside."""
    name = info.filename
    shown = name.replace("\x00", "\\0")
    if _CONTROL_RE.search(name):
        raise StagingError(f"zip entry '{shown}' has control characters in its name")
    unified = name.replace("\\", "/")
    if unified.startswith("/") or _DRIVE_RE.match(unified):
        raise StagingError(f"zip entry '{name}' is an absolute path: only paths inside the course folder are accepted")
    parts = tuple(p for p in unified.split("/") if p not in ("", "."))
    if ".." in parts:
        raise StagingError(f"zip entry '{name}' has a '..' in its path: only paths inside the course folder "
                           "are accepted")
    if any(len(p.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES for p in parts):
        raise StagingError(f"zip entry '{name}' has a name longer than {MAX_NAME_BYTES} bytes: shorten it")
    kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the zip does not say (Windows)
    if kind == stat.S_IFLNK:
        raise StagingError(f"zip entry '{name}' is a symbolic link: put the file itself in the zip")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise StagingError(f"zip entry '{name}' is not a file or a folder")
    if info.flag_bits & 0x1:
        raise StagingError(f"zip entry '{name}' is encrypted: make the zip without a password")
    return parts


def _layout(data: bytes) -> _Layout:
    """Check a zip (see the module's docstring) and find the course folder in it."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise StagingError("the file is not a zip file: compress the course folder and upload the .zip") from None
    with archive:
        infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise StagingError(f"the zip has {len(infos)} entries, more than the {MAX_ENTRIES} a course folder may have")
    files: dict[tuple[str, ...], zipfile.ZipInfo] = {}
    folders: set[tuple[str, ...]] = set()
    names = _Names()
    total = 0
    for info in infos:
        parts = _entry_parts(info)
        if not parts or parts[0] in IGNORED_PARTS or parts[-1] in IGNORED_PARTS:
            continue
        if _is_folder(info):
            names.add(parts, info, folder=True)
            folders.add(parts)
            continue
        names.add(parts, info, folder=False)
        total += info.file_size
        if total > MAX_UNCOMPRESSED_BYTES:
            raise StagingError(f"the zip unpacks to more than {_mb(MAX_UNCOMPRESSED_BYTES)} "
                               f"(at entry '{info.filename}'): a course folder is much smaller")
        files[parts] = info
    if ("course.md",) in files:
        return _Layout(None, {"/".join(p): i for p, i in files.items()})
    tops = sorted({p[0] for p in files} | {p[0] for p in folders})
    with_course = [t for t in tops if (t, "course.md") in files]
    if not with_course:
        raise StagingError("the zip has no course.md: zip the course folder (course.md at its top, "
                           "or one folder with course.md in it)")
    top = with_course[0]
    for parts, info in sorted(files.items()):
        if parts[0] != top:
            raise StagingError(f"zip entry '{info.filename}' is outside the course folder '{top}/': "
                               "zip one course folder only")
    for parts in sorted(folders):
        if parts[0] != top:
            raise StagingError(f"zip entry '{'/'.join(parts)}/' is outside the course folder '{top}/': "
                               "zip one course folder only")
    return _Layout(top, {"/".join(p[1:]): i for p, i in files.items()})


def _check_slug(slug: str) -> str:
    if not SLUG_RE.match(slug):
        raise StagingError(f"the course folder's name '{slug}' is the course's address: use lower-case letters, "
                           "digits and hyphens (rename the folder or the zip, or choose the course)")
    return slug


def _zip_stem(filename: str) -> str:
    name = PurePosixPath(filename.replace("\\", "/")).name
    return name[:-4] if name.lower().endswith(".zip") else name


@contextmanager
def extracted(upload: ContentUpload) -> Iterator[Path]:
    """Unpack a staged upload into a temporary directory; yields the course folder
    (named after the course, as ``load_course`` expects). Removed afterwards."""
    layout = _layout(upload.data)
    slug = _check_slug(upload.course_slug or "")
    with tempfile.TemporaryDirectory(prefix="shooc-upload-") as tmp:
        root = (Path(tmp) / slug).resolve()
        root.mkdir()
        with zipfile.ZipFile(io.BytesIO(upload.data)) as archive:
            for relative, info in sorted(layout.files.items()):
                target = root.joinpath(*relative.split("/"))
                if not target.resolve().is_relative_to(root):  # belt and braces: checked by _layout
                    raise StagingError(f"zip entry '{info.filename}' is outside the course folder")
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    _copy_entry(archive, info, target)
                except OSError as exc:  # belt and braces too: _layout refuses what we know of
                    raise StagingError(f"zip entry '{info.filename}' cannot be unpacked: "
                                       f"{exc.strerror or type(exc).__name__}") from None
        yield root


def _copy_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    left = info.file_size
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as out, archive.open(info) as source:
            while True:
                chunk = source.read(min(65536, left + 1))
                if not chunk:
                    break
                left -= len(chunk)
                if left < 0:
                    raise StagingError(f"zip entry '{info.filename}' is larger than it says")
                out.write(chunk)
    except (zipfile.BadZipFile, NotImplementedError, EOFError, RuntimeError) as exc:
        raise StagingError(f"zip entry '{info.filename}' cannot be read ({exc})") from None


# Staging -----------------------------------------------------------------------

def stage_upload(session: Session, filename: str, data: bytes, user_id: int | None,
                 course_slug: str | None = None) -> ContentUpload:
    """Check a zipped course folder and keep it until it is published or discarded."""
    layout = _layout(data)
    slug = _check_slug(course_slug or layout.top or _zip_stem(filename))
    upload = ContentUpload(filename=filename[:300], data=data, course_slug=slug, uploaded_by_id=user_id)
    upload.problem_count = len(_load(upload)[1])
    session.add(upload)
    session.flush()
    return upload


def course_folders(root: str | os.PathLike[str]) -> list[str]:
    """The course folders (with a course.md) directly under the content folder."""
    folder = Path(root)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir()
                  if not p.name.startswith(".") and p.is_dir() and (p / "course.md").is_file())


def stage_folder(session: Session, root: str | os.PathLike[str], name: str, user_id: int | None) -> ContentUpload:
    """Stage a course folder of the server's content folder, chosen by its name."""
    if name not in course_folders(root):
        raise StagingError(f"'{name}' is not a course folder of {root}: choose one of the folders listed")
    folder = Path(root) / name
    return stage_upload(session, str(folder), zip_folder(folder), user_id)


def get_upload(session: Session, upload_id: int, *, lock: bool = False) -> ContentUpload | None:
    """A staged upload; ``lock`` holds its row until the transaction ends (publishing
    or discarding it twice at once does it once)."""
    query = select(ContentUpload).where(ContentUpload.id == upload_id)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def staged_uploads(session: Session) -> list[ContentUpload]:
    """Every upload waiting, newest first (without their data)."""
    return list(session.scalars(select(ContentUpload).options(defer(ContentUpload.data))
                                .order_by(ContentUpload.created_at.desc(), ContentUpload.id.desc())))


# Looking at an upload ----------------------------------------------------------

ImageURL = Callable[[ImageFile], str]


@dataclass
class Review:
    """What publishing an upload would do: its problems, or its diff against the
    version published now, with a rendered preview of any of its workbooks."""

    upload: ContentUpload
    problems: list[Problem]
    source: CourseSource | None
    diff: VersionDiff | None
    published: CourseVersion | None  # the version learners see now
    next_number: int  # the number publishing would give
    image_url: ImageURL | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.source is not None and not self.problems

    @property
    def unchanged(self) -> bool:
        return self.diff is not None and self.diff.unchanged

    @property
    def siblings(self) -> list[tuple[int, str, str]]:
        return [(w.position, w.slug, w.title) for w in self.source.workbooks] if self.source else []

    def preview(self, slug: str) -> WorkbookVersion | None:
        """A workbook of the upload rendered as publishing would render it, not stored."""
        return self.previews.get(slug) or self._render(slug)

    @cached_property
    def previews(self) -> dict[str, WorkbookVersion]:
        """Each added or changed workbook, rendered."""
        if not self.ok or self.diff is None:
            return {}
        slugs = [c.slug for c in self.diff.workbooks_added + self.diff.workbooks_changed]
        return {slug: version for slug in slugs if (version := self._render(slug)) is not None}

    def text_changes(self, slug: str) -> list[list[textdiff.Segment]]:
        """The words of a changed workbook that changed, as learners read them
        (shooc/workbooks/textdiff.py); nothing for a workbook that is not changed."""
        before = next((w for w in self.published.workbooks if w.slug == slug), None) if self.published else None
        after = self.preview(slug)
        if before is None or after is None:
            return []
        return textdiff.hunks(textdiff.words(before.title, before.summary, before.body_parts),
                              textdiff.words(after.title, after.summary, after.body_parts))

    def _render(self, slug: str) -> WorkbookVersion | None:
        source = self.source
        if not self.ok or source is None:
            return None
        workbook = next((w for w in source.workbooks if w.slug == slug), None)
        if workbook is None:
            return None

        def image_src(ref: str) -> str | None:
            # the lookup publish_course makes, so the preview shows what learners will see
            image = source.image(ref)
            if image is None:
                return None
            return self.image_url(image) if self.image_url else image.url

        return _workbook_version(workbook, image_src, source)


def _load(upload: ContentUpload) -> tuple[CourseSource | None, list[Problem]]:
    """Load the staged course; problems name files as ``<course>/<file>``."""
    try:
        with extracted(upload) as folder:
            result = load_course(folder)
    except StagingError as exc:
        return None, [Problem(upload.filename, 1, str(exc))]
    prefix = str(folder)
    problems = [Problem((upload.course_slug or "") + p.file[len(prefix):] if p.file.startswith(prefix) else p.file,
                        p.line, p.message) for p in result.problems]
    return (result.course if result.ok else None), problems


def _next_number(session: Session, slug: str) -> int:
    course = find_course(session, slug)
    if course is None:
        return 1
    return (session.scalar(select(func.max(CourseVersion.number)).where(CourseVersion.course_id == course.id)) or 0) + 1


def review(session: Session, upload: ContentUpload, image_url: ImageURL | None = None) -> Review:
    """Validate the staged course and diff it against the version published now.

    ``image_url`` says where a preview's images are served from (the upload's own
    images are not stored as assets until it is published)."""
    source, problems = _load(upload)
    course = find_course(session, upload.course_slug or "")
    published = current_version(session, course) if course else None
    diff = None
    if source is not None:
        diff = _diff(published, source)  # what diff_course does, with the version we show
    return Review(upload, problems, source, diff, published, _next_number(session, upload.course_slug or ""),
                  image_url)


def staged_image(upload: ContentUpload, path: str) -> ImageFile | None:
    """An image file of the staged course folder, for a preview; None if there is
    no such image (or it is not one the loader would accept)."""
    try:
        layout = _layout(upload.data)
    except StagingError:
        return None
    relative = "/".join(p for p in path.split("/") if p not in ("", "."))
    suffix = PurePosixPath(relative).suffix.lower()
    info = layout.files.get(relative)
    if info is None or ".." in relative.split("/") or suffix not in IMAGE_TYPES or info.file_size > MAX_IMAGE_BYTES:
        return None
    with zipfile.ZipFile(io.BytesIO(upload.data)) as archive:
        try:
            data = archive.read(info)
        except (zipfile.BadZipFile, NotImplementedError, EOFError, RuntimeError):
            return None
    media_type, looks_right = IMAGE_TYPES[suffix]
    if len(data) > MAX_IMAGE_BYTES or not looks_right(data):
        return None
    return ImageFile(path=relative, media_type=media_type, sha256=hashlib.sha256(data).hexdigest(), data=data)


# Publishing and discarding -----------------------------------------------------

def describe(diff: VersionDiff) -> str:
    """The change in one sentence, for a message and the audit log."""
    if diff.unchanged:
        return "no changes"
    parts = []
    if diff.course_changed and not diff.first_version:
        parts.append("course.md changed")
    for verb, changes in (("added", diff.workbooks_added), ("changed", diff.workbooks_changed),
                          ("removed", diff.workbooks_removed)):
        if changes:
            noun = "workbook" if len(changes) == 1 else "workbooks"
            parts.append(f"{noun} {verb}: " + ", ".join(c.filename for c in changes))
    return "; ".join(parts)


def publish_upload(session: Session, upload: ContentUpload, user: User | None, *,
                   seen_version: int | None = None) -> PublishResult:
    """Publish a staged upload as the course's next version (read again from the
    stored zip), record it in the audit log and drop the upload.

    ``seen_version``: the number of the version the leader saw the diff against
    (0: none was published); if another has been published since, StaleReview is
    raised and nothing changes. Problems raise PublishRefused. Flushes only."""
    source, problems = _load(upload)
    if source is None:
        raise PublishRefused(problems)
    if seen_version is not None:
        course = find_course(session, source.slug)
        published = current_version(session, course) if course else None
        now = published.number if published else 0
        if now != seen_version:
            raise StaleReview(f"version {now} of '{source.slug}' was published since you looked at the changes: "
                              "look at them again against it")
    result = publish_course(session, source, published_by_id=user.id if user else None)
    if result.published:
        replacing = f" (replacing version {result.previous_number})" if result.previous_number else ""
        audit(session, user, "content.publish",
              f"Published course {source.slug} version {result.version.number}{replacing} from "
              f"{upload.filename}: {describe(result.diff)}",
              course=source.slug, version=result.version.number, upload=upload.filename,
              changes=result.diff.lines())
    session.delete(upload)
    session.flush()
    return result


def discard_upload(session: Session, upload: ContentUpload, user: User | None) -> None:
    """Drop a staged upload unpublished, recording it in the audit log."""
    audit(session, user, "content.discard",
          f"Discarded the upload {upload.filename} of course {upload.course_slug} (nothing published)",
          course=upload.course_slug, upload=upload.filename)
    session.delete(upload)
    session.flush()
