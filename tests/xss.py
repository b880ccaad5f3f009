"""XSS payloads, and a check of HTML that says whether any of them could run.

The check parses the page (html.parser, as a browser tokenises it) rather than
looking for strings: a payload that shows as text is fine, one that became a tag, an
event handler or a script URL is not."""
from __future__ import annotations

import datetime as dt
import html
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from conftest import PASSWORD, TODAY, complete_answer
from shooc.auth.services import create_user
from shooc.badges.models import BadgeAssertion, Certificate
from shooc.enrolment import answers
from shooc.enrolment import services
from shooc.enrolment.runs import create_run
from shooc.evaluate.models import Evaluation, OverallEffect
from shooc.lead import communications
from shooc.lead.review import give_feedback
from shooc.workbooks.loader import load_course
from shooc.workbooks.models import WorkbookVersion
from shooc.workbooks.publish import publish_course
from shooc.urls import SiteUrls

# Each sets window.xss (or would open a dialog) if it ran. Markdown forms are there
# for the texts rendered as Markdown; raw HTML for the rest, and for Markdown's raw HTML.
PAYLOADS = [
    "<script>window.xss=1</script>",
    "<img src=x onerror=\"window.xss=1\">",
    "<svg onload=\"window.xss=1\"><circle r=1></circle></svg>",
    "<svg><script>window.xss=1</script></svg>",
    "\"><script>window.xss=1</script>",
    "' onmouseover='window.xss=1' x='",
    "<iframe src=\"javascript:window.xss=1\"></iframe>",
    "<iframe srcdoc=\"<script>parent.xss=1</script>\"></iframe>",
    "<a href=\"javascript:window.xss=1\">html link</a>",
    "<a href=\" &#14; javascript:window.xss=1\">spaced link</a>",
    "[markdown link](javascript:window.xss=1)",
    "[mixed case](JaVaScRiPt:window.xss=1)",
    "[entity encoded](&#106;&#97;vascript:window.xss=1)",
    "[tab inside](java\tscript:window.xss=1)",
    "<javascript:window.xss=1>",
    "![image](javascript:window.xss=1)",
    "[data url](data:text/html;base64,PHNjcmlwdD53aW5kb3cueHNzPTE8L3NjcmlwdD4=)",
    "<a href=\"data:text/html,<script>window.xss=1</script>\">data link</a>",
    "[vbscript](vbscript:msgbox(1))",
    "<div style=\"background:url(javascript:window.xss=1)\">styled</div>",
    "<p style=\"width: expression(window.xss=1)\">expression</p>",
    "<object data=\"javascript:window.xss=1\"></object><embed src=\"javascript:window.xss=1\">",
    "<details open ontoggle=\"window.xss=1\"><summary>s</summary></details>",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.xss=1></style></mglyph></table></mtext></math>",
    "<base href=\"javascript:/\"><meta http-equiv=\"refresh\" content=\"0;url=javascript:window.xss=1\">",
    "<form action=\"javascript:window.xss=1\"><button formaction=\"javascript:window.xss=1\">b</button></form>",
    "<font color=red>ReportLab font</font><a href=\"javascript:window.xss=1\">ReportLab link</a><br/>",
    "{{ 7*7 }}{% raw %}",
]
ALL_PAYLOADS = "\n\n".join(PAYLOADS)
# For fields of at most 200 characters (names, titles).
SHORT_PAYLOAD = "\"><img src=x onerror=window.xss=1><script>window.xss=1</script><font color=red>F</font>"

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "background", "poster",
                  "srcset", "cite", "codebase", "dynsrc", "lowsrc"}
FORBIDDEN_TAGS = {"iframe", "frame", "frameset", "object", "embed", "applet", "base", "meta", "math", "style"}
_SCHEME_RE = re.compile(r"^([a-z][a-z0-9+.-]*):")


def _scheme(value: str) -> str | None:
    # as a browser reads a URL (WHATWG URL parsing): entities decoded, leading and
    # trailing controls and spaces stripped, tabs and newlines removed anywhere
    cleaned = re.sub(r"[\t\n\r]", "", html.unescape(value).strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b"
                                                                 "\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16"
                                                                 "\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")).lower()
    match = _SCHEME_RE.match(cleaned)
    return match.group(1) if match else None


class ScriptFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._check(tag, attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._check(tag, attrs)

    def _check(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "script" and not a.get("src", "").startswith("/static/"):
            self.problems.append(f"<script> not of ours: {attrs}")
        if tag in FORBIDDEN_TAGS and not (tag == "meta" and "http-equiv" not in a):
            self.problems.append(f"<{tag}> {attrs}")
        for name, value in a.items():
            if name.startswith("on"):
                self.problems.append(f"event handler {name}={value!r} on <{tag}>")
            if name == "srcdoc":
                self.problems.append(f"srcdoc on <{tag}>")
            if name in URL_ATTRIBUTES and _scheme(value) not in (None, "http", "https", "mailto"):
                if not (tag == "img" and name == "src" and value.startswith("data:image/")):
                    self.problems.append(f"{name}={value!r} on <{tag}>")
            if name == "style" and re.search(r"expression|javascript|url\s*\(", html.unescape(value), re.I):
                self.problems.append(f"style={value!r} on <{tag}>")


def script_problems(page: str) -> list[str]:
    """What in the page could run: foreign scripts, handlers, script URLs, frames."""
    finder = ScriptFinder()
    finder.feed(page)
    finder.close()
    return finder.problems


# Content with an image that is not a file of the course is refused by the loader
# (test_images_of_other_sites_are_refused below); every other payload is published.
CONTENT_PAYLOADS = "\n\n".join(p for p in PAYLOADS if "<img" not in p and "![" not in p)


def _poison_course(folder: Path) -> None:
    workbook = folder / "01-the-mentors-role.md"
    text = workbook.read_text()
    text = text.replace("# The mentor's role\n", "# The mentor's role\n\n" + CONTENT_PAYLOADS + "\n", 1)
    text = text.replace("  Which two of the six roles come most naturally to you, and which do you find\n",
                        "  " + "\n  ".join(CONTENT_PAYLOADS.split("\n")) + "\n", 1)
    text = text.replace("  criteria: >-\n", "  criteria: >-\n    [criteria link](javascript:window.xss=1)\n", 1)
    workbook.write_text(text)
    course = folder / "course.md"
    body = course.read_text()
    course.write_text(body + "\n" + CONTENT_PAYLOADS + "\n")


def set_up_poisoned(db: Session, folder: Path) -> dict[str, Any]:
    """A course whose content holds the payloads (a copy of it in ``folder``, changed),
    published; a run named with a payload; a learner named with one who answered
    every activity with them and finished (badges, a certificate, the first badge's
    evidence public); the leader's feedback, an announcement and a recording made of
    them; six survey comments. Committed."""
    _poison_course(folder)
    course = publish_course(db, load_course(folder).course).course
    run = create_run(db, course, TODAY - dt.timedelta(days=10), TODAY + dt.timedelta(days=100),
                     name=SHORT_PAYLOAD[:80], slug="spring")
    other = create_run(db, course, TODAY - dt.timedelta(days=10), TODAY + dt.timedelta(days=100),
                       name="<svg onload=window.xss=1>", slug="autumn")
    learner = create_user(db, "xss@example.org", SHORT_PAYLOAD, "learner", PASSWORD, organisation=SHORT_PAYLOAD)
    leader = create_user(db, "xss-leader@example.org", SHORT_PAYLOAD, "leader", PASSWORD)
    enrolment = services.enrol(db, run, learner.id, TODAY)
    db.commit()
    # every workbook answered with the payloads, all submitted: badges, a certificate
    for workbook in run.course.current_version.workbooks:
        state = answers.workbook_state(db, enrolment, workbook)
        for activity in workbook.activities:
            answer = complete_answer(activity)
            if "text" in answer:
                answer["text"] = ALL_PAYLOADS + " " + answer["text"]
            elif activity.kind == "smart-goal":
                answer = {**{k: SHORT_PAYLOAD for k in answer if k != "target_date"}, "target_date": "2030-01-01"}
            if activity.kind == "quiz":
                answers.check_quiz(db, enrolment, state, activity.activity_id, answer)
            else:
                answers.save_drafts(db, enrolment, state, {activity.activity_id: answer})
        answers.submit_workbook(db, enrolment, state)
        db.commit()
    first = db.scalar(select(WorkbookVersion).where(
        WorkbookVersion.course_version_id == run.course.current_version_id, WorkbookVersion.position == 1))
    assertion = db.scalar(select(BadgeAssertion).where(BadgeAssertion.enrolment_id == enrolment.id,
                                                       BadgeAssertion.workbook_slug == first.slug))
    enrolment.show_name, assertion.evidence_activity_id = True, "roles-warm-up"
    give_feedback(db, leader, enrolment, first.slug, ALL_PAYLOADS)
    links = SiteUrls("http://x")
    communications.post_announcement(db, leader, run, SHORT_PAYLOAD, ALL_PAYLOADS, links)
    communications.add_recording(db, leader, run.course, first.slug, SHORT_PAYLOAD, "https://video.example.org/1",
                                 ALL_PAYLOADS)
    # survey comments are shown once a run has MIN_RESPONSES responses
    for n in range(6):
        someone = create_user(db, f"evaluated{n}@example.org", f"Evaluated {n}", "learner", PASSWORD)
        evaluated = services.enrol(db, run, someone.id, TODAY)
        db.add(Evaluation(enrolment_id=evaluated.id, overall_effect=OverallEffect.good, comments=ALL_PAYLOADS))
    db.commit()
    certificate = db.scalar(select(Certificate).where(Certificate.enrolment_id == enrolment.id))
    return {"run": run, "other": other, "learner": learner, "leader": leader, "enrolment": enrolment,
            "assertion": assertion, "certificate": certificate, "first": first}
