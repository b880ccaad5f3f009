"""Read a course folder into frozen dataclasses, collecting every problem at once.

Pure: files in, values and problems out; no database, no Flask. Publishing
(``publish.py``) takes what this returns.

Web addresses: every front-matter key that holds one is declared so in its
mapping's key spec (``WEB_ADDRESS`` / ``OPTIONAL_WEB_ADDRESS``: ``issuer.url``,
``standards.url``) and checked by ``_FileReader.check_keys`` with
``shooc.webaddress.web_address_problem``, the check a media activity's ``url`` uses
too: an absolute https:// or http:// address with a site, so that no
``javascript:`` or ``data:`` address reaches a page, a badge's JSON-LD or a PDF.
A new key holding an address is marked in its spec, never checked by a copy.
Images (``badge.image``, the Markdown's) are files of the course folder, never
addresses: ``_check_image_ref`` refuses any scheme.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterator

from shooc.webaddress import web_address_problem
from shooc.workbooks.activities import ID_RE, KINDS, RECALLABLE_KINDS, SelfAssessment, get_kind
from shooc.workbooks.render import ACTIVITY_MARKER
from shooc.workbooks.yamlsource import YamlDoc, YamlError, parse_yaml

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
WORKBOOK_FILE_RE = re.compile(r"^(\d{2})-([a-z0-9][a-z0-9-]*)\.md$")
IGNORED_FILES = {"README.md"}
#: the course's optional orientation page, /courses/<course>/start (front matter
#: ``title`` and ``summary``, then Markdown): not a workbook
START_FILE = "start.md"
GLOSSARY_FILE = "glossary.md"
MAX_IMAGE_BYTES = 2 * 1024 * 1024
IMAGE_TYPES = {  # extension -> (media type, magic number test)
    ".png": ("image/png", lambda b: b.startswith(b"\x89PNG\r\n\x1a\n")),
    ".jpg": ("image/jpeg", lambda b: b.startswith(b"\xff\xd8\xff")),
    ".jpeg": ("image/jpeg", lambda b: b.startswith(b"\xff\xd8\xff")),
    ".gif": ("image/gif", lambda b: b[:6] in (b"GIF87a", b"GIF89a")),
    ".webp": ("image/webp", lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP"),
}


# Files a course ships (issue 19: templates to download, e.g. a mentoring agreement),
# linked from the Markdown by their name in the course folder. Only these types:
# documents people fill in or print, never programs or pages a browser would run.
MAX_COURSE_FILE_BYTES = 5 * 1024 * 1024
COURSE_FILE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT_TYPE = "application/vnd.oasis.opendocument.text"
COURSE_FILE_TYPES = {  # extension -> (media type, what it is, called by name)
    ".pdf": ("application/pdf", "PDF"),
    ".docx": (DOCX_TYPE, "Word (DOCX)"),
    ".odt": (ODT_TYPE, "OpenDocument text (ODT)"),
}


@dataclass(frozen=True)
class Key:
    """What one key of a front-matter mapping must hold."""

    required: bool
    #: a web address: checked by ``shooc.webaddress`` (https:// or http:// with a
    #: site, no script scheme) wherever it stands. Every key holding an address is
    #: marked so, and ``_FileReader.check_keys`` checks them all in one place.
    web_address: bool = False


REQUIRED, OPTIONAL = Key(True), Key(False)
GLOSSARY_KEYS = {"term": REQUIRED, "aliases": OPTIONAL, "definition": REQUIRED}
WEB_ADDRESS, OPTIONAL_WEB_ADDRESS = Key(True, web_address=True), Key(False, web_address=True)

# image (a file of the course folder, like badge images) with image_alt, audience,
# duration and faq: what the catalogue and the course page show to sell the course.
COURSE_KEYS = {"title": REQUIRED, "summary": REQUIRED, "issuer": REQUIRED, "objectives": OPTIONAL,
               "standards": OPTIONAL, "certificate": OPTIONAL, "image": OPTIONAL, "image_alt": OPTIONAL,
               "audience": OPTIONAL, "duration": OPTIONAL, "faq": OPTIONAL,
               # study hours for CPD records, printed on the certificate (issue 18)
               "hours": OPTIONAL}
FAQ_KEYS = {"question": REQUIRED, "answer": REQUIRED}
MAX_FAQ = 30
ISSUER_KEYS = {"name": REQUIRED, "url": WEB_ADDRESS, "email": REQUIRED}
STANDARDS_KEYS = {"framework": REQUIRED, "url": OPTIONAL_WEB_ADDRESS, "items": REQUIRED}
STANDARD_ITEM_KEYS = {"code": REQUIRED, "name": REQUIRED, "description": OPTIONAL}
CERTIFICATE_KEYS = {"title": OPTIONAL, "text": OPTIONAL, "signatory": OPTIONAL}
# certificate.signatory: who signs, printed under the line (a plain text, as before
# issue 18, is still read as the name)
SIGNATORY_KEYS = {"name": REQUIRED, "role": OPTIONAL}
MAX_COURSE_HOURS = 1000
WORKBOOK_KEYS = {"title": REQUIRED, "summary": REQUIRED, "estimated_hours": OPTIONAL, "standards": OPTIONAL,
                 "badge": REQUIRED}
# (badge.image is a file of the course folder, not an address: _check_image_ref
# refuses any scheme, as for the images of the Markdown.)
BADGE_KEYS = {"name": REQUIRED, "description": REQUIRED, "criteria": REQUIRED, "image": OPTIONAL}

_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)")
_IMAGE_MD_RE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'(][^)]*)?\)")
# A Markdown link (not an image) and an HTML <a href>: those to a name of the course
# folder (no scheme, no '/', no '#...' of the page) are course files.
_LINK_MD_RE = re.compile(r"(?<!!)\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'(][^)]*)?\)")
_LINK_HTML_RE = re.compile(r"<a\b[^>]*?\bhref\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)
_IMAGE_HTML_RE = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)
_QUOTES_RE = re.compile(r"^[ >]*")
_RECALL_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}/[a-z0-9][a-z0-9-]{0,79}$")
MAX_INDENT = 100  # columns: lists 25 levels deep
MAX_QUOTE_DEPTH = 20
_WORD_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’-]*")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True)
class ImageFile:
    path: str  # relative to the course folder, POSIX
    media_type: str
    sha256: str
    data: bytes = field(repr=False)

    @property
    def url(self) -> str:
        return f"/assets/{self.sha256}{PurePosixPath(self.path).suffix.lower()}"


@dataclass(frozen=True)
class GlossaryTerm:
    """A term of ``glossary.md``: what workbooks' text links to its entry."""

    term: str
    aliases: tuple[str, ...]
    definition: str  # Markdown
    anchor: str  # the entry's id on the glossary page

    @property
    def names(self) -> tuple[str, ...]:
        return (self.term, *self.aliases)


@dataclass(frozen=True)
class CourseFile:
    """A file of the course folder that its Markdown links to (a template to download)."""

    name: str  # its name in the (flat) course folder, which is also its download name
    media_type: str
    sha256: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class ActivitySource:
    id: str
    kind: str
    required: bool
    title: str | None
    definition: dict[str, Any]
    line: int
    digest: str
    recall_line: int = 0  # the line of its ``recall`` key (0: none)

    @property
    def recall(self) -> str | None:
        """``<workbook-slug>/<activity-id>`` of the earlier answer shown above it."""
        value = self.definition.get("recall")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class WorkbookSource:
    position: int
    slug: str
    filename: str
    title: str
    summary: str
    estimated_hours: float
    standards: tuple[str, ...]
    badge: dict[str, Any]
    body: str  # Markdown, each activity replaced by its ACTIVITY_MARKER paragraph
    activities: tuple[ActivitySource, ...]
    images: tuple[str, ...]
    files: tuple[str, ...]  # names of the course files it links to
    word_count: int
    digest: str

    def activity(self, activity_id: str) -> ActivitySource | None:
        return next((a for a in self.activities if a.id == activity_id), None)


@dataclass(frozen=True)
class StartPage:
    """start.md: the course's "Start here" page (how the course works)."""

    title: str
    summary: str
    body: str  # Markdown
    images: tuple[str, ...]


@dataclass(frozen=True)
class CourseSource:
    slug: str
    path: str
    title: str
    summary: str
    meta: dict[str, Any]  # issuer, objectives, standards, certificate
    body: str
    digest: str
    workbooks: tuple[WorkbookSource, ...]
    images: dict[str, ImageFile]
    source_digest: str  # of everything above: equal digests mean nothing changed
    start: StartPage | None = None
    files: dict[str, CourseFile] = field(default_factory=dict)  # by name: the templates it ships
    glossary: tuple[GlossaryTerm, ...] = ()
    glossary_intro: str = ""  # Markdown: glossary.md's body

    @property
    def word_count(self) -> int:
        return sum(w.word_count for w in self.workbooks)

    def image(self, ref: str) -> ImageFile | None:
        """The image a Markdown reference names (``./images/a.png#x`` = ``images/a.png``)."""
        return self.images.get(normalise_ref(ref))


@dataclass
class LoadResult:
    course: CourseSource | None
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return self.course is not None and not self.problems


def _sha256(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode()
    return hashlib.sha256(data).hexdigest()


def _digest_of(value: Any) -> str:
    return _sha256(json.dumps(value, sort_keys=True, default=str, ensure_ascii=False))


class _FileReader:
    """Collects the problems of one file, with its display name."""

    def __init__(self, display: str, problems: list[Problem]) -> None:
        self.display = display
        self.problems = problems

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.display, line, message))

    def split_front_matter(self, text: str) -> tuple[YamlDoc | None, str, int]:
        """Returns (front matter, body, line number of the body's first line)."""
        lines = text.split("\n")
        if not lines or lines[0].strip() != "---":
            self.problem(1, "missing front matter: the file must start with a '---' line, "
                            "then YAML, then another '---' line")
            return None, text, 1
        for index in range(1, len(lines)):
            if lines[index].strip() in ("---", "..."):
                break
        else:
            self.problem(1, "front matter is not closed: no second '---' line")
            return None, "", len(lines) + 1
        yaml_text = "\n".join(lines[1:index])
        body = "\n".join(lines[index + 1:])
        try:
            doc = parse_yaml(yaml_text, first_line=2)
        except YamlError as exc:
            self.problem(exc.line, exc.message)
            return None, body, index + 2
        for key, line in doc.duplicate_keys:
            self.problem(line, f"key '{key}' is given twice")
        if doc.value is None:
            doc.value = {}
        if not isinstance(doc.value, dict):
            self.problem(2, "front matter must be a set of 'key: value' lines")
            return None, body, index + 2
        return doc, body, index + 2

    def check_keys(self, doc: YamlDoc, mapping: Any, spec: dict[str, Key], path: tuple[Any, ...],
                   what: str) -> bool:
        """Unknown, missing and empty keys of one mapping, and its web addresses;
        False if it is not a mapping."""
        if not isinstance(mapping, dict):
            self.problem(doc.line(*path), f"{what} must be a set of 'key: value' lines")
            return False
        for key in mapping:
            if key not in spec:
                allowed = ", ".join(spec)
                self.problem(doc.line(*path, key), f"unknown key '{key}' in {what} (allowed: {allowed})")
        for key, wanted in spec.items():
            if wanted.required and key not in mapping:
                self.problem(doc.line(*path), f"missing required key '{key}' in {what}")
            elif key in mapping and _blank(mapping[key]):
                if wanted.required:
                    self.problem(doc.line(*path, key), f"'{key}' in {what} is empty")
            elif key in mapping and wanted.web_address:
                self.check_web_address(doc, mapping[key], (*path, key), f"{what} '{key}'")
        return True

    def check_web_address(self, doc: YamlDoc, value: Any, path: tuple[Any, ...], what: str) -> None:
        """The one check of every web address in a course's files (``shooc.webaddress``)."""
        problem = web_address_problem(value)
        if problem is not None:
            self.problem(doc.line(*path), f"{what} {problem}")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value))


def _load_workbooks(folder: Path, display: Callable[[str], str], standard_codes: set[str],
                    images: dict[str, ImageFile], files: dict[str, CourseFile],
                    problems: list[Problem]) -> tuple[list[WorkbookSource], bool]:
    """Every NN-slug.md of the folder, in name order, each number and slug used once;
    whether any file was named as a workbook."""
    workbooks: list[WorkbookSource] = []
    positions: dict[int, str] = {}
    slugs: dict[str, str] = {}
    for entry in sorted(folder.iterdir()):
        name = entry.name
        if (not entry.is_file() or not name.endswith(".md") or name in ("course.md", START_FILE, GLOSSARY_FILE)
                or name in IGNORED_FILES):
            continue
        match = WORKBOOK_FILE_RE.match(name)
        if not match:
            problems.append(Problem(display(name), 1, "a workbook's file name must be NN-slug.md "
                                                      "(two digits, a hyphen, lower-case letters, digits and hyphens)"))
            continue
        position, wb_slug = int(match.group(1)), match.group(2)
        if position in positions:
            problems.append(Problem(display(name), 1,
                                    f"workbook number {match.group(1)} is also used by {positions[position]}"))
        if wb_slug in slugs:
            problems.append(Problem(display(name), 1, f"workbook slug '{wb_slug}' is also used by {slugs[wb_slug]}"))
        positions.setdefault(position, name)
        slugs.setdefault(wb_slug, name)
        workbook = _load_workbook(entry, display(name), position, wb_slug, folder, standard_codes,
                                  images, files, problems)
        if workbook is not None:
            workbooks.append(workbook)
    return workbooks, bool(positions)


def load_course(path: str | os.PathLike[str]) -> LoadResult:
    """Read and check a course folder; returns the course if there is no problem."""
    folder = Path(path)
    display_root = str(path).rstrip("/")
    problems: list[Problem] = []

    def display(name: str) -> str:
        return f"{display_root}/{name}"

    if not folder.is_dir():
        problems.append(Problem(display_root, 1, "not a folder"))
        return LoadResult(None, problems)
    slug = folder.resolve().name
    if not SLUG_RE.match(slug):
        problems.append(Problem(display_root, 1, f"the folder name '{slug}' is the course's address: "
                                                 "use lower-case letters, digits and hyphens"))
    course_file = folder / "course.md"
    if not course_file.is_file():
        problems.append(Problem(display("course.md"), 1, "missing: every course folder needs a course.md"))
        return LoadResult(None, problems)

    images: dict[str, ImageFile] = {}
    course_reader = _FileReader(display("course.md"), problems)
    course_text = _read_text(course_file, course_reader)
    course_fm, course_body, course_body_line = course_reader.split_front_matter(course_text or "")
    meta: dict[str, Any] = {}
    standard_codes: set[str] = set()
    if course_fm is not None:
        meta, standard_codes = _check_course_front_matter(course_reader, course_fm)
    course_images = _check_images(course_reader, folder, course_body, course_body_line, images)
    if course_fm is not None:
        course_images += _check_course_image(course_reader, course_fm, folder, images)
    _check_nesting(course_reader, course_body, course_body_line)
    _check_links(course_reader, course_body, course_body_line)
    files: dict[str, CourseFile] = {}
    course_files = _check_file_links(course_reader, folder, course_body, course_body_line, files)

    glossary, glossary_intro, glossary_digest = _load_glossary(folder, display(GLOSSARY_FILE), problems)
    start = _load_start_page(folder, display(START_FILE), images, problems)
    workbooks, numbered = _load_workbooks(folder, display, standard_codes, images, files, problems)
    if not problems:  # across files: only once each file reads right (a broken workbook is not in the list)
        _check_recalls(workbooks, display, problems)
    if not numbered and not problems:
        problems.append(Problem(display_root, 1, "the course has no workbooks (files named NN-slug.md)"))

    if problems or course_fm is None:
        return LoadResult(None, problems)
    course_body_md = course_body
    digest = _digest_of({"meta": meta, "body": course_body_md,
                         "images": {p: images[p].sha256 for p in course_images},
                         "files": {n: files[n].sha256 for n in course_files}, "glossary": glossary_digest}
                        | ({"start": [start.title, start.summary, start.body,
                                      {p: images[p].sha256 for p in start.images}]} if start else {}))
    source_digest = _digest_of({"course": digest, "workbooks": [(w.filename, w.digest) for w in workbooks]})
    course = CourseSource(
        slug=slug, path=display_root, title=_text(meta["title"]), summary=_text(meta["summary"]),
        meta=meta, body=course_body_md, digest=digest, workbooks=tuple(workbooks), images=images,
        source_digest=source_digest, start=start, files=files, glossary=glossary, glossary_intro=glossary_intro,
    )
    return LoadResult(course, [])


def _load_start_page(folder: Path, display: str, images: dict[str, ImageFile],
                     problems: list[Problem]) -> StartPage | None:
    """start.md, if the folder has one: front matter with ``title`` and ``summary``
    (both required), then the page in Markdown (images as in any Markdown here)."""
    file = folder / START_FILE
    if not file.is_file():
        return None
    reader = _FileReader(display, problems)
    text = _read_text(file, reader)
    if text is None:
        return None
    doc, body, body_line = reader.split_front_matter(text)
    if doc is None:
        return None
    before = len(problems)
    fm = doc.value
    reader.check_keys(doc, fm, {"title": REQUIRED, "summary": REQUIRED}, (), "start.md's front matter")
    for key in ("title", "summary"):
        if isinstance(fm, dict) and key in fm and not _blank(fm[key]) and not isinstance(fm[key], str):
            reader.problem(doc.line(key), f"'{key}' of start.md must be text")
    if not body.strip():
        reader.problem(body_line, "start.md has no text after its front matter: say how the course works")
    used = _check_images(reader, folder, body, body_line, images)
    _check_nesting(reader, body, body_line)
    if len(problems) > before or not isinstance(fm, dict):
        return None
    return StartPage(_text(fm["title"]), _text(fm["summary"]), body, tuple(used))


def _check_recalls(workbooks: list[WorkbookSource], display: Callable[[str], str], problems: list[Problem]) -> None:
    """Each ``recall`` names an activity of this course (any workbook, in any order,
    since learners take them in any order; the page says so when the answer is not
    there yet) whose kind has an answer to show, and not the activity itself."""
    found = {(w.slug, a.id): a for w in workbooks for a in w.activities}
    for workbook in workbooks:
        for activity in workbook.activities:
            target = activity.recall
            if target is None:
                continue
            slug, _, activity_id = target.partition("/")
            recalled = found.get((slug, activity_id))
            message = None
            if (slug, activity_id) == (workbook.slug, activity.id):
                message = "it recalls itself: name an earlier activity"
            elif not any(w.slug == slug for w in workbooks):
                message = (f"there is no workbook '{slug}' in this course "
                           f"(its workbooks: {', '.join(w.slug for w in workbooks)})")
            elif recalled is None:
                message = f"workbook '{slug}' has no activity '{activity_id}'"
            elif recalled.kind not in RECALLABLE_KINDS:
                message = (f"'{target}' is a {recalled.kind}: only an answer the learner wrote or rated can be "
                           f"recalled ({', '.join(RECALLABLE_KINDS)})")
            if message:
                problems.append(Problem(display(workbook.filename), activity.recall_line,
                                        f"activity '{activity.id}': recall '{target}': {message}"))


def _read_text(file: Path, reader: _FileReader) -> str | None:
    try:
        return file.read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError as exc:
        line = file.read_bytes()[: exc.start].count(b"\n") + 1
        reader.problem(line, "not UTF-8 text (save the file as UTF-8)")
        return None


def _check_course_front_matter(reader: _FileReader, doc: YamlDoc) -> tuple[dict[str, Any], set[str]]:
    fm = doc.value
    reader.check_keys(doc, fm, COURSE_KEYS, (), "course.md's front matter")
    if "issuer" in fm and reader.check_keys(doc, fm["issuer"], ISSUER_KEYS, ("issuer",), "'issuer'"):
        email = fm["issuer"].get("email")
        if isinstance(email, str) and "@" not in email:
            reader.problem(doc.line("issuer", "email"), "'issuer' 'email' is not an e-mail address")
    objectives = fm.get("objectives")
    if objectives is not None and not (isinstance(objectives, list)
                                       and all(isinstance(o, str) and o.strip() for o in objectives)):
        reader.problem(doc.line("objectives"), "'objectives' must be a list of sentences")
    codes: set[str] = set()
    standards = fm.get("standards")
    if standards is not None and reader.check_keys(doc, standards, STANDARDS_KEYS, ("standards",), "'standards'"):
        items = standards.get("items")
        if not isinstance(items, list):
            reader.problem(doc.line("standards", "items"), "'standards' 'items' must be a list")
        else:
            for i, item in enumerate(items):
                if reader.check_keys(doc, item, STANDARD_ITEM_KEYS, ("standards", "items", i), f"standard {i + 1}"):
                    code = _text(item.get("code"))
                    if code in codes:
                        reader.problem(doc.line("standards", "items", i, "code"),
                                       f"standard code '{code}' is used twice")
                    codes.add(code)
    if "certificate" in fm and reader.check_keys(doc, fm["certificate"], CERTIFICATE_KEYS, ("certificate",),
                                                 "'certificate'"):
        signatory = fm["certificate"].get("signatory")
        if signatory is not None and not isinstance(signatory, str):
            reader.check_keys(doc, signatory, SIGNATORY_KEYS, ("certificate", "signatory"), "'certificate' 'signatory'")
            for key in SIGNATORY_KEYS:
                if key in (signatory if isinstance(signatory, dict) else {}) and not isinstance(signatory[key], str):
                    reader.problem(doc.line("certificate", "signatory", key),
                                   f"'certificate' 'signatory' '{key}' must be text")
    for key in ("image_alt", "audience", "duration"):
        if key in fm and not _blank(fm[key]) and not isinstance(fm[key], str):
            reader.problem(doc.line(key), f"'{key}' must be text")
    _check_faq(reader, doc, fm.get("faq"))
    hours = fm.get("hours")
    if hours is not None and (isinstance(hours, bool) or not isinstance(hours, (int, float))
                              or not 0 < hours <= MAX_COURSE_HOURS):
        reader.problem(doc.line("hours"), f"'hours' must be the course's study hours, a number above 0 and at most "
                                          f"{MAX_COURSE_HOURS}, e.g. 20")
    return dict(fm), codes


def _check_faq(reader: _FileReader, doc: YamlDoc, faq: Any) -> None:
    """``faq``: a list of questions, each with its answer (Markdown)."""
    if faq is None:
        return
    if not isinstance(faq, list) or not faq:
        reader.problem(doc.line("faq"), "'faq' must be a list of questions, each with 'question' and 'answer'")
        return
    if len(faq) > MAX_FAQ:
        reader.problem(doc.line("faq"), f"'faq' has {len(faq)} questions: more than {MAX_FAQ} is too many to read")
    for i, item in enumerate(faq):
        if reader.check_keys(doc, item, FAQ_KEYS, ("faq", i), f"question {i + 1} of 'faq'"):
            for key in FAQ_KEYS:
                if key in item and not _blank(item[key]) and not isinstance(item[key], str):
                    reader.problem(doc.line("faq", i, key), f"'{key}' of question {i + 1} of 'faq' must be text")


def _check_course_image(reader: _FileReader, doc: YamlDoc, folder: Path, images: dict[str, ImageFile]) -> list[str]:
    """``image``: a picture of the course (a file of the folder), described by ``image_alt``."""
    fm = doc.value
    image, alt = fm.get("image"), fm.get("image_alt")
    if image is None or _blank(image):
        if alt is not None:
            reader.problem(doc.line("image_alt"), "'image_alt' describes the course's 'image': give 'image' too")
        return []
    if not isinstance(image, str):
        reader.problem(doc.line("image"), "'image' must be the name of an image file of the course folder")
        return []
    if alt is None or _blank(alt):
        reader.problem(doc.line("image"), "'image' needs 'image_alt': a sentence saying what the picture shows, "
                                          "for people who cannot see it")
    found = _check_image_ref(reader, folder, image, doc.line("image"), images)
    return [found.path] if found is not None else []


def _load_workbook(file: Path, display: str, position: int, slug: str, folder: Path,
                   standard_codes: set[str], images: dict[str, ImageFile], files: dict[str, CourseFile],
                   problems: list[Problem]) -> WorkbookSource | None:
    reader = _FileReader(display, problems)
    before = len(problems)
    text = _read_text(file, reader)
    if text is None:
        return None
    doc, body, body_line = reader.split_front_matter(text)
    fm: dict[str, Any] = doc.value if doc is not None else {}
    if doc is not None:
        reader.check_keys(doc, fm, WORKBOOK_KEYS, (), "the front matter")
        if "badge" in fm and reader.check_keys(doc, fm["badge"], BADGE_KEYS, ("badge",), "'badge'"):
            image = fm["badge"].get("image")
            if image is not None:
                found = _check_image_ref(reader, folder, str(image), doc.line("badge", "image"), images)
                if found is not None and found.media_type != "image/png":
                    reader.problem(doc.line("badge", "image"), f"badge image '{image}' must be a PNG file")
        hours = fm.get("estimated_hours")
        if hours is not None and (isinstance(hours, bool) or not isinstance(hours, (int, float))
                                  or not 0 < hours <= 100):
            reader.problem(doc.line("estimated_hours"), "'estimated_hours' must be a number of hours, e.g. 2.5")
        standards = fm.get("standards", [])
        if not isinstance(standards, list):
            reader.problem(doc.line("standards"), "'standards' must be a list of codes, e.g. [S1, S3]")
            standards = []
        for i, code in enumerate(standards):
            if str(code) not in standard_codes:
                known = ", ".join(sorted(standard_codes)) or "none: course.md has no 'standards'"
                reader.problem(doc.line("standards", i), f"unknown standard '{code}' (course.md defines {known})")

    body_md, activities = _extract_activities(reader, body, body_line, standard_codes)
    image_paths = _check_images(reader, folder, body, body_line, images)
    file_names = _check_file_links(reader, folder, body, body_line, files)
    _check_nesting(reader, body, body_line)
    _check_links(reader, body, body_line)
    if len(problems) > before or doc is None:
        return None

    word_count = len(_WORD_RE.findall(_strip_code(body_md).replace("@@activity:", "")))
    hours = fm.get("estimated_hours")
    if hours is None:
        # About 120 words a minute for study reading, 15 minutes a required activity
        # and 5 for an optional one; to the nearest half hour.
        minutes = word_count / 120 + sum(15 if a.required else 5 for a in activities)
        hours = max(0.5, round(minutes / 30) / 2)
    badge = {k: _text(v) for k, v in fm["badge"].items()}
    image_digests = {p: images[p].sha256 for p in image_paths}
    if badge.get("image"):
        image_digests[badge["image"]] = images[normalise_ref(badge["image"])].sha256
    digest = _digest_of({"front": fm, "body": body_md, "images": image_digests,
                         "files": {n: files[n].sha256 for n in file_names},
                         "activities": [a.digest for a in activities]})
    return WorkbookSource(
        position=position, slug=slug, filename=file.name, title=_text(fm["title"]),
        summary=_text(fm["summary"]), estimated_hours=float(hours),
        standards=tuple(str(c) for c in fm.get("standards", [])), badge=badge, body=body_md,
        activities=tuple(activities), images=tuple(image_paths), files=tuple(file_names), word_count=word_count,
        digest=digest,
    )


def _extract_activities(reader: _FileReader, body: str, body_line: int,
                        standard_codes: set[str]) -> tuple[str, list[ActivitySource]]:
    """Replace each ```activity block by its marker; check each definition."""
    out: list[str] = []
    activities: list[ActivitySource] = []
    seen: dict[str, int] = {}
    lines = body.split("\n")
    i = 0
    while i < len(lines):
        match = _FENCE_RE.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        fence, info = match.group(1), match.group(2)
        start = i
        end = i + 1
        while end < len(lines) and not re.match(rf"^ {{0,3}}{fence[0]}{{{len(fence)},}}\s*$", lines[end]):
            end += 1
        if info != "activity":
            out.extend(lines[start:end + 1])
            i = end + 1
            continue
        fence_line = body_line + start
        if end >= len(lines):
            reader.problem(fence_line, f"activity block is not closed: no closing {fence} line")
            break
        activity = _check_activity(reader, "\n".join(lines[start + 1:end]), fence_line, seen, standard_codes)
        if activity is not None:
            activities.append(activity)
            out.extend(["", ACTIVITY_MARKER.format(id=activity.id), ""])
        i = end + 1
    return "\n".join(out), activities


def _check_activity(reader: _FileReader, text: str, fence_line: int, seen: dict[str, int],
                    standard_codes: set[str]) -> ActivitySource | None:
    try:
        doc = parse_yaml(text, first_line=fence_line + 1)
    except YamlError as exc:
        reader.problem(exc.line, f"activity: {exc.message}")
        return None
    definition = doc.value
    for key, line in doc.duplicate_keys:
        reader.problem(line, f"activity: key '{key}' is given twice")
    if not isinstance(definition, dict):
        reader.problem(fence_line, "activity: the block must be YAML 'key: value' lines")
        return None
    before = len(reader.problems)
    activity_id = definition.get("id")
    label = f"activity '{activity_id}'" if isinstance(activity_id, str) else "activity"
    if activity_id is None:
        reader.problem(fence_line, "activity has no 'id'")
    elif not (isinstance(activity_id, str) and ID_RE.match(activity_id)):
        reader.problem(doc.line("id"), f"activity id '{activity_id}' must be lower-case letters, digits and hyphens")
    elif activity_id in seen:
        reader.problem(doc.line("id"),
                       f"duplicate activity id '{activity_id}' (first used on line {seen[activity_id]})")
    else:
        seen[activity_id] = doc.line("id")
    if "required" in definition and not isinstance(definition["required"], bool):
        reader.problem(doc.line("required"), f"{label}: 'required' must be true or false")
    if "title" in definition and not isinstance(definition["title"], str):
        reader.problem(doc.line("title"), f"{label}: 'title' must be text")
    recall = definition.get("recall")
    if "recall" in definition and not (isinstance(recall, str) and _RECALL_RE.match(recall)):
        reader.problem(doc.line("recall"), f"{label}: 'recall' must be <workbook-slug>/<activity-id>, "
                                           "e.g. smart-goal-setting/smart-goal")
    kind_name = definition.get("kind")
    kind = get_kind(kind_name) if isinstance(kind_name, str) else None
    if kind_name is None:
        reader.problem(fence_line, f"{label} has no 'kind' (one of: {', '.join(sorted(KINDS))})")
    elif kind is None:
        reader.problem(doc.line("kind"),
                       f"{label}: activity kind '{kind_name}' is not one of: {', '.join(sorted(KINDS))}")
    else:
        for problem in kind.validate(definition):
            reader.problem(doc.line(*problem.path), f"{label}: {problem.message}")
        if isinstance(kind, SelfAssessment):
            for path, code in kind.standards(definition):
                if str(code) not in standard_codes:
                    reader.problem(doc.line(*path), f"{label}: unknown standard '{code}'")
    if len(reader.problems) > before:
        return None
    assert isinstance(activity_id, str) and isinstance(kind_name, str)  # else a problem was reported above
    return ActivitySource(
        id=activity_id, kind=kind_name, required=definition.get("required", False),
        title=definition.get("title"), definition=definition, line=fence_line,
        digest=_digest_of(definition), recall_line=doc.line("recall") if "recall" in definition else 0,
    )


def _strip_code(markdown_text: str) -> str:
    return re.sub(r"^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\1\s*$", "", markdown_text, flags=re.M | re.S)


def normalise_ref(ref: str) -> str:
    return str(PurePosixPath(ref.split("#")[0].split("?")[0]))


def _prose_lines(body: str) -> Iterator[tuple[int, str]]:
    """(offset, line) of each line of Markdown outside fenced code blocks."""
    in_code: str | None = None  # the fence character of the code block we are in
    for offset, line in enumerate(body.split("\n")):
        fence = _FENCE_RE.match(line)
        if fence:
            char = fence.group(1)[0]
            if in_code is None:
                in_code = char
            elif char == in_code:
                in_code = None
            continue
        if not in_code:
            yield offset, line


def _check_nesting(reader: _FileReader, body: str, body_line: int) -> None:
    """Python-Markdown renders lists and quotes inside one another by recursion, and
    slowly: some hundreds of levels stop it (RecursionError) or take it minutes. No
    course needs more than a few; a line deeper than these limits is a problem."""
    for offset, line in _prose_lines(body):
        indent = len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip(" "))
        quote_marks = _QUOTES_RE.match(line)
        assert quote_marks is not None  # ^[ >]* matches every line
        quotes = len(quote_marks.group(0).replace(" ", ""))
        if indent > MAX_INDENT:
            reader.problem(body_line + offset, f"the line is indented {indent} spaces: more than {MAX_INDENT} "
                                               "nests lists too deep to show")
        elif quotes > MAX_QUOTE_DEPTH:
            reader.problem(body_line + offset, f"the line is quoted {quotes} levels deep ('>'): more than "
                                               f"{MAX_QUOTE_DEPTH} is too deep to show")


_INLINE_CODE_RE = re.compile(r"(`+).+?\1")


def _check_links(reader: _FileReader, body: str, body_line: int) -> None:
    """A link's ``](`` whose ``)`` never comes: Python-Markdown looks for it to the end
    of the paragraph, again for each one, so that 4,000 of them took 11 s to publish
    (quadratic). Such a link shows as its raw text anyway: each is a problem, on its
    line, before anything is rendered. (Inline code is left out: `[a](` is fine.)"""
    for offset, line in _prose_lines(body):
        prose = _INLINE_CODE_RE.sub("", line)
        start = prose.find("](")
        while start != -1:
            if ")" not in prose[start + 2:] and not prose[:start].endswith("\\"):
                reader.problem(body_line + offset, "a link's '](' has no ')' on its line: close it, or write "
                                                   "'\\](' to show the text as it is")
                break
            start = prose.find("](", start + 2)


def _check_images(reader: _FileReader, folder: Path, body: str, body_line: int,
                  images: dict[str, ImageFile]) -> list[str]:
    """Every image the body refers to must be a file of the course folder."""
    found: list[str] = []
    for offset, line in _prose_lines(body):
        for regex in (_IMAGE_MD_RE, _IMAGE_HTML_RE):
            for match in regex.finditer(line):
                image = _check_image_ref(reader, folder, match.group(1), body_line + offset, images)
                if image is not None:
                    found.append(image.path)
    return found


def _check_image_ref(reader: _FileReader, folder: Path, ref: str, line: int,
                     images: dict[str, ImageFile]) -> ImageFile | None:
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", ref) or ref.startswith("//"):
        reader.problem(line, f"image '{ref}' is on another site: put the file in the course folder "
                             "(learners' browsers load images only from this site)")
        return None
    relative = normalise_ref(ref)
    if relative in images:
        return images[relative]
    if relative.startswith("/") or ".." in PurePosixPath(relative).parts:
        reader.problem(line, f"image '{ref}' is outside the course folder")
        return None
    file = folder / relative
    suffix = PurePosixPath(relative).suffix.lower()
    if not file.is_file():
        reader.problem(line, f"image '{ref}' not found in the course folder")
        return None
    if suffix not in IMAGE_TYPES:
        reader.problem(line, f"image '{ref}': use a PNG, JPEG, GIF or WebP file")
        return None
    data = file.read_bytes()
    media_type, looks_right = IMAGE_TYPES[suffix]
    if len(data) > MAX_IMAGE_BYTES:
        reader.problem(line, f"image '{ref}' is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
        return None
    if not looks_right(data):
        reader.problem(line, f"image '{ref}' is not a {suffix[1:].upper()} file")
        return None
    image = ImageFile(path=relative, media_type=media_type, sha256=_sha256(data), data=data)
    images[relative] = image
    return image


def is_course_file_link(ref: str) -> bool:
    """A link to a file of the course folder: a name, not an address of a site, of
    this site ('/...') or of a place on the page ('#...'), and named like a file (an
    extension at the end). Anything else with ':' or '&' in it (an address hidden
    behind character references, say) is no file name but left to the sanitiser,
    which takes out what is not an http(s), mailto or relative link."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", ref) or ref.startswith(("/", "#", "?")):
        return False
    return bool(re.search(r"\.[A-Za-z0-9]{2,5}$", ref.strip())) and not re.search(r"[:&]", ref)


def _check_file_links(reader: _FileReader, folder: Path, body: str, body_line: int,
                      files: dict[str, CourseFile]) -> list[str]:
    """Every course file the body links to must be in the folder, of an allowed type
    whose content is what its name says, and at most MAX_COURSE_FILE_BYTES."""
    found: list[str] = []
    for offset, line in _prose_lines(body):
        for regex in (_LINK_MD_RE, _LINK_HTML_RE):
            for match in regex.finditer(line):
                ref = match.group(1)
                if is_course_file_link(ref):
                    course_file = _check_file_ref(reader, folder, ref, body_line + offset, files)
                    if course_file is not None and course_file.name not in found:
                        found.append(course_file.name)
    return found


def _check_file_ref(reader: _FileReader, folder: Path, ref: str, line: int,
                    files: dict[str, CourseFile]) -> CourseFile | None:
    name = normalise_ref(ref)
    if name in files:
        return files[name]
    allowed = ", ".join(kind for _type, kind in COURSE_FILE_TYPES.values())
    suffix = PurePosixPath(name).suffix.lower()
    if "/" in name or name in (".", ".."):
        reader.problem(line, f"link '{ref}': a course file must be in the course folder itself, named without a "
                             "folder (course folders have no subfolders)")
        return None
    if not COURSE_FILE_NAME_RE.match(name):
        reader.problem(line, f"link '{ref}': name a course file with letters, digits, '-', '_' and '.' only "
                             "(it is the name people download it under)")
        return None
    if suffix not in COURSE_FILE_TYPES:
        reader.problem(line, f"link '{ref}': a course can ship only {allowed} files; link other pages by their "
                             "full address (https://...)")
        return None
    file = folder / name
    if not file.is_file():
        reader.problem(line, f"link '{ref}': the file '{name}' is not in the course folder")
        return None
    size = file.stat().st_size
    if size > MAX_COURSE_FILE_BYTES:
        reader.problem(line, f"link '{ref}': the file is {size / (1024 * 1024):.1f} MB, more than the "
                             f"{MAX_COURSE_FILE_BYTES // (1024 * 1024)} MB a course file may be")
        return None
    data = file.read_bytes()
    media_type, kind = COURSE_FILE_TYPES[suffix]
    if not _looks_like(suffix, data):
        reader.problem(line, f"link '{ref}': the file is not a {kind} file, whatever its name says "
                             "(save it again from the program that made it)")
        return None
    course_file = CourseFile(name=name, media_type=media_type, sha256=_sha256(data), data=data)
    files[name] = course_file
    return course_file


def _looks_like(suffix: str, data: bytes) -> bool:
    """The content is what the extension says: a PDF starts with ``%PDF-``; a DOCX is
    a zip with ``[Content_Types].xml`` declaring a Word document; an ODT is a zip whose
    ``mimetype`` entry names an OpenDocument text."""
    if suffix == ".pdf":
        return data.startswith(b"%PDF-")
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if suffix == ".docx":
                types = archive.read("[Content_Types].xml")
                return b"wordprocessingml.document.main+xml" in types
            return archive.read("mimetype").strip() == ODT_TYPE.encode()
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, NotImplementedError):
        return False


def _load_glossary(folder: Path, display: str,
                   problems: list[Problem]) -> tuple[tuple[GlossaryTerm, ...], str, str | None]:
    """``glossary.md`` (optional): front matter ``terms``, a list of ``term``,
    ``aliases`` (other names of it: a plural, the words an abbreviation stands for) and
    ``definition`` (Markdown); the body, an introduction. Each term and alias once (in
    any case). Returns the terms, the body and a digest (None: no glossary)."""
    file = folder / GLOSSARY_FILE
    if not file.is_file():
        return (), "", None
    reader = _FileReader(display, problems)
    text = _read_text(file, reader)
    doc, body, _body_line = reader.split_front_matter(text or "")
    if doc is None:
        return (), "", None
    fm = doc.value
    for key in fm:
        if key != "terms":
            reader.problem(doc.line(key), f"unknown key '{key}' in the glossary (allowed: terms)")
    entries = fm.get("terms")
    if not isinstance(entries, list) or not entries:
        reader.problem(doc.line("terms"), "the glossary needs 'terms': a list, each with 'term' and 'definition'")
        return (), "", None
    terms: list[GlossaryTerm] = []
    seen: dict[str, int] = {}
    anchors: dict[str, int] = {}
    for i, entry in enumerate(entries):
        what = f"term {i + 1} of the glossary"
        if not reader.check_keys(doc, entry, GLOSSARY_KEYS, ("terms", i), what):
            continue
        term, definition, aliases = entry.get("term"), entry.get("definition"), entry.get("aliases", [])
        if not (isinstance(term, str) and term.strip()) or not (isinstance(definition, str) and definition.strip()):
            if term is not None and not isinstance(term, str):
                reader.problem(doc.line("terms", i, "term"), f"'term' of {what} must be text")
            if definition is not None and not isinstance(definition, str):
                reader.problem(doc.line("terms", i, "definition"), f"'definition' of {what} must be text")
            continue
        if not (isinstance(aliases, list) and all(isinstance(a, str) and a.strip() for a in aliases)):
            reader.problem(doc.line("terms", i, "aliases"), f"'aliases' of '{term}' must be a list of names")
            continue
        for path, name in [(("terms", i, "term"), term)] + [(("terms", i, "aliases", j), a)
                                                              for j, a in enumerate(aliases)]:
            key = " ".join(name.split()).casefold()
            if key in seen:
                reader.problem(doc.line(*path),
                               f"'{name.strip()}' is in the glossary twice (first on line {seen[key]})")
            else:
                seen[key] = doc.line(*path)
        anchor = "term-" + (re.sub(r"[^a-z0-9]+", "-", term.casefold()).strip("-") or str(i + 1))
        if anchor in anchors:
            anchor = f"{anchor}-{i + 1}"
        anchors[anchor] = i
        terms.append(GlossaryTerm(term=" ".join(term.split()), aliases=tuple(" ".join(a.split()) for a in aliases),
                                  definition=definition.strip(), anchor=anchor))
    intro = body.strip()
    return tuple(terms), intro, _digest_of({"terms": [(t.term, t.aliases, t.definition) for t in terms],
                                            "intro": intro})
