"""Field selectors: ``kubectl get pods --field-selector status.phase=Running``.

Models apimachinery's ``pkg/fields``: terms ``path=value``, ``path==value`` or
``path!=value`` joined by commas (ANDed), with ``\\``, ``,`` and ``=`` escaped
by a backslash inside values.  A missing field reads as the empty string.

Which fields a field selector may use depends on the kind; that is the
server's concern: it reads :attr:`FieldSelector.requirements` to validate.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal


class SelectorError(ValueError):
    """A label or field selector that does not parse or is not valid."""


FieldOperator = Literal["=", "==", "!="]


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    operator: FieldOperator
    value: str

    def __str__(self) -> str:
        op = "!=" if self.operator == "!=" else "="
        return f"{self.field}{op}{escape_field_value(self.value)}"


def escape_field_value(value: str) -> str:
    """Escape ``\\``, ``,`` and ``=`` so a value survives inside a field selector."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def _unescape_field_value(value: str) -> str:
    out, escaped = [], False
    for ch in value:
        if escaped:
            if ch not in "\\,=":
                raise SelectorError(f"invalid escape sequence '\\{ch}' in field selector value")
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in ",=":
            raise SelectorError(f"unescaped {ch!r} in field selector value {value!r}")
        else:
            out.append(ch)
    if escaped:
        raise SelectorError(f"field selector value {value!r} ends with a lone '\\'")
    return "".join(out)


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not escaped with a backslash."""
    terms, current, escaped = [], [], False
    for ch in text:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            current.append(ch)
            escaped = True
        elif ch == ",":
            terms.append("".join(current))
            current = []
        else:
            current.append(ch)
    terms.append("".join(current))
    return terms


def field_value(obj: Mapping[str, Any], path: str) -> str:
    """The value at a dotted ``path`` rendered as a field-selector string ("" if absent)."""
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return ""
        value = value[part]
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


@dataclass(frozen=True)
class FieldSelector:
    requirements: tuple[FieldRequirement, ...] = ()

    def matches(self, obj: Mapping[str, Any]) -> bool:
        """Missing fields read as "" — as the server's field sets do."""
        for req in self.requirements:
            equal = field_value(obj, req.field) == req.value
            if equal == (req.operator == "!="):
                return False
        return True

    def requires_exact_match(self, field: str) -> str | None:
        for req in self.requirements:
            if req.field == field and req.operator in ("=", "=="):
                return req.value
        return None

    def empty(self) -> bool:
        return not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def parse_field_selector(text: str) -> FieldSelector:
    """Parse ``"status.phase=Running,metadata.name!=web-0"`` into a :class:`FieldSelector`."""
    if not isinstance(text, str):
        raise SelectorError(f"a field selector is a string, got {type(text).__name__}")
    requirements = []
    for term in sorted(_split_terms(text)):
        if not term:
            continue
        # the first operator found splits the term ("!=" is tried before "==" and "=")
        match = re.search(r"!=|==|=", term)
        if match is None:
            raise SelectorError(f"invalid field selector {text!r}: can't understand {term!r}")
        field, op, raw = term[: match.start()], match.group(), term[match.end() :]
        if not field:
            raise SelectorError(f"invalid field selector {text!r}: {term!r} has no field name")
        value = _unescape_field_value(raw)
        requirements.append(FieldRequirement(field, op, value))  # type: ignore[arg-type]
    return FieldSelector(tuple(requirements))
