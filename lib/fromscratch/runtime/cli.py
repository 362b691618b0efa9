"""``fromscratch run|ps|exec|logs|stop|rm|commit|rmi``: Docker's everyday commands.

Each command is a thin layer over :mod:`fromscratch.runtime.engine`; the state
of every container lives on disk (:mod:`fromscratch.runtime.state`), so
``run -d`` in one shell and ``ps``/``logs``/``stop`` in another see the same
containers.  ``run -d`` leaves a small monitor process behind (what
containerd-shim or conmon does): it waits for the container and records its
exit code, since the CLI itself has gone.

Errors are one line on stderr and exit code 125 (Docker's "the daemon failed"),
or the container's own exit code for ``run`` without ``-d``.
Simplified: no TTY (``-t`` is accepted and ignored), ``-i`` forwards nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from typing import Any

from fromscratch.runtime import engine
from fromscratch.runtime.state import NoSuchContainer, StateDir

_SIZE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*([kmgtp]?)(i?b)?$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


class UsageError(ValueError):
    """Bad command-line input."""


def ram_in_bytes(text: str) -> int:
    """Docker's ``--memory`` syntax: ``512``, ``64m``, ``1g``, ``100MiB`` (binary units)."""
    match = _SIZE.match(text.strip())
    if not match:
        raise UsageError(f"invalid size {text!r}: use e.g. 64m, 1g or a number of bytes")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def _env_pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not name:
        raise UsageError(f"invalid environment variable {text!r}: expected NAME=value")
    return name, value if sep else os.environ.get(name, "")


def _fail(message: str) -> int:
    print(f"fromscratch: {message}", file=sys.stderr)
    return 125


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"fromscratch {prog}", description=description)
    parser.add_argument("--root", help="state directory (default: $FROMSCRATCH_HOME/containers)")
    return parser


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace | int:
    try:
        return parser.parse_args(argv)
    except SystemExit as stop:
        return int(stop.code or 0) if stop.code not in (0, None) else 0


def _follow(container: engine.AnyContainer) -> int:
    """Print the log as it grows until the container ends; return its exit code."""
    log, position = container.directory / "log", 0
    while True:
        done = container.status == "stopped"
        if log.exists():
            with open(log, "rb") as stream:
                stream.seek(position)
                data = stream.read()
                position += len(data)
                sys.stdout.write(data.decode(errors="replace"))
                sys.stdout.flush()
        if done:
            return container.record().get("exit_code") or 0
        time.sleep(0.02)


def _detached(create: Any, remove_after: bool) -> int:
    """``run -d``: a monitor process creates, starts and waits for the container (a shim).

    The monitor must be the *parent* of the container's processes to learn its
    exit code, so it is forked before ``create``; this CLI prints the ID it reports.
    """
    read_end, write_end = os.pipe()
    if os.fork() == 0:
        os.close(read_end)
        try:
            os.setsid()
            container = create()
            container.start()
            os.write(write_end, f"ok {container.id}\n".encode())
            os.close(write_end)
            container.wait()
            if remove_after:
                engine.remove(container)
        except BaseException as err:  # noqa: BLE001 - reported to the CLI
            os.write(write_end, f"error {err}\n".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    # subtle: read one line, not to EOF: the container's shim inherited the write end
    with os.fdopen(read_end, "rb") as answers:
        answer = answers.readline().decode(errors="replace").rstrip("\n")
    if not answer.startswith("ok "):
        return _fail(answer.removeprefix("error ") or "the container monitor died")
    print(answer[3:])
    return 0


def run_main(argv: list[str]) -> int:
    """``fromscratch run [-d] [--rm] [-v ...] [-e ...] [--cpus N] [--memory M] [--name N] IMAGE [CMD...]``"""
    parser = _parser("run", "Run a command in a new container.")
    parser.add_argument("-d", "--detach", action="store_true", help="run in the background")
    parser.add_argument("-i", "--interactive", action="store_true", help="accepted; stdin is not forwarded")
    parser.add_argument("-t", "--tty", action="store_true", help="accepted; no terminal is allocated")
    parser.add_argument("--rm", action="store_true", help="remove the container when it exits")
    parser.add_argument("-v", "--volume", action="append", default=[], help="/host:/ctr[:ro] or /ctr")
    parser.add_argument("-e", "--env", action="append", default=[], help="NAME=value")
    parser.add_argument("--cpus", type=float, help="CPU limit, e.g. 0.5")
    parser.add_argument("--memory", "-m", help="memory limit, e.g. 64m")
    parser.add_argument("--name", help="a name for the container")
    parser.add_argument("--hostname", help="the container's hostname")
    parser.add_argument("--workdir", "-w", help="working directory inside the container")
    parser.add_argument("image")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = _parse(parser, argv)
    if isinstance(args, int):
        return args
    try:
        request: dict[str, Any] = {"args": args.command, "volumes": args.volume,
                                   "env": dict(_env_pair(e) for e in args.env), "cpus": args.cpus}
        if args.memory:
            request["memory"] = ram_in_bytes(args.memory)
        if args.hostname:
            request["hostname"] = args.hostname
        if args.workdir:
            request["cwd"] = args.workdir
        states = StateDir(args.root)
    except Exception as err:  # noqa: BLE001 - the CLI reports every failure in one line
        return _fail(str(err))

    def create() -> engine.AnyContainer:
        return engine.create_from_image(args.image, request, states=states, name=args.name)

    if args.detach and engine._kernel_mode() != "simulated":
        return _detached(create, args.rm)
    try:
        container = create()
    except Exception as err:  # noqa: BLE001
        return _fail(str(err))
    container.start()
    if isinstance(container, engine.Container):
        container.wait()
    code = _follow(container)
    if args.rm:
        engine.remove(container)
    return code


def ps_main(argv: list[str]) -> int:
    """``fromscratch ps [-a] [-q]``: running containers (``-a``: all)."""
    parser = _parser("ps", "List containers.")
    parser.add_argument("-a", "--all", action="store_true")
    parser.add_argument("-q", "--quiet", action="store_true")
    args = _parse(parser, argv)
    if isinstance(args, int):
        return args
    records = [r for r in StateDir(args.root).all() if args.all or r["status"] == "running"]
    if args.quiet:
        for record in records:
            print(record["id"][:12])
        return 0
    print(f"{'CONTAINER ID':<14}{'IMAGE':<18}{'COMMAND':<26}{'STATUS':<16}{'PID':<8}NAMES")
    for record in records:
        command = " ".join(record.get("command", []))
        command = f'"{command[:21]}…"' if len(command) > 22 else f'"{command}"'
        status = record["status"]
        if status == "stopped" and record.get("exit_code") is not None:
            code = record["exit_code"]
            status = f"Exited ({128 - code if code < 0 else code})"  # killed by N: 128+N
        pid = record.get("pid") if record["status"] == "running" else ""
        print(f"{record['id'][:12]:<14}{record.get('image', ''):<18}{command:<26}{status:<16}"
              f"{pid or '':<8}{record.get('name', '')}")
    return 0


def _one_container(prog: str, description: str, argv: list[str],
                   extra: list[tuple[list[str], dict[str, Any]]] = ()) -> tuple[Any, Any] | int:
    parser = _parser(prog, description)
    for flags, options in extra:
        parser.add_argument(*flags, **options)
    parser.add_argument("container")
    args = _parse(parser, argv) if prog != "exec" else None
    if prog == "exec":
        parser.add_argument("command", nargs=argparse.REMAINDER)
        args = _parse(parser, argv)
    if isinstance(args, int):
        return args
    try:
        return args, engine.open_container(args.container, StateDir(args.root))
    except (NoSuchContainer, ValueError) as err:
        return _fail(str(err).strip("'\""))


def exec_main(argv: list[str]) -> int:
    """``fromscratch exec CONTAINER CMD...``: run a command in a running container."""
    found = _one_container("exec", "Run a command in a running container.", argv)
    if isinstance(found, int):
        return found
    args, container = found
    if not args.command:
        return _fail("exec needs a command to run")
    if not isinstance(container, engine.Container):
        return _fail("exec needs a real container (this one is simulated)")
    try:
        code, output = engine.exec_in(container, args.command)
    except Exception as err:  # noqa: BLE001
        return _fail(str(err))
    sys.stdout.write(output)
    return code


def logs_main(argv: list[str]) -> int:
    """``fromscratch logs CONTAINER``: what it wrote to stdout and stderr."""
    found = _one_container("logs", "Fetch the logs of a container.", argv)
    if isinstance(found, int):
        return found
    sys.stdout.write(found[1].logs())
    return 0


def stop_main(argv: list[str]) -> int:
    """``fromscratch stop [-t SECONDS] CONTAINER``: SIGTERM, then SIGKILL."""
    found = _one_container("stop", "Stop a running container.", argv,
                           [(["-t", "--time"], {"type": float, "default": 10.0})])
    if isinstance(found, int):
        return found
    args, container = found
    engine.stop(container, timeout=args.time)
    print(args.container)
    return 0


def rm_main(argv: list[str]) -> int:
    """``fromscratch rm [-f] CONTAINER``: remove a stopped (or, with -f, any) container."""
    found = _one_container("rm", "Remove a container.", argv,
                           [(["-f", "--force"], {"action": "store_true"})])
    if isinstance(found, int):
        return found
    args, container = found
    try:
        engine.remove(container, force=args.force)
    except Exception as err:  # noqa: BLE001
        return _fail(str(err))
    print(args.container)
    return 0


def commit_main(argv: list[str]) -> int:
    """``fromscratch commit CONTAINER REPOSITORY[:TAG]``: its changes as a new image."""
    parser = _parser("commit", "Create a new image from a container's changes.")
    parser.add_argument("-m", "--message", default="")
    parser.add_argument("container")
    parser.add_argument("reference")
    args = _parse(parser, argv)
    if isinstance(args, int):
        return args
    try:
        container = engine.open_container(args.container, StateDir(args.root))
        print(engine.commit(container, args.reference, comment=args.message))
    except Exception as err:  # noqa: BLE001
        return _fail(str(err).strip("'\""))
    return 0


def rmi_main(argv: list[str]) -> int:
    """``fromscratch rmi IMAGE``: remove an image tag no container uses."""
    parser = _parser("rmi", "Remove an image.")
    parser.add_argument("image")
    args = _parse(parser, argv)
    if isinstance(args, int):
        return args
    try:
        engine.remove_image(args.image, states=StateDir(args.root))
    except Exception as err:  # noqa: BLE001
        return _fail(str(err).strip("'\""))
    print(f"Untagged: {args.image}")
    return 0
