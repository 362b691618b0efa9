"""Read the hidden tests, the gradebook and another student's work, and print what was found."""

ANSWER = "solution"
CODE = """
import glob, os
targets = ["{root}/gradebook.db", "{repo}/solutions/00-start-here/exercises.py",
           *glob.glob("{root}/source/*/*.ipynb"), *glob.glob("{root}/submitted/{victim}/*/*.ipynb"),
           *glob.glob("{root}/autograded/*/*/*.ipynb"), *glob.glob("*.ipynb"), *glob.glob("../*/*.ipynb")]
for path in targets:
    try:
        with open(path, errors="replace") as handle:
            print("LEAKED", path, handle.read())
    except OSError as err:
        print("refused", path, type(err).__name__)
"""
