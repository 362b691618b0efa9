"""``python -m grader COMMAND`` — the instructor's command line (wrapped by Makefile targets).

    release                      regenerate course/ from solutions/ (make release)
    check                        fail if course/ is stale, leaks a solution, or carries outputs
    sources DIR                  write the nbgrader source notebooks (with solutions) under DIR
    lessons                      list the lesson notebooks in course/ (for nbval)
    roster FILE.csv              import the class list (id,first_name,last_name,email)
    collect DIR                  copy submissions DIR/<student>/<assignment>/*.ipynb
    zip-collect ZIP ASSIGNMENT   collect an LMS zip of <student>_<notebook>.ipynb files
    autograde [ASSIGNMENT...] [--student ID] [--jobs N] [--plain] [--isolation auto|namespaces|rlimits]
                                 repair, then grade each submission in its own sandbox
    feedback [ASSIGNMENT...]     HTML feedback (hidden tests never shown)
    grades [FILE]                export all grades to CSV (default grades.csv)

The course directory is grader/course, or $FROMSCRATCH_GRADER_ROOT. See grader/README.md.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from grader import build, classroom


def _options(args: list[str]) -> tuple[list[str], dict[str, str]]:
    """Positional arguments and ``--name value`` options (``--plain`` takes no value)."""
    positional, options, i = [], {}, 0
    while i < len(args):
        if args[i] == "--plain":
            options["plain"] = "1"
        elif args[i].startswith("--"):
            if i + 1 >= len(args):
                raise ValueError(f"{args[i]} needs a value")
            options[args[i][2:]] = args[i + 1]
            i += 1
        else:
            positional.append(args[i])
        i += 1
    return positional, options


def _autograde(args: list[str], root: Path) -> int:
    from grader import autograde
    from grader.sandbox import Policy

    assignments, options = _options(args)
    unknown = set(options) - {"student", "jobs", "plain", "isolation"}
    if unknown:
        raise ValueError(f"unknown option(s) --{', --'.join(sorted(unknown))}")
    build.build_sources(root)
    known = [c.name for c in build.chapters() if c.exercises]
    for assignment in assignments:
        if assignment not in known:
            raise ValueError(f"no assignment {assignment!r}; known: {', '.join(known)}")
    for assignment in assignments or known:
        build.nbgrader("generate_assignment", assignment, "--force", root=root)
    outcomes = autograde.autograde(
        root, assignments=assignments or known,
        students=[options["student"]] if "student" in options else None,
        policy=Policy(isolation=options.get("isolation", "auto")),
        jobs=int(options["jobs"]) if "jobs" in options else None, sandboxed="plain" not in options)
    print(autograde.report(outcomes) or "no submissions found under " + str(root / "submitted"))
    return 0 if outcomes and all(o.graded for o in outcomes) else 1


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    command, args = argv[0], argv[1:]
    root = Path(os.environ.get("FROMSCRATCH_GRADER_ROOT", build.DEFAULT_ROOT))
    try:
        if command == "release":
            written = build.release()
            print(f"wrote {len(written)} notebooks into {build.COURSE}")
        elif command == "check":
            problems = build.stale_files() + build.find_leaks() + [
                f"{p}: has outputs" for p in build.outputs_present()]
            for problem in problems:
                print(problem)
            if problems:
                return 1
            print("course/ is up to date with solutions/, clean, and leaks nothing")
        elif command == "sources":
            target = Path(args[0]) if args else Path("build/sources")
            built = build.build_sources(target)
            print(f"wrote {sum(map(len, built.values()))} source notebooks into {target / 'source'}")
        elif command == "lessons":
            for chapter in build.chapters():
                for source in chapter.lessons:
                    print((build.COURSE / chapter.name / f"{source.stem}.ipynb").relative_to(build.REPO))
        elif command == "roster":
            print(f"{classroom.import_roster(Path(args[0]), root)} students in the gradebook")
        elif command == "collect":
            print(f"collected {len(classroom.collect_folder(Path(args[0]), root))} notebooks")
        elif command == "zip-collect":
            print(f"{len(classroom.collect_zip(Path(args[0]), args[1], root))} notebooks submitted")
        elif command == "autograde":
            return _autograde(args, root)
        elif command == "feedback":
            chapters = args or [c.name for c in build.chapters() if c.exercises]
            written = classroom.feedback(root, chapters)
            print(f"{len(written)} feedback files under {root / 'feedback'}")
        elif command == "grades":
            out = classroom.export_grades(root, Path(args[0] if args else "grades.csv").resolve())
            print(f"grades exported to {out}")
        else:
            print(f"grader: unknown command {command!r}\n{__doc__}", file=sys.stderr)
            return 2
    except (build.BuildError, classroom.ClassroomError, ValueError, IndexError, OSError) as err:
        message = "missing argument (see --help)" if isinstance(err, IndexError) else err
        print(f"grader: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
