"""``python -m fromscratch COMMAND``: the command-line entry points of the course.

Each command lives in the module that implements it; this file only dispatches,
so importing it loads nothing heavy.
"""

from __future__ import annotations

import importlib
import sys

# command -> (module, function taking argv, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "doctor": ("fromscratch.host", "main", "what this host allows and which mode the course uses"),
    "apiserver": ("fromscratch.api.server", "main", "serve the Kubernetes API on 127.0.0.1"),
    "cluster": ("fromscratch.cluster.processes", "main", "run a whole cluster, one process per component"),
    "build": ("fromscratch.image.cli", "main", "build an image from a Dockerfile"),
    "images": ("fromscratch.image.cli", "images_main", "list local images"),
    "run": ("fromscratch.runtime.cli", "run_main", "run a container"),
    "ps": ("fromscratch.runtime.cli", "ps_main", "list containers"),
    "exec": ("fromscratch.runtime.cli", "exec_main", "run a command in a running container"),
    "logs": ("fromscratch.runtime.cli", "logs_main", "print a container's output"),
    "stop": ("fromscratch.runtime.cli", "stop_main", "stop a running container"),
    "rm": ("fromscratch.runtime.cli", "rm_main", "remove a container"),
    "commit": ("fromscratch.runtime.cli", "commit_main", "save a container's changes as an image"),
    "rmi": ("fromscratch.runtime.cli", "rmi_main", "remove an image"),
}


def usage() -> str:
    lines = ["usage: python -m fromscratch COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<10} {help_}" for name, (_, _, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in {"-h", "--help", "help"}:
        print(usage())
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"fromscratch: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module_name, function_name, _ = COMMANDS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name and module_name.startswith(err.name):
            print(f"fromscratch: {name!r} is not built yet ({module_name})", file=sys.stderr)
            return 2
        raise
    result = getattr(module, function_name)(rest)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
