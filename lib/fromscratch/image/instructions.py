"""The metadata instructions: how each one changes the image config.

Only ``RUN``, ``COPY`` and ``ADD`` change the filesystem; every other
instruction edits the image configuration (OCI image-spec config.md, plus
Docker's ``Healthcheck``, ``Shell`` and ``OnBuild`` extensions) and leaves an
``empty_layer`` history entry.  Each function here takes the config's
``config`` object and the instruction's (already variable-expanded) arguments,
and changes the config in place, following the Dockerfile reference:

- ``ENV``/``LABEL`` take ``key=value`` pairs (quotes allowed); the legacy
  ``ENV key value with spaces`` form too;
- ``EXPOSE 80 53/udp`` -> ``ExposedPorts {"80/tcp": {}, "53/udp": {}}``;
- ``CMD``/``ENTRYPOINT`` store the exec form; a shell form is stored as
  ``[SHELL..., text]``; ENTRYPOINT clears a CMD inherited from the base image;
- ``HEALTHCHECK [--interval --timeout --start-period --start-interval --retries] CMD …``
  or ``HEALTHCHECK NONE``; durations in Go syntax (``1m30s``), stored in nanoseconds.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from typing import Any

from fromscratch.image.argv import SHELL
from fromscratch.image.dockerfile import DockerfileError, Instruction, command_form

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9,
          "h": 3600 * 10**9}
HEALTHCHECK_FLAGS = {"interval": "Interval", "timeout": "Timeout",
                     "start-period": "StartPeriod", "start-interval": "StartInterval"}


def parse_duration(text: str, *, lineno: int = 0) -> int:
    """Go's ``time.ParseDuration`` for the units Docker accepts -> nanoseconds."""
    position, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if not text or position != len(text):
        raise DockerfileError(lineno, f"invalid duration {text!r} (examples: 30s, 1m30s, 500ms)")
    return int(total)


def key_values(args: str, keyword: str, *, lineno: int, legacy: bool) -> dict[str, str]:
    """``a=1 b="two words"`` -> dict; ``ENV key value words`` (legacy form) too."""
    try:
        words = shlex.split(args)
    except ValueError as err:
        raise DockerfileError(lineno, f"{keyword}: {err}") from None
    if legacy and words and "=" not in words[0]:
        name, _, value = args.strip().partition(" ")
        if not value.strip() and keyword == "ENV":
            raise DockerfileError(lineno, f"ENV {name} needs a value")
        return {name: " ".join(shlex.split(value))}
    pairs = {}
    for word in words:
        key, equals, value = word.partition("=")
        if not equals or not key:
            raise DockerfileError(lineno, f"{keyword}: {word!r} is not key=value")
        pairs[key] = value
    return pairs


def set_env(config: dict[str, Any], name: str, value: str) -> None:
    env = [item for item in config.get("Env") or [] if item.partition("=")[0] != name]
    config["Env"] = env + [f"{name}={value}"]


def env_dict(config: dict[str, Any]) -> dict[str, str]:
    return dict(item.partition("=")[::2] for item in config.get("Env") or [])


def _command(instruction: Instruction, config: dict[str, Any]) -> list[str]:
    form = command_form(instruction.args)
    return form if isinstance(form, list) else [*(config.get("Shell") or SHELL), form]


def _healthcheck(instruction: Instruction, config: dict[str, Any]) -> dict[str, Any]:
    words = instruction.args.split(None, 1)
    kind = words[0].upper() if words else ""
    if kind == "NONE":
        if instruction.flags:
            raise DockerfileError(instruction.lineno, "HEALTHCHECK NONE takes no options")
        return {"Test": ["NONE"]}
    if kind != "CMD" or len(words) < 2:
        raise DockerfileError(instruction.lineno, "HEALTHCHECK must be 'NONE' or 'CMD command'")
    form = command_form(words[1])
    check: dict[str, Any] = {"Test": ["CMD", *form] if isinstance(form, list)
                             else ["CMD-SHELL", form]}
    for flag, value in instruction.flags.items():
        if flag in HEALTHCHECK_FLAGS:
            duration = parse_duration(value, lineno=instruction.lineno)
            if 0 < duration < 10**6:
                raise DockerfileError(instruction.lineno, f"--{flag} cannot be less than 1ms")
            check[HEALTHCHECK_FLAGS[flag]] = duration
        elif flag == "retries":
            if not value.isdigit():
                raise DockerfileError(instruction.lineno, f"--retries must be a number >= 0, "
                                                          f"not {value!r}")
            check["Retries"] = int(value)
        else:
            raise DockerfileError(instruction.lineno, f"HEALTHCHECK: unknown flag --{flag}")
    return check


def apply_metadata(instruction: Instruction, image: dict[str, Any], *,
                   cmd_inherited: bool) -> None:
    """Apply a non-filesystem instruction to ``image`` (the whole config document)."""
    config = image.setdefault("config", {})
    keyword, args, lineno = instruction.keyword, instruction.args, instruction.lineno
    if keyword == "MAINTAINER":
        image["author"] = args
    elif keyword == "ENV":
        for name, value in key_values(args, keyword, lineno=lineno, legacy=True).items():
            set_env(config, name, value)
    elif keyword == "LABEL":
        config.setdefault("Labels", {}).update(
            key_values(args, keyword, lineno=lineno, legacy=False))
    elif keyword == "EXPOSE":
        for port in args.split():
            number, _, protocol = port.partition("/")
            if not number.isdigit() or protocol not in ("", "tcp", "udp", "sctp"):
                raise DockerfileError(lineno, f"EXPOSE: invalid port {port!r}")
            config.setdefault("ExposedPorts", {})[f"{number}/{protocol or 'tcp'}"] = {}
    elif keyword == "VOLUME":
        form = command_form(args)
        for path in form if isinstance(form, list) else args.split():
            config.setdefault("Volumes", {})[path] = {}
    elif keyword == "USER":
        config["User"] = args
    elif keyword == "WORKDIR":
        config["WorkingDir"] = posixpath.normpath(
            posixpath.join(config.get("WorkingDir") or "/", args))
    elif keyword == "CMD":
        config["Cmd"] = _command(instruction, config)
    elif keyword == "ENTRYPOINT":
        config["Entrypoint"] = _command(instruction, config)
        if cmd_inherited:
            config.pop("Cmd", None)  # reference: ENTRYPOINT resets a CMD from the base image
    elif keyword == "HEALTHCHECK":
        config["Healthcheck"] = _healthcheck(instruction, config)
    elif keyword == "STOPSIGNAL":
        config["StopSignal"] = args
    elif keyword == "SHELL":
        form = command_form(args)
        if not isinstance(form, list) or not form:
            raise DockerfileError(lineno, "SHELL requires the JSON form, e.g. "
                                          '["/bin/sh", "-c"]')
        config["Shell"] = form
    else:
        raise DockerfileError(lineno, f"{keyword} is not supported by this builder")
