"""The Dockerfile builder: one step per instruction, one layer per filesystem step.

What ``docker build`` does, step by step (the classic builder's model):

1. ``FROM`` starts from a local image's layers and config (or ``scratch``);
2. each instruction is looked up in the build cache (``fromscratch.image.cache``);
3. on a miss, ``RUN`` executes in a throwaway container (``fromscratch.image.run``)
   and ``COPY``/``ADD`` stage files from the context (``fromscratch.image.context``);
   their changes become a gzip layer, named by its DiffID; every other
   instruction only edits the config (``fromscratch.image.instructions``) and
   leaves an ``empty_layer`` history entry;
4. the final config and manifest are written to the store's OCI layout under
   the requested tag.

A ``progress`` callback sees every step start, its output, and its result.
Simplified: a single build stage (no ``COPY --from``, a second ``FROM`` is an
error), no ``ONBUILD`` triggers, no ``.dockerignore``.
"""

from __future__ import annotations

import copy
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fromscratch.image import context as build_context
from fromscratch.image.argv import SHELL
from fromscratch.image.base import BASE_REFERENCE, ensure_base_image
from fromscratch.image.cache import BuildCache, step_key
from fromscratch.image.dockerfile import (
    EXPANDED,
    DockerfileError,
    Instruction,
    command_form,
    expand,
    parse,
)
from fromscratch.image.instructions import apply_metadata, env_dict
from fromscratch.image.layers import Change, LayerBlob, chain_id, layer_from_changes
from fromscratch.image.oci import Descriptor, Image, ImageNotFound, full_reference, host_architecture
from fromscratch.image.run import run_step
from fromscratch.image.store import ImageStore

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
FILESYSTEM_STEPS = {"RUN", "COPY", "ADD"}


class BuildError(RuntimeError):
    """A step failed; the message starts with ``Dockerfile:<line>:``."""


@dataclass
class Step:
    """One instruction as built: what ran, whether the cache had it, what it produced."""

    number: int
    total: int
    instruction: Instruction
    text: str
    cached: bool = False
    layer: Descriptor | None = None
    diff_id: str = ""
    seconds: float = 0.0
    isolation: str = ""
    output: list[str] = field(default_factory=list)


@dataclass
class BuildResult:
    image: Image
    steps: list[Step]
    mode: str
    warnings: list[str] = field(default_factory=list)


Progress = Callable[[str, Step, str], None]


def print_progress(event: str, step: Step, line: str = "") -> None:
    """Docker-style progress on stdout: ``Step 2/5 : RUN …``, `` ---> Using cache``."""
    if event == "start":
        print(f"Step {step.number}/{step.total} : {step.text}", flush=True)
    elif event == "done" and step.instruction.keyword == "FROM":
        print(f" ---> {line}", flush=True)
    elif event == "output":
        print(f"  | {line}", flush=True)
    elif event == "done":
        if step.cached:
            print(" ---> Using cache")
        if step.isolation and not step.cached:
            print(f" ---> ran in: {step.isolation}")
        if step.layer is not None:
            print(f" ---> layer {step.diff_id[7:19]} ({step.layer['size']:,} bytes gzip)"
                  f" in {step.seconds:.2f}s", flush=True)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _kernel_mode() -> str:
    from fromscratch import host

    return host.mode()


class _Build:
    """The state of one build: the image config document and its layers so far."""

    def __init__(self, store: ImageStore, context: Path, build_args: Mapping[str, str],
                 mode: str, no_cache: bool, progress: Progress) -> None:
        self.store, self.context, self.mode, self.progress = store, context, mode, progress
        self.build_args, self.no_cache = dict(build_args), no_cache
        self.cache = BuildCache(store.root / "cache.json")
        self.doc: dict[str, Any] = {}
        self.layers: list[Descriptor] = []
        self.args: dict[str, str] = {}
        self.meta_args: dict[str, str] = {}
        self.used_args: set[str] = set()
        self.cmd_inherited = False
        self.started = False

    # --- FROM and ARG ---------------------------------------------------------------
    def start(self, instruction: Instruction) -> str:
        if self.started:
            raise BuildError(f"Dockerfile:{instruction.lineno}: multi-stage builds (a second "
                             "FROM) are not supported by this builder")
        self.started = True
        words = expand(instruction.args, self.meta_args, lineno=instruction.lineno).split()
        if len(words) not in (1, 3) or (len(words) == 3 and words[1].upper() != "AS"):
            raise DockerfileError(instruction.lineno, "FROM takes 'image [AS name]'")
        reference = words[0]
        base_config: dict[str, Any] = {}
        if reference != "scratch":
            try:
                if full_reference(reference) == BASE_REFERENCE:
                    image = ensure_base_image(self.store)
                else:
                    image = self.store.get(reference)
            except ImageNotFound as err:
                raise BuildError(f"Dockerfile:{instruction.lineno}: {err}") from None
            self.layers = list(image.layers)
            base_config = copy.deepcopy(image.config)
        self.doc = {"architecture": host_architecture(), "os": "linux",
                    "config": base_config.get("config", {}),
                    "rootfs": {"type": "layers", "diff_ids": base_config.get("rootfs", {})
                               .get("diff_ids", [])},
                    "history": base_config.get("history", [])}
        if "author" in base_config:
            self.doc["author"] = base_config["author"]
        self.cmd_inherited = bool(self.doc["config"].get("Cmd"))
        return f"FROM {reference}"

    def declare_arg(self, instruction: Instruction, *, global_scope: bool) -> None:
        name, equals, default = instruction.args.partition("=")
        name = name.strip()
        scope = self.meta_args if global_scope else self.args
        if name in self.build_args:
            value = self.build_args[name]
            self.used_args.add(name)
        elif equals:
            value = expand(default.strip().strip('"'), {**self.meta_args, **self.args})
        else:
            value = self.meta_args.get(name, "")  # re-declared global ARG keeps its value
        scope[name] = value

    # --- a regular step ---------------------------------------------------------------
    def variables(self) -> dict[str, str]:
        return {**self.args, **env_dict(self.doc["config"])}

    def expanded(self, instruction: Instruction) -> str:
        """The arguments with variables replaced, for the instructions that expand them."""
        if instruction.keyword not in EXPANDED:
            return instruction.args
        return expand(instruction.args, self.variables(), lineno=instruction.lineno)

    def display(self, instruction: Instruction) -> str:
        return str(Instruction(instruction.lineno, instruction.keyword,
                               self.expanded(instruction), instruction.flags))

    def key(self, step: Step) -> str:
        digest = ""
        if step.instruction.keyword in ("COPY", "ADD"):
            sources = self._sources(step)[0]
            digest = build_context.content_digest(self.context, sources)
        instruction = step.text
        if step.instruction.keyword == "RUN":
            instruction += " |args " + repr(sorted(self.args.items()))
        parent = {k: v for k, v in self.doc.items() if k not in ("history", "created")}
        return step_key(parent_chain_id=chain_id(self.doc["rootfs"]["diff_ids"]),
                        parent_config=parent, instruction=instruction, content_digest=digest)

    def _sources(self, step: Step) -> tuple[list[str], str]:
        args = self.expanded(step.instruction)
        form = command_form(args)
        words = form if isinstance(form, list) else args.split()
        if len(words) < 2:
            raise DockerfileError(step.instruction.lineno,
                                  f"{step.instruction.keyword} requires a source and a destination")
        return words[:-1], words[-1]

    def execute(self, step: Step, scratch: Path) -> LayerBlob | None:
        """Run one cache-missed step; returns its layer blob (None for config-only steps)."""
        instruction = step.instruction
        keyword = instruction.keyword
        if keyword not in FILESYSTEM_STEPS:
            apply_metadata(Instruction(instruction.lineno, keyword, self.expanded(instruction),
                                       instruction.flags),
                           self.doc, cmd_inherited=self.cmd_inherited)
            return None
        config = self.doc["config"]
        if keyword == "RUN":
            for flag in instruction.flags:
                raise DockerfileError(instruction.lineno, f"RUN --{flag} is not supported")
            form = command_form(instruction.args)
            argv = form if isinstance(form, list) else [*(config.get("Shell") or SHELL), form]
            env = {"PATH": DEFAULT_PATH, **self.args, **env_dict(config)}
            result = run_step(store=self.store, layers=self.layers, argv=argv, env=env,
                              workdir=config.get("WorkingDir") or "/",
                              user=config.get("User", ""), mode=self.mode,
                              scratch=scratch / "run",
                              output=lambda line: self._output(step, line))
            step.isolation = result.isolation
            if result.exit_code != 0:
                raise BuildError(f"Dockerfile:{instruction.lineno}: {step.text!r} returned a "
                                 f"non-zero code: {result.exit_code}")
            return layer_from_changes(result.root, result.changes, scratch / "layer.tar.gz")
        # COPY / ADD
        unknown = set(instruction.flags) - {"chown", "chmod"}
        if unknown:
            raise DockerfileError(instruction.lineno, f"{keyword} --{unknown.pop()} is not "
                                  "supported (single-stage builds only)")
        sources, dest = self._sources(step)
        staging = scratch / "copy"
        try:
            build_context.stage(self.context, staging, sources, dest,
                                workdir=config.get("WorkingDir") or "/", add=keyword == "ADD",
                                chmod=instruction.flags.get("chmod", ""))
            owner = build_context.parse_chown(instruction.flags.get("chown", ""))
        except build_context.ContextError as err:
            raise BuildError(f"Dockerfile:{instruction.lineno}: {err}") from None
        changes = [Change(p.relative_to(staging).as_posix(), "add")
                   for p in sorted(staging.rglob("*"))]
        return layer_from_changes(staging, changes, scratch / "layer.tar.gz", owner=owner)

    def _output(self, step: Step, line: str) -> None:
        step.output.append(line)
        self.progress("output", step, line)

    def record(self, step: Step, blob: LayerBlob | None) -> dict[str, Any]:
        entry: dict[str, Any] = {"created": _now(), "created_by": step.text}
        layer = None
        if blob is None:
            entry["empty_layer"] = True
        else:
            layer = self.store.add_layer(blob)
            blob.path.unlink()
        return {"config": self.doc["config"], "author": self.doc.get("author"),
                "layer": layer, "diff_id": blob.diff_id if blob else "", "history": entry}

    def adopt(self, step: Step, result: dict[str, Any]) -> None:
        self.doc["config"] = copy.deepcopy(result["config"])
        if result.get("author"):
            self.doc["author"] = result["author"]
        self.doc["history"].append(result["history"])
        if result["layer"] is not None:
            self.layers.append(result["layer"])
            self.doc["rootfs"]["diff_ids"].append(result["diff_id"])
            step.layer, step.diff_id = result["layer"], result["diff_id"]
        if step.instruction.keyword == "CMD":
            self.cmd_inherited = False


def build(context: str | Path, *, tag: str, dockerfile: str = "Dockerfile",
          build_args: Mapping[str, str] | None = None, store: ImageStore | None = None,
          no_cache: bool = False, mode: str | None = None,
          progress: Progress | None = print_progress) -> BuildResult:
    """Build ``context/dockerfile`` into ``store`` as ``tag``; returns the image and steps."""
    context = Path(context)
    path = context / dockerfile
    if not path.is_file():
        raise FileNotFoundError(f"no {dockerfile} in build context {context}")
    instructions = parse(path.read_text())
    store = store or ImageStore()
    run_mode = mode or _kernel_mode()
    state = _Build(store, context, build_args or {}, run_mode, no_cache,
                   progress or (lambda *_: None))
    steps: list[Step] = []
    total = sum(1 for i in instructions if i.keyword != "ARG")
    scratch = store.scratch / f"build-{time.monotonic_ns()}"
    try:
        for instruction in instructions:
            if instruction.keyword == "ARG":
                state.declare_arg(instruction, global_scope=not state.started)
                continue
            step = Step(len(steps) + 1, total, instruction, "")
            steps.append(step)
            started = time.perf_counter()
            if instruction.keyword == "FROM":
                step.text = state.start(instruction)
                state.progress("start", step, "")
                chain = chain_id(state.doc["rootfs"]["diff_ids"])[7:19] or "empty"
                state.progress("done", step, f"{len(state.layers)} layer(s), chain {chain}")
                continue
            if not state.started:
                raise DockerfileError(instruction.lineno, "the first instruction must be FROM")
            step.text = state.display(instruction)
            state.progress("start", step, "")
            key = state.key(step)
            cached = None if no_cache else state.cache.get(key)
            if cached and (cached["layer"] is None or
                           store.layout.blob_path(cached["layer"]["digest"]).exists()):
                step.cached = True
                state.adopt(step, cached)
            else:
                scratch.mkdir(parents=True, exist_ok=True)
                blob = state.execute(step, scratch)
                result = state.record(step, blob)
                state.cache.put(key, result)
                state.adopt(step, result)
            step.seconds = time.perf_counter() - started
            state.progress("done", step, "")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    unused = sorted(set(state.build_args) - state.used_args)
    warnings = [f"[Warning] One or more build-args {unused} were not consumed"] if unused else []
    doc = state.doc
    doc["created"] = max((h.get("created", "") for h in doc["history"]), default=_now())
    image = store.layout.write_image(reference=full_reference(tag), config=doc,
                                     layers=state.layers)
    return BuildResult(image, steps, run_mode, warnings)
