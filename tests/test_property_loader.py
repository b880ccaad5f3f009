"""Property-based tests of the workbook loader (hypothesis): whatever a course folder
holds, ``load_course`` returns a course or problems that name a file of the folder and a
line of that file, and never raises.

The inputs are the shipped course with one workbook replaced: by arbitrary text, by
arbitrary bytes, by front matter and activity blocks built from YAML fragments, and by
the real workbook with lines deleted, duplicated or replaced.
"""
from __future__ import annotations

import shutil
import signal
import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given, strategies as st

from shooc.workbooks.loader import load_course
from shooc.workbooks.render import render_body, render_fields

from conftest import MENTORING

WORKBOOK = "02-building-the-relationship.md"
REAL_LINES = (MENTORING / WORKBOOK).read_text().split("\n")

# Pieces that mean something to the loader or to YAML, to be put together at random.
YAML_SCALARS = st.sampled_from([
    "", "~", "null", "true", "3", "-1", "1e400", "2024-02-30", "[]", "{}", "[a, b", "{a: 1", "'x", '"x',
    "0000-00-00", "2024-13-01 10:00", "&a x", "*a", "&r [*r]", "*missing", "!!python/object:os.system x",
    "!!binary xx", "|", ">-", "? a", "- a",
    "x: y: z", "\t", "@", "`", "%TAG ! x", "\u2028", "<script>alert(1)</script>", "é", "\x00", "\ufeff",
])
KEYS = st.sampled_from([
    "title", "summary", "badge", "name", "description", "criteria", "image", "standards",
    "estimated_hours", "id", "kind", "required", "prompt", "min_words", "max_words", "questions",
    "options", "correct", "statements", "scale", "url", "unknown", "? [a]", "<<", "1",
])
KINDS = st.sampled_from(["reflection", "quiz", "self-assessment", "smart-goal", "discussion", "media",
                         "nonsense", ""])
TEXT = st.text(st.characters(codec="utf-8"), max_size=40)


@st.composite
def yaml_block(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        indent = " " * draw(st.sampled_from([0, 0, 0, 2, 4, 1]))
        key = draw(KEYS)
        value = draw(st.one_of(YAML_SCALARS, KINDS, TEXT))
        lines.append(f"{indent}{key}: {value}" if draw(st.booleans()) else f"{indent}- {value}")
    return "\n".join(lines)


@st.composite
def activity(draw: st.DrawFn) -> str:
    fence = draw(st.sampled_from(["```", "~~~", "````", "``"]))
    tag = draw(st.sampled_from(["activity", "activity", "Activity", "yaml", ""]))
    head = f"id: {draw(st.sampled_from(['a', 'b', 'a', 'Bad Id', '']))}\nkind: {draw(KINDS)}\n"
    opening = f"{fence}{tag}\n{head if draw(st.booleans()) else ''}{draw(yaml_block())}\n"
    return opening + (f"{fence}\n" if draw(st.booleans()) else "")  # closed, or not


@st.composite
def built_workbook(draw: st.DrawFn) -> str:
    front = draw(st.sampled_from(["---", "---", "--- ", "", "----", "..."]))
    end = draw(st.sampled_from(["---", "---", "...", ""]))
    body = draw(st.lists(st.one_of(activity(), TEXT, st.sampled_from(["# Heading", "![x](img.png)",
                                                                        "<img src='/etc/passwd'>",
                                                                        "[a](javascript:alert(1))"])),
                         max_size=5))
    return f"{front}\n{draw(yaml_block())}\n{end}\n" + "\n".join(body)


@st.composite
def mutated_workbook(draw: st.DrawFn) -> str:
    lines = list(REAL_LINES)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["delete", "duplicate", "replace", "insert"]))
        if action == "delete":
            del lines[at]
        elif action == "duplicate":
            lines.insert(at, lines[at])
        elif action == "replace":
            lines[at] = draw(st.one_of(TEXT, YAML_SCALARS, st.just("```activity"), st.just("---")))
        else:
            lines.insert(at, draw(st.one_of(TEXT, YAML_SCALARS, st.just("```"), st.just("```activity"))))
        if not lines:
            break
    return "\n".join(lines)


WORKBOOK_BYTES = st.one_of(
    st.binary(max_size=300),
    TEXT.map(str.encode),
    built_workbook().map(lambda t: t.encode("utf-8", "surrogatepass")),
    mutated_workbook().map(str.encode),
)


def check_loads_or_explains(folder: Path) -> None:
    files = {f"{folder}/{p.name}": p.read_bytes().count(b"\n") + 1 for p in folder.iterdir()}
    result = load_course(folder)  # raises nothing, whatever the files hold
    if result.ok:
        assert result.course is not None
        for workbook in result.course.workbooks:  # and what loads also renders
            render_body(workbook.body)
            render_fields({k: str(v) for k, v in workbook.badge.items() if isinstance(v, str)})
        return
    assert result.problems, "not loaded, yet no problem given"
    for problem in result.problems:
        assert problem.file in files or problem.file == str(folder), problem
        assert isinstance(problem.line, int) and 1 <= problem.line <= files.get(problem.file, 1) + 1, problem
        assert problem.message.strip(), problem
        assert str(problem).startswith(f"{problem.file}:{problem.line}: ")


@given(WORKBOOK_BYTES)
def test_any_workbook_file_gives_a_course_or_problems_naming_file_and_line(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "mentoring"
        shutil.copytree(MENTORING, folder)
        (folder / WORKBOOK).write_bytes(data)
        check_loads_or_explains(folder)


@given(st.one_of(st.binary(max_size=200), built_workbook().map(lambda t: t.encode("utf-8", "surrogatepass"))))
@example(b"---\n0000-00-00\n---")  # found by hypothesis: PyYAML raised ValueError for the impossible date
def test_any_course_file_gives_a_course_or_problems_naming_file_and_line(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "mentoring"
        shutil.copytree(MENTORING, folder)
        (folder / "course.md").write_bytes(data)
        check_loads_or_explains(folder)


def test_the_shipped_course_still_loads() -> None:
    """The property's other half: the unmutated course is a course, not problems."""
    assert load_course(MENTORING).ok


ALIAS_BOMB = "\n".join(["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
                       + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)])


@pytest.fixture
def time_limit():  # type: ignore[no-untyped-def]
    """A test that would otherwise hang fails after 10 s."""
    def expired(signum, frame):  # type: ignore[no-untyped-def]
        raise TimeoutError("still parsing after 10 s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("front_matter, line, message", [
    (ALIAS_BOMB, 2, "the YAML is too large: more than 20,000 values once its aliases (*name) are written out"),
    ("title: " + "[" * 60 + "]" * 60, 2, "the YAML is nested more than 50 levels deep"),
    ("title: x\nsummary: 2024-02-30", 3, "malformed YAML: day is out of range for month"),
    ("title: &a [*a]", 2, "the YAML contains itself: an alias (*name) inside its own anchor (&name)"),
    # shallow as written, deep once the aliases are followed (Python's recursion stops near 1,000)
    ("\n".join(["a0: &a0 [x]"] + [f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, 1200)]), 1151,
     "the YAML is nested more than 50 levels deep"),
])
def test_yaml_that_would_hang_or_crash_is_a_problem_on_its_line(course_copy: Path, time_limit, front_matter: str,
                                                                 line: int, message: str) -> None:
    (course_copy / WORKBOOK).write_text(f"---\n{front_matter}\n---\nBody\n")
    result = load_course(course_copy)
    assert [str(p) for p in result.problems] == [f"{course_copy}/{WORKBOOK}:{line}: {message}"]


@pytest.mark.parametrize("body, offset, message", [
    ("\n".join("    " * i + "- x" for i in range(300)), 26,
     "the line is indented 104 spaces: more than 100 nests lists too deep to show"),
    ("\n".join(">" * i + " x" for i in range(1, 300)), 20, "the line is quoted 21 levels deep ('>'): more than 20 "
                                                              "is too deep to show"),
])
def test_markdown_nested_past_what_it_can_render_is_a_problem_on_its_line(course_copy: Path, time_limit, body: str,
                                                                         offset: int, message: str) -> None:
    """Python-Markdown fails (RecursionError) or takes minutes on these: found before publishing."""
    front_matter = REAL_LINES[:REAL_LINES.index("---", 1) + 1]
    (course_copy / WORKBOOK).write_text("\n".join(front_matter) + "\n# Title\n" + body + "\n")
    problems = load_course(course_copy).problems
    line = len(front_matter) + 2 + offset  # the body's first line is after the title
    assert problems and str(problems[0]) == f"{course_copy}/{WORKBOOK}:{line}: {message}"


@pytest.mark.parametrize("body, offset", [
    ("[a](" * 4000, 0),  # Python-Markdown took 11 s: each '](' looks for its ')' to the paragraph's end
    ("A line.\n\nSee [the guide](https://example.org and more.", 2),
])
def test_a_link_left_open_is_a_problem_on_its_line_found_before_rendering(course_copy: Path, body: str,
                                                                          offset: int) -> None:
    front_matter = REAL_LINES[:REAL_LINES.index("---", 1) + 1]
    (course_copy / WORKBOOK).write_text("\n".join(front_matter) + "\n# Title\n" + body + "\n")
    # Found by reading the lines, before any rendering (what it costs is bench/events.py's
    # to measure, not a timed test's: this machine is shared).
    problems = load_course(course_copy).problems
    line = len(front_matter) + 2 + offset
    assert [str(p) for p in problems] == [
        f"{course_copy}/{WORKBOOK}:{line}: a link's '](' has no ')' on its line: close it, or write '\\](' "
        "to show the text as it is"]


def test_links_closed_escaped_or_in_code_are_no_problem(course_copy: Path) -> None:
    front_matter = REAL_LINES[:REAL_LINES.index("---", 1) + 1]
    body = "See [a](b), a \\](literal, `[x](` in code, and\n\n```\n[a](\n```\n"
    (course_copy / WORKBOOK).write_text("\n".join(front_matter) + "\n# Title\n" + body)
    assert load_course(course_copy).ok
