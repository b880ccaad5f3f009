"""The interfaces written in docs/ stay true to the code (docs/README.md).

Each check reads the code's own list (the URL map, the click commands, the
settings' defaults) and fails on anything the docs leave out, or on something
still called "planned" that the code now has. Links in README.md and docs/ must
lead to files of this repository.
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import click
import pytest
from flask import Flask

from shooc import create_app
from shooc.config import DEFAULTS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
LINKED_PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
PLANNED = re.compile(r"^## Planned\s*$", re.M)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    instance = tmp_path_factory.mktemp("docs-instance")
    return create_app({"SHOOC_INSTANCE_PATH": str(instance), "SHOOC_SECRET_KEY": "docs-test",
                       "SHOOC_DATABASE_URL": f"sqlite:///{instance}/shooc.sqlite3", "TESTING": True})


def doc(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def split_planned(text: str) -> tuple[str, str]:
    """(what is built, the Planned section)."""
    parts = PLANNED.split(text, maxsplit=1)
    return parts[0], (parts[1] if len(parts) > 1 else "")


def table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| `")]


# URLs ---------------------------------------------------------------------------

def shape(rule: str) -> str:
    """A rule without its variables' names: /a/<int:id>/b and /a/<x>/b are one shape."""
    return re.sub(r"<[^>]*>", "<>", rule)


def test_every_url_rule_is_in_urls_md(app: Flask) -> None:
    built, _ = split_planned(doc("urls.md"))
    rules = sorted({r.rule for r in app.url_map.iter_rules() if r.endpoint != "static"})
    missing = [rule for rule in rules if f"`{rule}`" not in built]
    assert missing == [], "docs/urls.md lacks these URL rules (write each as `rule`, as the url map has it)"


def test_documented_urls_exist_and_planned_ones_do_not(app: Flask) -> None:
    built, planned = split_planned(doc("urls.md"))
    shapes = {shape(r.rule) for r in app.url_map.iter_rules()}
    rules = {r.rule for r in app.url_map.iter_rules()}
    listed = {cell for row in table_rows(built) for cell in re.findall(r"^\| `(/[^`]*)`", row)}
    assert listed - rules == set(), "docs/urls.md lists rules the app does not have"
    planned_urls = {u for row in planned.splitlines() if row.startswith("|")
                    for u in re.findall(r"`(/[^`\s]*)`", row)}
    built_now = sorted(u for u in planned_urls if shape(u) in shapes)
    assert built_now == [], "these are built now: move them from Planned into docs/urls.md's tables"


# Command line -------------------------------------------------------------------

def commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        found.append((path, command))
        if isinstance(command, click.Group):
            found += commands(command, path)
    return found


def test_every_command_and_option_is_in_cli_md(app: Flask) -> None:
    built, _ = split_planned(doc("cli.md"))
    rows = table_rows(built)
    problems = []
    for path, command in commands(app.cli):
        name = "shooc " + " ".join(path)
        pattern = re.compile(rf"`{re.escape(name)}[ `]")
        if not pattern.search(built):
            problems.append(f"{name}: not in docs/cli.md")
            continue
        if isinstance(command, click.Group):
            continue
        row = next((r for r in rows if pattern.match(r[2:])), None)
        if row is None:
            problems.append(f"{name}: no row of its own in docs/cli.md's table")
            continue
        for param in command.params:
            if isinstance(param, click.Option) and param.name != "help":
                long = max(param.opts, key=len)
                if long not in row:
                    problems.append(f"{name}: option {long} is not in its row")
    assert problems == []


def test_documented_commands_exist_and_planned_ones_do_not(app: Flask) -> None:
    built, planned = split_planned(doc("cli.md"))
    names = {" ".join(path) for path, _ in commands(app.cli)}

    def documented(text: str) -> set[str]:
        return {m for row in table_rows(text) for m in re.findall(r"^\| `shooc ([a-z][a-z-]*(?: [a-z][a-z-]*)?)", row)}

    assert {d for d in documented(built) if d not in names and d.split()[0] not in names} == set(), \
        "docs/cli.md documents commands shooc does not have"
    assert sorted(documented(planned) & names) == [], \
        "these are built now: move them from Planned into docs/cli.md's table"


# Configuration ------------------------------------------------------------------

def test_every_setting_is_in_configuration_md() -> None:
    text = doc("configuration.md")
    missing = [key for key in [*DEFAULTS, "SHOOC_INSTANCE_PATH"] if f"`{key}`" not in text]
    assert missing == [], "docs/configuration.md lacks these settings"


def test_configuration_md_names_only_real_settings() -> None:
    text = doc("configuration.md")
    settings = text.split("## Settings", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(SHOOC_[A-Z_]+)`", settings))
    assert named - set(DEFAULTS) == set(), "docs/configuration.md's Settings names what shooc.config does not read"


# Links --------------------------------------------------------------------------

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1", re.M | re.S)


def heading_anchors(text: str) -> set[str]:
    """GitHub's anchors for a Markdown file's headings."""
    anchors = set()
    for heading in re.findall(r"^#{1,6}\s+(.*?)\s*#*\s*$", FENCE.sub("", text), re.M):
        plain = unicodedata.normalize("NFC", re.sub(r"[`*_]", "", heading)).lower().strip()
        anchors.add(re.sub(r"[^\w\- ]", "", plain).replace(" ", "-"))
    return anchors


@pytest.mark.parametrize("page", LINKED_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve_inside_the_repository(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    problems = []
    for target in LINK.findall(FENCE.sub("", text)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
            continue  # a web address or mailto:
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / path_part).resolve() if path_part else page
        if ROOT not in (resolved, *resolved.parents):
            problems.append(f"{target}: outside the repository")
        elif not resolved.exists():
            problems.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in heading_anchors(resolved.read_text(encoding="utf-8")):
            problems.append(f"{target}: no heading #{anchor} in {resolved.relative_to(ROOT)}")
    assert problems == []


@pytest.mark.parametrize("page", LINKED_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_page_sends_readers_to_the_design_notes(page: Path) -> None:
    """The design notes live outside the repository; docs/ is the project's own account."""
    assert "DESIGN.md" not in page.read_text(encoding="utf-8")
