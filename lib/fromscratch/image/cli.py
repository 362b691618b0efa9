"""``python -m fromscratch build`` and ``python -m fromscratch images``.

The two commands mirror ``docker build -t NAME:TAG [-f FILE] [--build-arg K=V]
[--no-cache] DIR`` and ``docker images``, working on the local image store
(``$FROMSCRATCH_HOME/images`` or ``~/.local/share/fromscratch/images``;
``--root`` picks another).  Errors print one clear line and exit non-zero.
"""

from __future__ import annotations

import argparse
import sys

from fromscratch.image.builder import BuildError, build
from fromscratch.image.context import ContextError
from fromscratch.image.dockerfile import DockerfileError
from fromscratch.image.simshell import UnsupportedCommand
from fromscratch.image.store import ImageStore


def _human(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.1f}{unit}" if unit != "B" else f"{int(size)}B"
        size /= 1000
    return f"{size}"


def main(argv: list[str]) -> int:
    """``fromscratch build -t name:tag [-f Dockerfile] [--build-arg K=V] [--no-cache] DIR``."""
    parser = argparse.ArgumentParser(prog="fromscratch build",
                                     description="Build an image from a Dockerfile.")
    parser.add_argument("context", help="the build context directory")
    parser.add_argument("-t", "--tag", required=True, help="name:tag for the image")
    parser.add_argument("-f", "--file", default="Dockerfile", help="Dockerfile name in DIR")
    parser.add_argument("--build-arg", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--no-cache", action="store_true", help="do not use the build cache")
    parser.add_argument("--root", help="image store directory")
    args = parser.parse_args(argv)
    build_args = {}
    for item in args.build_arg:
        key, equals, value = item.partition("=")
        if not equals or not key:
            parser.error(f"--build-arg {item!r}: expected KEY=VALUE")
        build_args[key] = value
    try:
        result = build(args.context, tag=args.tag, dockerfile=args.file, build_args=build_args,
                       store=ImageStore(args.root), no_cache=args.no_cache)
    except (BuildError, DockerfileError, ContextError, UnsupportedCommand,
            FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for warning in result.warnings:
        print(warning)
    print(f"Successfully built {result.image.id[7:19]} (RUN steps: {result.mode} mode)")
    print(f"Successfully tagged {result.image.reference}")
    return 0


def images_main(argv: list[str]) -> int:
    """``fromscratch images [--root DIR]``: the local images, newest tags first."""
    parser = argparse.ArgumentParser(prog="fromscratch images", description="List local images.")
    parser.add_argument("--root", help="image store directory")
    args = parser.parse_args(argv)
    store = ImageStore(args.root)
    print(f"{'REPOSITORY':<28}{'TAG':<12}{'IMAGE ID':<14}{'CREATED':<22}{'LAYERS':>6}  SIZE")
    for image in store.images():
        name, _, tag = image.reference.rpartition(":")
        print(f"{name:<28}{tag:<12}{image.id[7:19]:<14}{image.created:<22}{image.layers:>6}"
              f"  {_human(image.size)}")
    return 0
