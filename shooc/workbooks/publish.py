"""Publishing a loaded course as a new version, all-or-nothing, and telling what changed."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from shooc.badges import images
from shooc.workbooks.activities import get_kind
from shooc.workbooks.loader import (
    CourseFile,
    CourseSource,
    ImageFile,
    WorkbookSource,
    is_course_file_link,
    normalise_ref,
)
from shooc.workbooks.models import ActivityVersion, Asset, Course, CourseVersion, WorkbookVersion
from shooc.workbooks.render import (
    LinkHref,
    link_glossary_terms,
    plain_text,
    render_body,
    render_fields,
    render_markdown,
)


@dataclass
class WorkbookChange:
    slug: str
    filename: str
    activities_added: list[str] = field(default_factory=list)
    activities_changed: list[str] = field(default_factory=list)
    activities_removed: list[str] = field(default_factory=list)


@dataclass
class VersionDiff:
    """What a course folder changes against the published version."""

    first_version: bool
    course_changed: bool = False
    workbooks_added: list[WorkbookChange] = field(default_factory=list)
    workbooks_changed: list[WorkbookChange] = field(default_factory=list)
    workbooks_removed: list[WorkbookChange] = field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        return not (self.first_version or self.course_changed or self.workbooks_added
                    or self.workbooks_changed or self.workbooks_removed)

    def lines(self) -> list[str]:
        """The change, for people: one line per workbook and activity."""
        out = []
        if self.course_changed and not self.first_version:
            out.append("  changed  course.md")
        for verb, changes in (("added", self.workbooks_added), ("changed", self.workbooks_changed),
                              ("removed", self.workbooks_removed)):
            for change in changes:
                out.append(f"  {verb:<8} workbook {change.filename}")
                for a_verb, ids in (("added", change.activities_added), ("changed", change.activities_changed),
                                    ("removed", change.activities_removed)):
                    out.extend(f"    {a_verb:<8} activity {activity_id}" for activity_id in ids)
        return out


@dataclass
class PublishResult:
    course: Course
    version: CourseVersion  # the version now published (the old one if nothing changed)
    previous_number: int | None
    diff: VersionDiff

    @property
    def published(self) -> bool:
        return not self.diff.unchanged


def find_course(session: Session, slug: str) -> Course | None:
    return session.scalar(select(Course).where(Course.slug == slug))


def current_version(session: Session, course: Course) -> CourseVersion | None:
    if course.current_version_id is None:
        return None
    return session.scalar(
        select(CourseVersion).where(CourseVersion.id == course.current_version_id)
        .options(selectinload(CourseVersion.workbooks).selectinload(WorkbookVersion.activities)))


def diff_course(session: Session, source: CourseSource) -> VersionDiff:
    course = find_course(session, source.slug)
    published = current_version(session, course) if course else None
    return _diff(published, source)


def _diff(published: CourseVersion | None, source: CourseSource) -> VersionDiff:
    if published is None:
        return VersionDiff(first_version=True, workbooks_added=[
            WorkbookChange(w.slug, w.filename, activities_added=[a.id for a in w.activities])
            for w in source.workbooks])
    diff = VersionDiff(first_version=False, course_changed=published.digest != source.digest)
    old = {w.slug: w for w in published.workbooks}
    new = {w.slug: w for w in source.workbooks}
    for workbook in source.workbooks:
        before = old.get(workbook.slug)
        if before is None:
            diff.workbooks_added.append(WorkbookChange(
                workbook.slug, workbook.filename, activities_added=[a.id for a in workbook.activities]))
        elif before.digest != workbook.digest or before.position != workbook.position:
            diff.workbooks_changed.append(_workbook_change(before, workbook))
    for slug, before in old.items():
        if slug not in new:
            diff.workbooks_removed.append(WorkbookChange(
                slug, before.filename, activities_removed=[a.activity_id for a in before.activities]))
    return diff


def _workbook_change(before: WorkbookVersion, after: WorkbookSource) -> WorkbookChange:
    old = {a.activity_id: a.digest for a in before.activities}
    new = {a.id: a.digest for a in after.activities}
    return WorkbookChange(
        after.slug, after.filename,
        activities_added=[i for i in new if i not in old],
        activities_changed=[i for i in new if i in old and old[i] != new[i]],
        activities_removed=[i for i in old if i not in new],
    )


def publish_course(session: Session, source: CourseSource, published_by_id: int | None = None) -> PublishResult:
    """Store ``source`` as the course's next version and make it current.

    Everything is added to the session and flushed; the caller commits, so a failure
    anywhere leaves the published course as it was. Publishing a folder identical to
    the current version adds nothing.
    """
    course = find_course(session, source.slug)
    if course is None:
        course = Course(slug=source.slug)
        session.add(course)
        session.flush()
    else:
        # One publisher at a time per course (PostgreSQL row lock; SQLite serialises writes).
        session.execute(select(Course.id).where(Course.id == course.id).with_for_update())
    published = current_version(session, course)
    diff = _diff(published, source)
    previous_number = published.number if published else None
    if published is not None and diff.unchanged:
        return PublishResult(course, published, previous_number, diff)

    _store_assets(session, source)

    def image_src(ref: str) -> str | None:
        image = source.image(ref)
        return image.url if image else None

    link_href = file_link_href(source)

    number = (session.scalar(select(func.max(CourseVersion.number))
                             .where(CourseVersion.course_id == course.id)) or 0) + 1
    version = CourseVersion(
        course_id=course.id, number=number, title=source.title, summary=source.summary,
        meta=_course_meta(source, image_src, link_href),
        body_html=render_markdown(source.body, image_src, link_href=link_href),
        digest=source.digest, source_digest=source.source_digest, published_by_id=published_by_id,
    )
    previous_badges = {w.slug: w.badge for w in published.workbooks} if published else {}
    for workbook in source.workbooks:
        wb_version = _workbook_version(workbook, image_src, source)
        if not workbook.badge.get("image"):
            wb_version.badge = _generated_badge_image(session, wb_version.badge, workbook, source,
                                                      previous_badges.get(workbook.slug))
        version.workbooks.append(wb_version)
    session.add(version)
    session.flush()
    course.current_version_id = version.id
    session.flush()
    return PublishResult(course, version, previous_number, diff)


def _course_meta(source: CourseSource, image_src: Callable[[str], str | None],
                 link_href: LinkHref) -> dict[str, Any]:
    """course.md's front matter as JSON, with what the course page shows ready made:
    the picture's address (``image_url``, under /assets/ like every image), each
    FAQ answer's Markdown rendered and sanitised (``answer_html``), start.md's page
    (``start_page``: title, summary, sanitised ``body_html``), and the files the course
    ships (``files``: name -> sha256 of its asset, media type, size), served at
    ``course_file_url``."""
    meta: dict[str, Any] = _jsonable(source.meta)
    meta["glossary"] = _glossary(source, image_src, link_href)
    meta["files"] = {f.name: {"sha256": f.sha256, "media_type": f.media_type, "size": len(f.data)}
                     for f in source.files.values()}
    if meta.get("image"):
        meta["image_url"] = image_src(str(meta["image"]))
    if isinstance(meta.get("faq"), list):
        meta["faq"] = [{**item, "answer_html": render_markdown(str(item["answer"]), image_src, link_href=link_href)}
                       for item in meta["faq"]]
    if source.start is not None:  # start.md: the "Start here" page, published with the version
        meta["start_page"] = {"title": source.start.title, "summary": source.start.summary,
                              "body_html": render_markdown(source.start.body, image_src)}
    return meta


def _workbook_version(workbook: WorkbookSource, image_src: Callable[[str], str | None],
                      source: CourseSource) -> WorkbookVersion:
    """A workbook rendered as learners see it (also the staged upload's preview):
    course files' links rewritten, glossary terms linked."""
    link_href = file_link_href(source)
    badge = dict(workbook.badge)
    if badge.get("image"):
        badge["image_url"] = source.images[badge["image"]].url
        badge["image_sha256"] = source.images[badge["image"]].sha256
    version = WorkbookVersion(
        position=workbook.position, slug=workbook.slug, filename=workbook.filename,
        title=workbook.title, summary=workbook.summary, estimated_hours=workbook.estimated_hours,
        word_count=workbook.word_count, standards=list(workbook.standards), badge=badge,
        body_parts=render_body(workbook.body, image_src, link_href, after=_term_linker(source, image_src)),
        digest=workbook.digest,
    )
    for position, activity in enumerate(workbook.activities, start=1):
        kind = get_kind(activity.kind)
        assert kind is not None  # the loader accepted it
        version.activities.append(ActivityVersion(
            activity_id=activity.id, position=position, kind=activity.kind, required=activity.required,
            title=activity.title, definition=_jsonable(activity.definition),
            rendered=render_fields(kind.markdown_fields(activity.definition), image_src, link_href),
            digest=activity.digest,
        ))
    return version


def _generated_badge_image(session: Session, badge: dict, workbook: WorkbookSource, source: CourseSource,
                           previous: dict | None) -> dict:
    """A badge without an image of its own gets a drawn one (number, title, course);
    drawn again only when those change."""
    key = hashlib.sha256(f"{images.__name__}:{images.SIZE}|{workbook.position}|{workbook.title}|{source.title}"
                         .encode()).hexdigest()
    badge = dict(badge)
    if previous and previous.get("generated_key") == key and previous.get("image_sha256"):
        sha = previous["image_sha256"]
    else:
        png = images.draw_badge(workbook.position, workbook.title, source.title)
        sha = hashlib.sha256(png).hexdigest()
        if session.get(Asset, sha) is None:
            session.add(Asset(sha256=sha, media_type="image/png", data=png))
    badge.update(generated_key=key, image_sha256=sha, image_url=f"/assets/{sha}.png")
    return badge


def glossary_url(course_slug: str) -> str:
    """The course's glossary page (shooc.workbooks.views.glossary)."""
    return f"/courses/{course_slug}/glossary"


def _glossary(source: CourseSource, image_src: Callable[[str], str | None],
              link_href: LinkHref) -> dict[str, Any] | None:
    """glossary.md rendered for its page: the introduction and each term with its
    aliases, its entry's id and its definition's sanitised HTML (None: no glossary)."""
    if not source.glossary:
        return None
    return {"intro_html": render_markdown(source.glossary_intro, image_src, link_href=link_href),
            "terms": [{"term": t.term, "aliases": list(t.aliases), "anchor": t.anchor,
                       "definition_html": render_markdown(t.definition, image_src, link_href=link_href)}
                      for t in source.glossary]}


def _term_linker(source: CourseSource, image_src: Callable[[str], str | None]) -> Callable[[str], str] | None:
    """What links a workbook's first use of each glossary term to its entry."""
    if not source.glossary:
        return None
    page = glossary_url(source.slug)
    terms = [(t.names, f"{page}#{t.anchor}", plain_text(render_markdown(t.definition, image_src)))
             for t in source.glossary]
    return lambda html: link_glossary_terms(html, terms)


def file_link_href(source: CourseSource) -> LinkHref:
    """What rewrites a link to one of the course's files to its download address."""
    def link_href(ref: str) -> str | None:
        found = source.files.get(normalise_ref(ref)) if is_course_file_link(ref) else None
        return course_file_url(source.slug, found.name) if found else None

    return link_href


def course_file_url(course_slug: str, name: str) -> str:
    """Where a course file is downloaded (shooc.workbooks.views.course_file serves it)."""
    return f"/courses/{course_slug}/files/{name}"


def _store_assets(session: Session, source: CourseSource) -> None:
    """The images and the files a course ships, in the database by their hash (as
    images always were), so that every app server serves them."""
    wanted: dict[str, ImageFile | CourseFile] = {image.sha256: image for image in source.images.values()}
    wanted.update({course_file.sha256: course_file for course_file in source.files.values()})
    if not wanted:
        return
    have = set(session.scalars(select(Asset.sha256).where(Asset.sha256.in_(wanted))))
    for sha, image in wanted.items():
        if sha not in have:
            session.add(Asset(sha256=sha, media_type=image.media_type, data=image.data))


def _jsonable(value: Any) -> Any:
    """YAML may hold dates; JSON columns need plain values."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
