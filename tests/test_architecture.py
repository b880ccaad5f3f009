"""The plan of the house (docs/architecture.md), checked on the code as it is.

The layers are import-linter's contracts in setup.cfg (`lint-imports`, run by
.ci/run); what they cannot say is here: no module imports itself back through
others, however lazily (an import inside a function counts: it is a cycle that was
only hidden).
"""
from __future__ import annotations

import grimp


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Each strongly connected group of two or more modules (Tarjan's algorithm)."""
    modules = sorted(m for m in graph.modules if m.startswith("shooc"))
    imports = {m: sorted(i for i in graph.find_modules_directly_imported_by(m) if i.startswith("shooc"))
               for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in imports[module]:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in modules:
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_back() -> None:
    assert _cycles(grimp.build_graph("shooc")) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for module in ("shooc.a", "shooc.b", "shooc.c"):
        graph.add_module(module)
    graph.add_import(importer="shooc.a", imported="shooc.b")
    graph.add_import(importer="shooc.b", imported="shooc.c")
    graph.add_import(importer="shooc.c", imported="shooc.a")
    assert _cycles(graph) == [["shooc.a", "shooc.b", "shooc.c"]]


def test_views_and_commands_keep_their_work_one_way() -> None:
    """Views and commands commit and roll back only through shooc/unit_of_work.py
    (commit(), rollback(), write_now(), command_session()), never on a session."""
    import re

    from shooc.config import PROJECT_ROOT

    package = PROJECT_ROOT / "shooc"
    modules = [*package.glob("*/views.py"), *package.glob("*/*_views.py"), package / "cli.py",
               *package.glob("*/*_cli.py"), package / "__main__.py"]
    assert len(modules) > 10
    found = [f"{path.relative_to(PROJECT_ROOT)}:{number}: {line.strip()}"
             for path in modules for number, line in enumerate(path.read_text().splitlines(), start=1)
             if re.search(r"\.(commit|rollback)\(\)|\.session\(\)", line)]
    assert found == []
