"""YAML with line numbers, so that every problem can name the line it is on."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[Any, ...]
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Aliases (``*name``) repeat a node without copying it: nine lists of nine aliases,
# eight deep, are 9^8 values once walked. Content is small; past this many nodes,
# counted as if every alias were written out, it is refused, not walked.
MAX_NODES = 20_000
MAX_DEPTH = 50  # lists in lists...: content needs a handful; Python's recursion would stop at about 1,000


@dataclass
class YamlDoc:
    """A parsed YAML document and the (1-based, file-relative) line of every key and item."""

    value: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    duplicate_keys: list[tuple[str, int]] = field(default_factory=list)
    first_line: int = 1

    def line(self, *path: Any) -> int:
        """The line of ``path``, or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), self.first_line)


class YamlError(ValueError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def parse_yaml(text: str, first_line: int) -> YamlDoc:
    """Parse ``text``, whose first line is line ``first_line`` of its file.

    Raises YamlError with the file line of the mistake.
    """
    # One pass: compose the node tree (for line numbers), then construct the value
    # from it; libyaml's C loader when PyYAML has it.
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_shape(node, first_line)
        try:
            value = loader.construct_document(node) if node is not None else None
        except (ValueError, OverflowError) as exc:
            # a scalar that matches a YAML type but is not one, e.g. the date 2024-02-30
            assert node is not None  # constructing no document raises nothing
            line = first_line + _bad_scalar(node).start_mark.line
            raise YamlError(f"malformed YAML: {exc}", line) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + (mark.line if mark else 0)
        what = exc.problem or exc.context or "not valid YAML"
        raise YamlError(f"malformed YAML: {what}", line) from None
    except yaml.YAMLError as exc:  # pragma: no cover - every PyYAML error is marked
        raise YamlError(f"malformed YAML: {exc}", first_line) from None
    finally:
        loader.dispose()
    doc = YamlDoc(value=value, first_line=first_line)
    if node is not None:
        _walk(node, (), doc, first_line, own_line=True)
    return doc


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


class _Shape:
    """How deep and how big a node is with its aliases written out, found in one pass
    without recursion (each node once: aliases make a graph, not a tree)."""

    def __init__(self, root: yaml.Node) -> None:
        self.height: dict[int, int] = {}
        self.size: dict[int, int] = {}
        self.cycle: yaml.Node | None = None  # a node inside itself: "a: &a [*a]"
        open_, stack = set(), [(root, False)]
        while stack:
            node, children_done = stack.pop()
            key = id(node)
            if children_done:
                open_.discard(key)
                kids = _children(node)
                self.height[key] = 1 + max((self.height[id(k)] for k in kids), default=0)
                self.size[key] = min(1 + sum(self.size[id(k)] for k in kids), MAX_NODES + 1)
                continue
            if key in self.height:
                continue
            if key in open_:
                self.cycle = node
                return
            open_.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node) if id(child) not in self.height)


def _check_shape(root: yaml.Node, first_line: int) -> None:
    shape = _Shape(root)
    if shape.cycle is not None:
        raise YamlError("the YAML contains itself: an alias (*name) inside its own anchor (&name)",
                        first_line + shape.cycle.start_mark.line)
    if shape.height[id(root)] > MAX_DEPTH + 1:
        deepest = root
        while _children(deepest):  # down the deepest branch, to name its line
            deepest = max(_children(deepest), key=lambda child: shape.height[id(child)])
            if shape.height[id(root)] - shape.height[id(deepest)] > MAX_DEPTH:
                break
        raise YamlError(f"the YAML is nested more than {MAX_DEPTH} levels deep", first_line + deepest.start_mark.line)
    if shape.size[id(root)] > MAX_NODES:
        raise YamlError(f"the YAML is too large: more than {MAX_NODES:,} values once its aliases (*name) "
                        "are written out", first_line + root.start_mark.line)


def _bad_scalar(node: yaml.Node) -> yaml.Node:
    """The first scalar that will not construct on its own (else ``node``)."""
    stack = [node]
    while stack:
        current = stack.pop(0)
        if isinstance(current, yaml.ScalarNode):
            try:
                yaml.SafeLoader("").construct_object(current)
            except (ValueError, OverflowError):
                return current
        stack.extend(_children(current))
    return node


def _walk(node: yaml.Node, path: Path_, doc: YamlDoc, offset: int, own_line: bool) -> None:
    if own_line:
        doc.lines[path] = offset + node.start_mark.line
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            line = offset + key_node.start_mark.line
            if key in seen:
                doc.duplicate_keys.append(("/".join(str(p) for p in path + (key,)), line))
            seen.add(key)
            doc.lines[path + (key,)] = line
            _walk(value_node, path + (key,), doc, offset, own_line=False)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, path + (index,), doc, offset, own_line=True)
