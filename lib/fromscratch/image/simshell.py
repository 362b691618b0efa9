"""A tiny simulated shell for ``RUN`` when no isolated container can be made.

On macOS, Binder or any host without namespaces, a ``RUN`` step cannot execute
the image's own ``/bin/sh`` inside its root filesystem.  Rather than run the
command on the host (where ``echo hi > /etc/motd`` would hit the *host's*
``/etc``), the simulated builder interprets a small, honest subset of POSIX
sh against the unpacked root directory, every path resolved inside it.

Supported: ``cmd1 && cmd2``, ``cmd1 ; cmd2``, ``> file`` / ``>> file``
redirection, ``$VAR`` expansion from the build environment, and the commands
``echo [-n]``, ``printf``, ``mkdir [-p]``, ``touch``, ``rm [-rf]``, ``ln [-sf]``,
``cp [-r]``, ``mv``, ``cat``, ``chmod MODE``, ``true``, ``false``, ``exit N``.
Anything else stops the build with :class:`UnsupportedCommand`, naming it.
Not supported: pipes, ``||``, subshells, globbing, functions, control flow.
"""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

from fromscratch.image.dockerfile import expand
from fromscratch.image.extract import resolve_in_root


class UnsupportedCommand(RuntimeError):
    """The simulated shell does not implement this command or syntax."""


COMMANDS = ("echo", "printf", "mkdir", "touch", "rm", "ln", "cp", "mv", "cat", "chmod",
            "true", "false", "exit")


class SimulatedShell:
    """Interpret a ``RUN`` script against ``root`` as if it were ``/``."""

    def __init__(self, root: str | os.PathLike[str], env: Mapping[str, str], cwd: str = "/",
                 output: Callable[[str], None] = print) -> None:
        self.root, self.env, self.cwd, self.output = Path(root), dict(env), cwd, output

    def path(self, name: str) -> Path:
        return resolve_in_root(self.root, name if name.startswith("/") else f"{self.cwd}/{name}")

    def run(self, script: str) -> int:
        """Run the script; returns its exit status like ``sh -c`` would."""
        # $VAR expansion first (not inside '...'), as sh does before splitting words
        lexer = shlex.shlex(expand(script, self.env), posix=True, punctuation_chars=";&|<>()")
        lexer.whitespace_split = True
        status, command = 0, []
        for token in [*lexer, ";"]:
            if token in ("&&", ";"):
                if command:
                    status = self._run_one(command)
                    command = []
                if self._exited or (token == "&&" and status != 0):
                    return status
            elif token in ("|", "||", "(", ")", "<", "&"):
                raise UnsupportedCommand(f"{token!r} is not supported by the simulated shell")
            else:
                command.append(token)
        return status

    _exited = False

    def run_argv(self, argv: list[str]) -> int:
        """Run one exec-form command (``RUN ["mkdir", "-p", "/x"]``)."""
        return self._run_one(list(argv))


    def _run_one(self, words: list[str]) -> int:
        redirect, mode = None, "w"
        for marker, open_mode in ((">>", "a"), (">", "w")):
            if marker in words:
                at = words.index(marker)
                if at + 1 >= len(words):
                    raise UnsupportedCommand(f"{marker} needs a file name")
                redirect, mode = words[at + 1], open_mode
                words = words[:at] + words[at + 2:]
                break
        name, args = words[0], words[1:]
        if name not in COMMANDS:
            raise UnsupportedCommand(f"{name!r} is not available in the simulated shell "
                                     f"(it has: {', '.join(COMMANDS)})")
        text, status = getattr(self, f"_cmd_{name}")(args)
        if redirect is not None:
            with open(self.path(redirect), mode) as out:
                out.write(text)
        elif text:
            self.output(text.rstrip("\n"))
        return status

    def _cmd_echo(self, args: list[str]) -> tuple[str, int]:
        if args[:1] == ["-n"]:
            return " ".join(args[1:]), 0
        return " ".join(args) + "\n", 0

    def _cmd_printf(self, args: list[str]) -> tuple[str, int]:
        template = args[0].replace("\\n", "\n").replace("\\t", "\t") if args else ""
        return template.replace("%s", "{}").format(*args[1:]) if args else "", 0

    def _cmd_mkdir(self, args: list[str]) -> tuple[str, int]:
        parents = "-p" in args
        for name in (a for a in args if not a.startswith("-")):
            self.path(name).mkdir(parents=parents, exist_ok=parents)
        return "", 0

    def _cmd_touch(self, args: list[str]) -> tuple[str, int]:
        for name in args:
            self.path(name).touch()
        return "", 0

    def _cmd_rm(self, args: list[str]) -> tuple[str, int]:
        flags = "".join(a[1:] for a in args if a.startswith("-"))
        for name in (a for a in args if not a.startswith("-")):
            target = self.path(name)
            if target.is_dir() and not target.is_symlink():
                if "r" not in flags:
                    return f"rm: {name}: is a directory\n", 1
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            elif "f" not in flags:
                return f"rm: {name}: No such file or directory\n", 1
        return "", 0

    def _cmd_ln(self, args: list[str]) -> tuple[str, int]:
        flags = "".join(a[1:] for a in args if a.startswith("-"))
        source, dest = [a for a in args if not a.startswith("-")][-2:]
        link = self.path(dest)
        if link.is_dir() and not link.is_symlink():
            link = link / Path(source).name
        if "f" in flags and (link.exists() or link.is_symlink()):
            link.unlink()
        if "s" in flags:
            link.symlink_to(source)
        else:
            os.link(self.path(source), link)
        return "", 0

    def _cmd_cp(self, args: list[str]) -> tuple[str, int]:
        names = [a for a in args if not a.startswith("-")]
        dest = self.path(names[-1])
        for name in names[:-1]:
            source = self.path(name)
            target = dest / source.name if dest.is_dir() else dest
            if source.is_dir():
                shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
            else:
                shutil.copy2(source, target, follow_symlinks=False)
        return "", 0

    def _cmd_mv(self, args: list[str]) -> tuple[str, int]:
        source, dest = self.path(args[0]), self.path(args[1])
        shutil.move(source, dest / source.name if dest.is_dir() else dest)
        return "", 0

    def _cmd_cat(self, args: list[str]) -> tuple[str, int]:
        return "".join(self.path(name).read_text() for name in args), 0

    def _cmd_chmod(self, args: list[str]) -> tuple[str, int]:
        for name in args[1:]:
            os.chmod(self.path(name), int(args[0], 8))
        return "", 0

    def _cmd_true(self, args: list[str]) -> tuple[str, int]:
        return "", 0

    def _cmd_false(self, args: list[str]) -> tuple[str, int]:
        return "", 1

    def _cmd_exit(self, args: list[str]) -> tuple[str, int]:
        self._exited = True
        return "", int(args[0]) if args else 0
