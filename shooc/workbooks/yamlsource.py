"""YAML with line numbers, so that every problem can name the line it is on."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[Any, ...]
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
        value = loader.construct_document(node) if node is not None else None
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
