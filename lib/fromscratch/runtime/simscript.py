"""The container programs of the simulated Pod runtime: a tiny shell over virtual time.

With no processes to run, a simulated container's command is *interpreted*.
The interpreter is a generator: it yields ``("sleep", seconds)`` whenever the
program waits, so the simulated runtime can advance it exactly as far as the
virtual clock has moved, and returns the exit status.

Supported (enough for the pod examples of the course): ``cmd1; cmd2``,
``cmd1 && cmd2``, ``cmd1 || cmd2``, ``while true; do ...; done``, ``> file`` and
``>> file``, ``$VAR``, and the commands ``sleep N|infinity``, ``exit N``,
``true``, ``false``, ``echo``, ``cat``, ``touch``, ``rm [-f]``, ``test -f|-e`` (and
``[ -f F ]``), ``date +%s``, ``httpd -p PORT [-h DIR]`` and ``nc -l -p PORT``
(they listen, forever), ``wget -q -O - http://localhost:PORT/PATH``.
Anything else exits 127 with "not found", as a shell would.
Files live in a :class:`SimFiles` shared by the pod, so volumes are shared.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field

Program = Generator[tuple[str, float], None, int]
FOREVER = float("inf")


@dataclass
class SimFiles:
    """Files of one simulated pod: keys are resolved by the container's mount table."""

    data: dict[tuple[str, str], str] = field(default_factory=dict)
    listening: dict[int, tuple[str, str]] = field(default_factory=dict)  # port -> (container, home)


class Exited(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


class SimShell:
    """Run programs for one container: ``mounts`` maps mountPath -> volume name."""

    def __init__(self, container: str, files: SimFiles, mounts: Mapping[str, str],
                 env: Mapping[str, str], output: Callable[[str], None], now: Callable[[], float]) -> None:
        self.container, self.files, self.mounts = container, files, dict(mounts)
        self.env, self.output, self.now = dict(env), output, now

    def key(self, path: str) -> tuple[str, str]:
        """Which file a path names: a volume's (shared) or the container's own."""
        for mount_path, volume in sorted(self.mounts.items(), key=lambda kv: -len(kv[0])):
            if path == mount_path or path.startswith(mount_path.rstrip("/") + "/"):
                return (f"volume:{volume}", path[len(mount_path.rstrip("/")):] or "/")
        return (f"container:{self.container}", path)

    def run(self, argv: list[str]) -> Program:
        """The program for a container command (``sh -c SCRIPT`` or one command)."""
        if len(argv) == 3 and argv[0].rsplit("/", 1)[-1] in ("sh", "bash") and argv[1] == "-c":
            tokens = self._tokens(argv[2])
        else:
            tokens = list(argv)
        try:
            status = yield from self._block(tokens)
        except Exited as stop:
            return stop.code
        return status

    def _tokens(self, script: str) -> list[str]:
        lexer = shlex.shlex(script, posix=True, punctuation_chars=";&|>")
        lexer.whitespace_split = True
        words = []
        for word in lexer:
            for name, value in sorted(self.env.items(), key=lambda kv: -len(kv[0])):
                word = word.replace("${" + name + "}", value).replace("$" + name, value)
            words.append(word)
        return words

    def _block(self, tokens: list[str]) -> Program:
        status, command, joiner = 0, [], ";"
        index = 0
        while index <= len(tokens):
            token = tokens[index] if index < len(tokens) else ";"
            if token == "while" and not command:
                # while true; do BODY; done
                end = self._matching_done(tokens, index)
                body = tokens[tokens.index("do", index) + 1:end]
                while True:
                    status = yield from self._block(body)
                    yield ("sleep", 0.0)  # subtle: a busy loop must still let time pass
                index = end + 1
                continue
            if token in (";", "&&", "||"):
                if command:
                    skip = (joiner == "&&" and status != 0) or (joiner == "||" and status == 0)
                    if not skip:
                        status = yield from self._simple(command)
                command, joiner = [], token
            else:
                command.append(token)
            index += 1
        return status

    @staticmethod
    def _matching_done(tokens: list[str], start: int) -> int:
        depth = 0
        for index in range(start, len(tokens)):
            if tokens[index] == "while":
                depth += 1
            elif tokens[index] == "done":
                depth -= 1
                if depth == 0:
                    return index
        raise Exited(2)

    def _simple(self, words: list[str]) -> Program:
        redirect, append = None, False
        for marker in (">>", ">"):
            if marker in words:
                at = words.index(marker)
                if at + 1 >= len(words):
                    return 2
                redirect, append = words[at + 1], marker == ">>"
                words = words[:at] + words[at + 2:]
                break
        if not words:
            return 0
        name, args = words[0], words[1:]
        if name == "[" and args[-1:] == ["]"]:
            name, args = "test", args[:-1]
        if name == "sleep":
            seconds = FOREVER if args and args[0] == "infinity" else float(args[0] if args else 0)
            yield ("sleep", seconds)
            return 0
        if name in ("httpd", "nc"):
            port = int(args[args.index("-p") + 1]) if "-p" in args else 80
            home = args[args.index("-h") + 1] if "-h" in args else "/"
            self.files.listening[port] = (self.container, home)
            yield ("sleep", FOREVER)
            return 0
        text, status = self._builtin(name, args)
        if redirect is not None:
            key = self.key(redirect)
            self.files.data[key] = (self.files.data.get(key, "") if append else "") + text
        elif text:
            self.output(text.rstrip("\n"))
        return status

    def _builtin(self, name: str, args: list[str]) -> tuple[str, int]:
        if name == "exit":
            raise Exited(int(args[0]) if args else 0)
        if name in ("true", "false"):
            return "", int(name == "false")
        if name == "echo":
            return " ".join(args) + "\n", 0
        if name == "date":
            return f"{int(self.now())}\n", 0
        if name == "cat":
            missing = [a for a in args if self.key(a) not in self.files.data]
            if missing:
                return "", 1
            return "".join(self.files.data[self.key(a)] for a in args), 0
        if name == "touch":
            for arg in args:
                self.files.data.setdefault(self.key(arg), "")
            return "", 0
        if name == "rm":
            paths = [a for a in args if not a.startswith("-")]
            gone = [p for p in paths if self.files.data.pop(self.key(p), None) is None]
            return "", int(bool(gone) and "-f" not in args)
        if name == "test" and len(args) == 2 and args[0] in ("-f", "-e"):
            return "", int(self.key(args[1]) not in self.files.data)
        if name == "wget":
            answer = http_get(self.files, args[-1])
            if answer is None:
                return "wget: can't connect to remote host: Connection refused\n", 1
            if answer[0] >= 400:
                return f"wget: server returned error: HTTP/1.1 {answer[0]}\n", 1
            return answer[1], 0
        return f"sh: {name}: not found\n", 127


def http_get(files: SimFiles, url: str) -> tuple[int, str] | None:
    """What an HTTP GET on a simulated pod gets: (status, body), None if nothing listens."""
    rest = url.split("://", 1)[-1]
    hostport, _, path = rest.partition("/")
    port = int(hostport.rpartition(":")[2]) if ":" in hostport else 80
    if port not in files.listening:
        return None
    container, home = files.listening[port]
    shell = SimShell(container, files, {}, {}, lambda _: None, lambda: 0.0)
    key = shell.key(home.rstrip("/") + "/" + path)
    if key in files.data:
        return 200, files.data[key]
    return (200, "") if not path else (404, "")


def http_status(files: SimFiles, url: str) -> int | None:
    answer = http_get(files, url)
    return None if answer is None else answer[0]


def run_to_completion(program: Program, budget: float) -> tuple[int | None, float]:
    """Run a short program (exec probe, hook) within ``budget`` virtual seconds."""
    spent = 0.0
    try:
        while True:
            _, seconds = next(program)
            spent += seconds
            if spent > budget:
                return None, budget
    except StopIteration as done:
        return int(done.value or 0), spent
