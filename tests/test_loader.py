"""Reading and checking course folders: every mistake, with its file and line."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import MENTORING
from shooc.workbooks.loader import load_course

WB = "03-observation-and-feedback.md"


def problems_of(folder: Path) -> list[str]:
    result = load_course(folder)
    assert result.course is None, "a course with problems must not be returned"
    return [str(p) for p in result.problems]


def edit(folder: Path, name: str, old: str, new: str, count: int = 1) -> None:
    path = folder / name
    text = path.read_text()
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, count))


def line_of(folder: Path, name: str, needle: str) -> int:
    for number, line in enumerate((folder / name).read_text().split("\n"), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {name}")


def test_shipped_course_is_clean_and_complete() -> None:
    result = load_course(MENTORING)
    assert result.problems == []
    course = result.course
    assert course is not None and course.slug == "mentoring"
    assert [w.position for w in course.workbooks] == [1, 2, 3, 4, 5]
    for workbook in course.workbooks:
        kinds = {a.kind for a in workbook.activities}
        assert {"reflection", "quiz", "self-assessment"} <= kinds, workbook.filename
        assert any(a.kind == "reflection" and a.required for a in workbook.activities)
        assert any(a.kind == "quiz" and a.required for a in workbook.activities)
        for heading in ("## Case study", "## Top tips", "## Further reading"):
            assert heading in workbook.body, (workbook.filename, heading)
        assert workbook.word_count >= 2000, workbook.filename
        assert workbook.badge["name"] and workbook.badge["criteria"]
        assert set(workbook.standards) <= {"S1", "S2", "S3", "S4"} and workbook.standards
    assert any(a.kind == "smart-goal" for w in course.workbooks for a in w.activities)


def test_missing_title_summary_and_badge(course_copy: Path) -> None:
    text = (course_copy / WB).read_text()
    for key in ("title", "summary", "badge"):
        text = re.sub(rf"^{key}:.*\n(  .*\n)*", "", text, count=1, flags=re.M)
    (course_copy / WB).write_text(text)
    found = problems_of(course_copy)
    prefix = f"{course_copy}/{WB}:2: "
    assert prefix + "missing required key 'title' in the front matter" in found
    assert prefix + "missing required key 'summary' in the front matter" in found
    assert prefix + "missing required key 'badge' in the front matter" in found


def test_missing_badge_criteria(course_copy: Path) -> None:
    text = (course_copy / WB).read_text()
    (course_copy / WB).write_text(re.sub(r"^  criteria:.*\n(    .*\n)*", "", text, count=1, flags=re.M))
    line = line_of(course_copy, WB, "badge:")
    assert f"{course_copy}/{WB}:{line}: missing required key 'criteria' in 'badge'" in problems_of(course_copy)


def test_unknown_front_matter_keys(course_copy: Path) -> None:
    edit(course_copy, WB, "estimated_hours:", "estimated_hour:")
    edit(course_copy, "course.md", "summary:", "sumary: x\nsummary:")
    found = problems_of(course_copy)
    line = line_of(course_copy, WB, "estimated_hour:")
    assert any(p.startswith(f"{course_copy}/{WB}:{line}: unknown key 'estimated_hour'") for p in found)
    assert any(p.startswith(f"{course_copy}/course.md:3: unknown key 'sumary'") for p in found)


def test_malformed_front_matter_yaml(course_copy: Path) -> None:
    edit(course_copy, WB, "estimated_hours: 3", "estimated_hours: [3")
    line = line_of(course_copy, WB, "estimated_hours: [3")
    found = problems_of(course_copy)
    assert len(found) == 1
    assert re.match(rf"^{re.escape(str(course_copy))}/{WB}:{line + 1}: malformed YAML: ", found[0])


def test_missing_front_matter(course_copy: Path) -> None:
    (course_copy / WB).write_text("# Just text\n")
    assert problems_of(course_copy) == [
        f"{course_copy}/{WB}:1: missing front matter: the file must start with a '---' line, "
        "then YAML, then another '---' line"]


def test_malformed_activity_yaml_names_its_line(course_copy: Path) -> None:
    edit(course_copy, WB, "kind: quiz\n", "kind: quiz\npass_mark: : 3\n")
    line = line_of(course_copy, WB, "pass_mark: : 3")
    assert problems_of(course_copy) == [
        f"{course_copy}/{WB}:{line}: activity: malformed YAML: mapping values are not allowed in this context"]


def test_unknown_activity_kind(course_copy: Path) -> None:
    edit(course_copy, WB, "kind: discussion", "kind: essay")
    line = line_of(course_copy, WB, "kind: essay")
    found = problems_of(course_copy)
    assert len(found) == 1
    assert found[0].startswith(f"{course_copy}/{WB}:{line}: activity 'being-observed': activity kind 'essay' "
                               "is not one of: discussion, media, peer-discussion, quiz, reflection, self-assessment, smart-goal")


def test_duplicate_and_missing_activity_ids(course_copy: Path) -> None:
    edit(course_copy, WB, "id: being-observed", "id: notes-practice")
    edit(course_copy, WB, "id: case-study-discussion\n", "")
    first = line_of(course_copy, WB, "id: notes-practice")
    text = (course_copy / WB).read_text().split("\n")
    second = [n for n, l in enumerate(text, 1) if l == "id: notes-practice"][1]
    found = problems_of(course_copy)
    assert f"{course_copy}/{WB}:{second}: duplicate activity id 'notes-practice' (first used on line {first})" in found
    assert any(re.match(rf"^{re.escape(str(course_copy))}/{WB}:\d+: activity has no 'id'$", p) for p in found)


def test_quiz_question_without_a_correct_answer(course_copy: Path) -> None:
    text = (course_copy / WB).read_text()
    quiz_start = text.index("id: observation-quiz")
    quiz_end = text.index("```", quiz_start)
    quiz = text[quiz_start:quiz_end]
    first_question_end = quiz.index("  - id:", quiz.index("  - id:") + 1)
    broken = quiz[:first_question_end].replace("correct: true", "correct: false") + quiz[first_question_end:]
    (course_copy / WB).write_text(text[:quiz_start] + broken + text[quiz_end:])
    found = problems_of(course_copy)
    assert len(found) == 1
    assert found[0].endswith("activity 'observation-quiz': question 1 has no correct answer")
    # the line is the question's own line
    line = int(found[0].split(":")[1])
    assert (course_copy / WB).read_text().split("\n")[line - 1].lstrip().startswith("- id:")


def test_unknown_activity_key_and_wrong_types(course_copy: Path) -> None:
    edit(course_copy, WB, "kind: discussion\n", "kind: discussion\nminwords: 3\n")
    edit(course_copy, WB, "min_words: 200", "min_words: lots")
    found = problems_of(course_copy)
    assert any("activity 'being-observed': unknown key 'minwords' for a discussion" in p for p in found)
    assert any("activity 'observation-reflective-task': 'min_words' must be a whole number of 0 or more" in p
               for p in found)


def test_broken_image_references(course_copy: Path) -> None:
    (course_copy / "images").mkdir(exist_ok=True)
    (course_copy / "images" / "fake.png").write_text("not a png")
    edit(course_copy, WB, "## Case study", "![Missing](images/nope.png)\n\n![Fake](images/fake.png)\n\n"
                                           "![Remote](https://tracker.example.com/a.png)\n\n"
                                           "<img src=\"../secret.png\">\n\n## Case study")
    found = problems_of(course_copy)
    line = line_of(course_copy, WB, "images/nope.png")
    assert f"{course_copy}/{WB}:{line}: image 'images/nope.png' not found in the course folder" in found
    assert f"{course_copy}/{WB}:{line + 2}: image 'images/fake.png' is not a PNG file" in found
    assert any(p.startswith(f"{course_copy}/{WB}:{line + 4}: image 'https://tracker.example.com/a.png' is on another site")
               for p in found)
    assert f"{course_copy}/{WB}:{line + 6}: image '../secret.png' is outside the course folder" in found


def test_images_in_code_blocks_are_not_references(course_copy: Path) -> None:
    edit(course_copy, WB, "## Case study", "```markdown\n![Example](images/example.png)\n```\n\n## Case study")
    assert load_course(course_copy).ok


def test_badge_image_must_exist_and_be_png(course_copy: Path) -> None:
    edit(course_copy, WB, "badge:\n", "badge:\n  image: images/badge.png\n")
    line = line_of(course_copy, WB, "image: images/badge.png")
    assert problems_of(course_copy) == [f"{course_copy}/{WB}:{line}: image 'images/badge.png' not found in the course folder"]


def test_unknown_standard(course_copy: Path) -> None:
    edit(course_copy, WB, "standards: [S2, S1]", "standards: [S2, S9]")
    line = line_of(course_copy, WB, "standards: [S2, S9]")
    assert problems_of(course_copy) == [f"{course_copy}/{WB}:{line}: unknown standard 'S9' (course.md defines S1, S2, S3, S4)"]


def test_bad_file_names_and_duplicate_numbers(course_copy: Path) -> None:
    (course_copy / "6-extra.md").write_text((course_copy / WB).read_text())
    (course_copy / "03-copy.md").write_text((course_copy / WB).read_text())
    found = problems_of(course_copy)
    assert f"{course_copy}/6-extra.md:1: a workbook's file name must be NN-slug.md (two digits, a hyphen, lower-case letters, digits and hyphens)" in found
    assert f"{course_copy}/{WB}:1: workbook number 03 is also used by 03-copy.md" in found


def test_unclosed_activity_block(course_copy: Path) -> None:
    text = (course_copy / WB).read_text()
    last_fence = text.rindex("```")
    (course_copy / WB).write_text(text[:last_fence] + text[last_fence + 3:])
    found = problems_of(course_copy)
    assert any("activity block is not closed" in p for p in found)


def test_every_mistake_is_reported_at_once(course_copy: Path) -> None:
    edit(course_copy, "01-the-mentors-role.md", "kind: discussion", "kind: chat")
    edit(course_copy, "02-building-the-relationship.md", "estimated_hours:", "hours:")
    edit(course_copy, "04-smart-goal-setting.md", "kind: smart-goal\n", "kind: smart-goal\nprompt2: x\n")
    edit(course_copy, "05-mentoring-communities.md", "correct: true", "correct: yes please")
    files = {p.split(":")[0].rsplit("/", 1)[1] for p in problems_of(course_copy)}
    assert files == {"01-the-mentors-role.md", "02-building-the-relationship.md",
                     "04-smart-goal-setting.md", "05-mentoring-communities.md"}


def test_duplicate_yaml_keys_are_mistakes(course_copy: Path) -> None:
    edit(course_copy, WB, "estimated_hours: 3", "estimated_hours: 3\nestimated_hours: 4")
    line = line_of(course_copy, WB, "estimated_hours: 4")
    assert problems_of(course_copy) == [f"{course_copy}/{WB}:{line}: key 'estimated_hours' is given twice"]


def test_not_a_course_folder(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "missing") == [f"{tmp_path}/missing:1: not a folder"]
    (tmp_path / "empty").mkdir()
    assert problems_of(tmp_path / "empty") == [
        f"{tmp_path}/empty/course.md:1: missing: every course folder needs a course.md"]


def test_estimated_hours_fallback(course_copy: Path) -> None:
    edit(course_copy, WB, "estimated_hours: 3\n", "")
    workbook = next(w for w in load_course(course_copy).course.workbooks if w.filename == WB)
    assert 1 <= workbook.estimated_hours <= 6 and workbook.estimated_hours * 2 == int(workbook.estimated_hours * 2)


# Web addresses (issue 14, item 7): every field holding one gets the same check ---------

ISSUER_URL = "  url: https://shooc.example.org"
STANDARDS_URL = "  url: https://www.gov.uk/government/publications/national-standards-for-school-based-initial-teacher-training-itt-mentors"
SCRIPT_ADDRESSES = ["javascript:alert(1)", "JavaScript:alert(document.cookie)", "'java\tscript:alert(1)'",
                    "' javascript:alert(1)'", "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)",
                    "//evil.example/x", "https:alert(1)", "\"https:\\\\\\\\evil.example\"", "[https://a.example]",
                    "{href: 'javascript:alert(1)'}", "ftp://files.example.org/x"]


@pytest.mark.parametrize("address", SCRIPT_ADDRESSES)
@pytest.mark.parametrize("current,label", [(ISSUER_URL, "'issuer' 'url'"), (STANDARDS_URL, "'standards' 'url'")],
                         ids=["issuer", "standards"])
def test_a_web_address_field_takes_only_a_web_address(course_copy: Path, current: str, label: str,
                                                      address: str) -> None:
    edit(course_copy, "course.md", current, f"  url: {address}")
    line = line_of(course_copy, "course.md", f"  url: {address}")
    found = problems_of(course_copy)
    assert len(found) == 1 and found[0].startswith(
        f"{course_copy}/course.md:{line}: {label} must be a web address "), found


def test_every_web_address_field_is_checked_at_once_and_good_ones_pass(course_copy: Path) -> None:
    edit(course_copy, "course.md", ISSUER_URL, "  url: javascript:alert(1)")
    edit(course_copy, "course.md", STANDARDS_URL, "  url: javascript:alert(2)")
    issuer, standards = (line_of(course_copy, "course.md", f"javascript:alert({n})") for n in (1, 2))
    assert problems_of(course_copy) == [
        f"{course_copy}/course.md:{issuer}: 'issuer' 'url' must be a web address starting with https:// or "
        "http://, not 'javascript:alert(1)'",
        f"{course_copy}/course.md:{standards}: 'standards' 'url' must be a web address starting with https:// or "
        "http://, not 'javascript:alert(2)'"]
    edit(course_copy, "course.md", "  url: javascript:alert(1)", "  url: HTTP://shooc.example.org/about?x=1#team")
    edit(course_copy, "course.md", "  url: javascript:alert(2)", "  url:")  # optional: may be left empty
    assert load_course(course_copy).ok


def test_the_media_activity_url_uses_the_same_check(course_copy: Path) -> None:
    from shooc.webaddress import HTTPS_ONLY, web_address_problem
    from shooc.workbooks.activities import get_kind

    media = get_kind("media")
    for address in ("javascript:alert(1)", "java\tscript:alert(1)", "https:alert(1)", "http://v.example/x"):
        assert web_address_problem(address, HTTPS_ONLY) is not None
        assert [p.message for p in media.validate({"id": "m", "kind": "media", "url": address})] == [
            "'url' must be an https:// address"], address
    assert list(media.validate({"id": "m", "kind": "media", "url": "https://v.example/x.mp4"})) == []
