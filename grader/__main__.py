"""``python -m grader COMMAND`` — the instructor's command line (wrapped by Makefile targets).

    release              regenerate course/ from solutions/ (make release)
    check                fail if course/ is stale, leaks a solution, or carries outputs
    sources DIR          write the nbgrader source notebooks (with solutions) under DIR
    lessons              list the lesson notebooks in course/ (for nbval)
    collect DIR          copy submissions DIR/<student>/<chapter>/*.ipynb into the course
    autograde [CHAPTER]  autograde every submission (or one chapter)
    feedback [CHAPTER]   HTML feedback for every autograded submission
    grades [FILE]        export all grades to CSV (default grades.csv)
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from grader import build


def _collect(source: Path, root: Path) -> int:
    count = 0
    for notebook in sorted(source.glob("*/*/*.ipynb")):
        student, chapter = notebook.parent.parent.name, notebook.parent.name
        target = root / "submitted" / student / chapter / notebook.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(notebook, target)
        count += 1
    print(f"collected {count} notebooks into {root / 'submitted'}")
    return 0 if count else 1


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    command, args = argv[0], argv[1:]
    root = build.DEFAULT_ROOT
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
        elif command == "collect":
            return _collect(Path(args[0]), root)
        elif command == "autograde":
            build.build_sources(root)
            chapters = args or [c.name for c in build.chapters() if c.exercises]
            for chapter in chapters:
                build.nbgrader("generate_assignment", chapter, "--force", root=root)
                print(build.nbgrader("autograde", chapter, "--force", root=root).stderr[-2000:])
        elif command == "feedback":
            chapters = args or [c.name for c in build.chapters() if c.exercises]
            for chapter in chapters:
                build.nbgrader("generate_feedback", chapter, "--force", root=root)
            print(f"feedback written under {root / 'feedback'}")
        elif command == "grades":
            out = Path(args[0] if args else "grades.csv").resolve()
            build.nbgrader("export", "--to", str(out), root=root)
            print(f"grades exported to {out}")
        else:
            print(f"grader: unknown command {command!r}\n{__doc__}", file=sys.stderr)
            return 2
    except build.BuildError as err:
        print(f"grader: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
