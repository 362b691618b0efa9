"""Label and field selectors: how ``kubectl get -l app=web`` picks objects.

Models apimachinery's ``pkg/labels`` (the label-selector parser and
``Requirement.Matches``) and ``metav1.LabelSelectorAsSelector`` (the
``matchLabels``/``matchExpressions`` form used inside Deployments, Services'
owners, Jobs …).  Field selectors (``status.phase=Running``) live in
:mod:`fromscratch.api.fields` and are re-exported here.

Label selector grammar, as the Kubernetes docs define it::

    selector    ::= requirement ("," requirement)*
    requirement ::= ["!"] KEY [ ("in" | "notin") "(" VALUE ("," VALUE)* ")"
                              | ("=" | "==" | "!=") VALUE ]

``KEY`` alone means "the label exists", ``!KEY`` "it does not".  ``>`` and
``<`` (integer comparison, used by node affinity's ``Gt``/``Lt``) are accepted
too, as apimachinery's parser does.  Requirements are ANDed; there is no OR.

Semantics worth knowing (all from apimachinery):

* ``NotIn`` and ``!=`` match objects that do not have the label at all;
* the empty selector matches everything; a *null* ``LabelSelector`` (``None``)
  matches nothing, per the API conventions;
* requirements are sorted by key, so ``str(parse(s))`` is a canonical form.

Simplified: error messages are ours, not apimachinery's verbatim wording.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

# Field selectors are their own module, re-exported here so one import serves both kinds.
from fromscratch.api.fields import (  # noqa: F401
    FieldRequirement,
    FieldSelector,
    SelectorError,
    escape_field_value,
    field_value,
    parse_field_selector,
)
from fromscratch.exercises import pluggable

Operator = Literal["in", "notin", "=", "==", "!=", "exists", "!", "gt", "lt"]


# --- label key and value syntax (apimachinery util/validation) ----------------

_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def validate_label_key(key: str) -> None:
    """Raise :class:`SelectorError` unless ``key`` is ``[prefix/]name`` (IsQualifiedName)."""
    prefix, slash, name = key.rpartition("/")
    if slash and key.count("/") > 1:
        raise SelectorError(f"invalid label key {key!r}: at most one '/' is allowed")
    if slash:
        if not prefix:
            raise SelectorError(f"invalid label key {key!r}: prefix part must be non-empty")
        if len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix):
            raise SelectorError(
                f"invalid label key {key!r}: prefix must be a lowercase DNS subdomain "
                "(at most 253 characters, e.g. 'example.com')"
            )
    if not name:
        raise SelectorError(f"invalid label key {key!r}: name part must be non-empty")
    if len(name) > 63:
        raise SelectorError(f"invalid label key {key!r}: name part must be at most 63 characters")
    if not _NAME.match(name):
        raise SelectorError(
            f"invalid label key {key!r}: name part must consist of alphanumerics, '-', '_' "
            "or '.', and start and end with an alphanumeric"
        )


def validate_label_value(key: str, value: str) -> None:
    """Raise :class:`SelectorError` unless ``value`` is a valid label value (may be empty)."""
    if len(value) > 63:
        raise SelectorError(f"invalid value {value!r} for label {key!r}: at most 63 characters")
    if value and not _NAME.match(value):
        raise SelectorError(
            f"invalid value {value!r} for label {key!r}: must be empty or consist of "
            "alphanumerics, '-', '_' or '.', and start and end with an alphanumeric"
        )


# --- requirements -------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    """One condition on one label: ``key``, an operator, and a sorted tuple of values."""

    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # the rules of apimachinery's NewRequirement
        validate_label_key(self.key)
        count = len(self.values)
        if self.operator in ("in", "notin") and count == 0:
            raise SelectorError(f"{self.key}: 'in' and 'notin' need at least one value")
        if self.operator in ("=", "==", "!=", "gt", "lt") and count != 1:
            raise SelectorError(f"{self.key}: {self.operator!r} needs exactly one value")
        if self.operator in ("exists", "!") and count:
            raise SelectorError(f"{self.key}: exists / does-not-exist take no values")
        if self.operator in ("gt", "lt") and not re.fullmatch(r"[-+]?\d+", self.values[0]):
            raise SelectorError(f"{self.key}: Gt/Lt need an integer, got {self.values[0]!r}")
        for value in self.values:
            validate_label_value(self.key, value)
        # values behave as a set: sorted and de-duplicated (apimachinery uses sets.String)
        object.__setattr__(self, "values", tuple(sorted(set(self.values))))

    def __str__(self) -> str:
        joined = ",".join(self.values)
        return {
            "exists": self.key,
            "!": f"!{self.key}",
            "in": f"{self.key} in ({joined})",
            "notin": f"{self.key} notin ({joined})",
            "gt": f"{self.key}>{joined}",
            "lt": f"{self.key}<{joined}",
        }.get(self.operator, f"{self.key}{self.operator}{joined}")


@dataclass(frozen=True)
class LabelSelector:
    """Requirements ANDed together; ``nothing=True`` is the null selector (matches none)."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        return matches(self, labels or {})

    def empty(self) -> bool:
        """True when the selector does not restrict anything (matches every object)."""
        return not self.nothing and not self.requirements

    def requires_exact_match(self, key: str) -> str | None:
        """The single value ``key`` must have, if the selector pins it (RequiresExactMatch)."""
        for req in self.requirements:
            if req.key == key and req.operator in ("=", "==", "in") and len(req.values) == 1:
                return req.values[0]
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


@pluggable("matches")
def matches(selector: LabelSelector, labels: Mapping[str, str]) -> bool:
    """Does ``selector`` select an object carrying ``labels``?

    The API server's list and watch filtering call this function, so a learner's
    version plugged in with ``exercises.use`` decides what ``kubectl get -l`` returns.
    """
    if selector.nothing:
        return False
    for req in selector.requirements:
        present = req.key in labels
        if req.operator in ("in", "=", "=="):
            ok = present and labels[req.key] in req.values
        elif req.operator in ("notin", "!="):
            # subtle: an object without the label matches "notin" and "!="
            ok = not present or labels[req.key] not in req.values
        elif req.operator == "exists":
            ok = present
        elif req.operator == "!":
            ok = not present
        else:
            # gt / lt: the label must exist and hold an integer
            ok = present and re.fullmatch(r"[-+]?\d+", labels[req.key]) is not None
            if ok:
                have, want = int(labels[req.key]), int(req.values[0])
                ok = have > want if req.operator == "gt" else have < want
        if not ok:
            return False
    return True


def everything() -> LabelSelector:
    return LabelSelector()


def nothing() -> LabelSelector:
    return LabelSelector(nothing=True)


# --- the label selector parser ------------------------------------------------

_SYMBOLS = ("!=", "==", "=", "!", "(", ")", ",", ">", "<")
_SPECIAL = set("=!(),><")
_WHITESPACE = " \t\r\n"


def _tokens(text: str) -> list[str]:
    """Split a selector into identifiers and operator symbols, dropping whitespace."""
    tokens, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch in _WHITESPACE:
            i += 1
        elif ch in _SPECIAL:
            # longest operator first: "!=" before "!", "==" before "="
            symbol = next(s for s in _SYMBOLS if text.startswith(s, i))
            tokens.append(symbol)
            i += len(symbol)
        else:
            start = i
            while i < len(text) and text[i] not in _SPECIAL and text[i] not in _WHITESPACE:
                i += 1
            tokens.append(text[start:i])
    return tokens


class _Parser:
    """Recursive descent over the token list; one method per grammar rule."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str | None:
        token = self.peek()
        self.pos += 1
        return token

    def fail(self, found: str | None, expected: str) -> SelectorError:
        shown = "end of string" if found is None else repr(found)
        return SelectorError(f"unable to parse selector {self.text!r}: found {shown}, expected {expected}")

    def is_identifier(self, token: str | None) -> bool:
        return token is not None and token not in _SYMBOLS

    def selector(self) -> list[Requirement]:
        requirements = []
        if self.peek() is None:
            return requirements
        while True:
            requirements.append(self.requirement())
            token = self.take()
            if token is None:
                return requirements
            if token != ",":
                raise self.fail(token, "',' or end of string")
            if not (self.is_identifier(self.peek()) or self.peek() == "!"):
                raise self.fail(self.peek(), "a label key after ','")

    def requirement(self) -> Requirement:
        negated = self.peek() == "!"
        if negated:
            self.take()
        key = self.take()
        if not self.is_identifier(key):
            raise self.fail(key, "a label key")
        assert key is not None
        validate_label_key(key)
        # a key on its own: exists (or !key: does not exist)
        if negated or self.peek() in (None, ","):
            return Requirement(key, "!" if negated else "exists")
        operator = self.take()
        if operator in ("in", "notin"):
            return Requirement(key, operator, self.value_set())
        if operator in ("=", "==", "!=", ">", "<"):
            op = {">": "gt", "<": "lt"}.get(operator, operator)
            return Requirement(key, op, (self.exact_value(),))  # type: ignore[arg-type]
        raise self.fail(operator, "'=', '==', '!=', 'in' or 'notin'")

    def exact_value(self) -> str:
        # "app=" is legal: it selects an empty value
        if self.peek() in (None, ","):
            return ""
        value = self.take()
        if not self.is_identifier(value):
            raise self.fail(value, "a label value")
        assert value is not None
        return value

    def value_set(self) -> tuple[str, ...]:
        token = self.take()
        if token != "(":
            raise self.fail(token, "'('")
        values: list[str] = []
        expecting_value = True
        while True:
            token = self.take()
            if token == ")":
                if expecting_value:
                    values.append("")  # "()" and "(a,)" contain the empty value
                return tuple(values)
            if token == ",":
                if expecting_value:
                    values.append("")  # "(,a)" and "(a,,b)" too
                expecting_value = True
            elif self.is_identifier(token) and expecting_value:
                assert token is not None
                values.append(token)
                expecting_value = False
            else:
                raise self.fail(token, "a value, ',' or ')'")


def parse_label_selector(text: str) -> LabelSelector:
    """Parse ``"app=web,tier in (fe,be),!canary"`` into a :class:`LabelSelector`."""
    if not isinstance(text, str):
        raise SelectorError(f"a label selector is a string, got {type(text).__name__}")
    requirements = _Parser(text).selector()
    return LabelSelector(tuple(sorted(requirements, key=lambda r: r.key)))


_API_OPERATORS: dict[str, Operator] = {
    "In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!",
}


def label_selector_from_dict(selector: Mapping[str, Any] | None) -> LabelSelector:
    """The API's ``LabelSelector`` (``matchLabels`` + ``matchExpressions``) as a selector.

    ``None`` (a null selector) matches nothing; ``{}`` (an empty one) matches
    everything — as ``metav1.LabelSelectorAsSelector`` does.
    """
    if selector is None:
        return nothing()
    if not isinstance(selector, Mapping):
        raise SelectorError(f"a LabelSelector is an object, got {type(selector).__name__}")
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not isinstance(match_labels, Mapping) or not isinstance(expressions, list):
        raise SelectorError("matchLabels must be an object and matchExpressions a list")
    requirements = []
    for key, value in match_labels.items():
        if not isinstance(value, str):
            raise SelectorError(f"matchLabels[{key!r}] must be a string, got {value!r}")
        requirements.append(Requirement(key, "=", (value,)))
    for index, expr in enumerate(expressions):
        if not isinstance(expr, Mapping):
            raise SelectorError(f"matchExpressions[{index}] must be an object")
        operator = expr.get("operator")
        if operator not in _API_OPERATORS:
            raise SelectorError(
                f"matchExpressions[{index}].operator: {operator!r} is not a valid label selector "
                "operator (In, NotIn, Exists, DoesNotExist)"
            )
        values = expr.get("values") or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise SelectorError(f"matchExpressions[{index}].values must be a list of strings")
        requirements.append(Requirement(str(expr.get("key", "")), _API_OPERATORS[operator], tuple(values)))
    return LabelSelector(tuple(sorted(requirements, key=lambda r: r.key)))
