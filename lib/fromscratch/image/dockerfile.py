"""Dockerfile parsing: text -> a list of instructions with their line numbers.

Follows the Dockerfile reference (docs.docker.com/reference/dockerfile):

- a line ending with the escape character (``\\``, or the one set by a
  ``# escape=`` parser directive) continues on the next line; comment lines
  and empty lines inside a continuation are dropped;
- ``#`` starts a comment only at the beginning of a line;
- the keyword is case-insensitive; leading ``--flag=value`` options are split off;
- ``RUN``, ``CMD``, ``ENTRYPOINT``, ``SHELL``, ``COPY``, ``ADD`` and ``VOLUME``
  accept an *exec form* (a JSON array of strings) or a *shell form* (plain text);
- ``$VAR``, ``${VAR}``, ``${VAR:-default}`` and ``${VAR:+alt}`` are replaced
  in the instructions the reference lists (not in RUN/CMD/ENTRYPOINT, whose
  shell does that), except inside single quotes; ``\\$`` is a literal dollar.

Simplified: no heredocs (``<<EOF``), no ``# syntax=`` frontends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from fromscratch.exercises import pluggable

KEYWORDS = frozenset({
    "FROM", "MAINTAINER", "LABEL", "RUN", "CMD", "ENTRYPOINT", "EXPOSE", "ENV", "ADD",
    "COPY", "VOLUME", "USER", "WORKDIR", "HEALTHCHECK", "ARG", "SHELL", "STOPSIGNAL",
    "ONBUILD",
})
EXPANDED = frozenset({"ADD", "COPY", "ENV", "EXPOSE", "FROM", "LABEL", "STOPSIGNAL", "USER",
                      "VOLUME", "WORKDIR"})
DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")


class DockerfileError(ValueError):
    """A malformed Dockerfile; the message starts with ``Dockerfile:<line>:``."""

    def __init__(self, lineno: int, message: str) -> None:
        super().__init__(f"Dockerfile:{lineno}: {message}")
        self.lineno = lineno


@dataclass(frozen=True)
class Instruction:
    """One instruction: keyword, its flags, the rest of the line, where it started."""

    lineno: int
    keyword: str
    args: str
    flags: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        flags = "".join(f"--{k}={v} " for k, v in self.flags.items())
        return f"{self.keyword} {flags}{self.args}".rstrip()


def escape_character(text: str) -> str:
    """The escape character from a ``# escape=`` directive at the top (default ``\\``)."""
    for line in text.splitlines():
        match = DIRECTIVE.match(line.strip())
        if not match:
            break  # directives only count before the first non-directive line
        if match.group(1).lower() == "escape":
            if match.group(2) not in ("\\", "`"):
                raise DockerfileError(1, f"invalid escape character {match.group(2)!r}")
            return match.group(2)
    return "\\"


@pluggable("logical_lines")
def logical_lines(text: str, escape: str = "\\") -> list[tuple[int, str]]:
    """Join continuation lines and drop comments: ``[(first line number, joined text)]``.

    A line whose last non-blank character is ``escape`` continues on the next
    line (the escape character is removed); comment lines (first non-blank
    character ``#``) and blank lines are skipped, also inside a continuation.
    """
    result: list[tuple[int, str]] = []
    pending, start = "", 0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not pending:
            start = lineno
        body = raw.rstrip()
        if body.endswith(escape):
            pending += body[: -len(escape)]
            continue
        result.append((start, (pending + body).strip()))
        pending = ""
    if pending.strip():
        result.append((start, pending.strip()))  # the file ended inside a continuation
    return result


@pluggable("command_form")
def command_form(args: str) -> list[str] | str:
    """Exec form (a JSON array of strings) -> list; anything else -> shell-form string."""
    text = args.strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return text  # not valid JSON: Docker treats it as shell form
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return value
    return text


def split_flags(args: str) -> tuple[dict[str, str], str]:
    """``--chown=1:1 --from=x src dst`` -> ({"chown": "1:1", "from": "x"}, "src dst")."""
    flags: dict[str, str] = {}
    rest = args
    while rest.startswith("--"):
        word, _, rest = rest.partition(" ")
        name, equals, value = word[2:].partition("=")
        flags[name] = value if equals else "true"
        rest = rest.lstrip()
    return flags, rest


def parse(text: str) -> list[Instruction]:
    """Parse a whole Dockerfile; raises :class:`DockerfileError` with the line number."""
    instructions = []
    for lineno, line in logical_lines(text, escape_character(text)):
        keyword, *remainder = line.split(None, 1)
        keyword, rest = keyword.upper(), (remainder[0] if remainder else "")
        if keyword not in KEYWORDS:
            raise DockerfileError(lineno, f"unknown instruction: {keyword}")
        flags, args = split_flags(rest.strip())
        if not args and keyword not in {"HEALTHCHECK"}:
            raise DockerfileError(lineno, f"{keyword} requires at least one argument")
        instructions.append(Instruction(lineno, keyword, args, flags))
    if not instructions:
        raise DockerfileError(1, "the Dockerfile has no instructions")
    first = next((i for i in instructions if i.keyword != "ARG"), instructions[0])
    if first.keyword != "FROM":
        raise DockerfileError(first.lineno, f"the first instruction must be FROM, not {first.keyword}")
    return instructions


_VARIABLE = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<op>[-+])(?P<word>[^}]*))?\}"
                       r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")


def expand(text: str, variables: Mapping[str, str], *, lineno: int = 0) -> str:
    """Replace ``$VAR``/``${VAR}``/``${VAR:-d}``/``${VAR:+a}``, not inside '...', ``\\$`` kept."""
    out: list[str] = []
    index, quoted = 0, False
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text) and text[index + 1] == "$":
            out.append("$")
            index += 2
            continue
        if char == "'":
            quoted = not quoted
        if char == "$" and not quoted:
            match = _VARIABLE.match(text, index)
            if match is None:
                if text.startswith("${", index):
                    raise DockerfileError(lineno, f"bad substitution in {text!r}")
                out.append(char)
                index += 1
                continue
            name = match.group("braced") or match.group("plain")
            value = variables.get(name, "")
            if match.group("op") == "-":
                value = value or match.group("word")
            elif match.group("op") == "+":
                value = match.group("word") if value else ""
            out.append(value)
            index = match.end()
            continue
        out.append(char)
        index += 1
    return "".join(out)
