# %% [markdown]
# # Start here: how this course works
#
# **Containers & Kubernetes from Scratch** builds every piece of Docker and Kubernetes in
# Python — namespaces, cgroups, union filesystems, images, a container runtime, Pods, an API
# server, controllers, a scheduler, RBAC and the Horizontal Pod Autoscaler — and runs it for
# real: real isolated processes on a real Linux kernel, and a real Kubernetes API that the
# official `kubernetes` client and `kubectl` talk to.
#
# **What you need first:** Python (functions, classes, `with` blocks) and a shell. No
# Kubernetes or Linux-internals knowledge is assumed; each chapter explains what it uses.
#
# **In this notebook:** how chapters and exercises work, how your answers are checked, which
# *mode* your machine runs the course in, and where the code lives. Then open
# `exercises.ipynb` in this folder for your first exercise: Kubernetes resource quantities.

# %% [markdown]
# ## Which mode are you in?
#
# The first code cell of every notebook asks the machine what it allows and picks one of
# three modes:
#
# | mode | when | what runs |
# |---|---|---|
# | **real** | Linux, as root | real namespaces, cgroups, overlayfs mounts and virtual network links |
# | **rootless** | Linux, as an ordinary user with user namespaces enabled | the same, inside a *user namespace* where you are root — what rootless Podman does |
# | **simulated** | macOS, Windows, Binder, or a locked-down Linux | a model of the kernel written in Python, with the same API; nothing real is created, and every output says so |
#
# Run the cell below (Shift+Enter). The coloured box says which mode this notebook uses and why.

# %%
from fromscratch import host

host.show_mode()

# %% [markdown]
# Here is everything the probe found. The same report is printed by
# `python -m fromscratch doctor` in a terminal. Every probe runs in a short-lived child
# process, so looking never changes your machine.

# %%
report = host.probe()
print("\n".join(host.report_lines(report)))

# %% [markdown]
# You can choose a mode yourself by setting the environment variable `FROMSCRATCH_MODE`
# (`real`, `rootless` or `simulated`) before starting JupyterLab. Asking for a mode your machine
# cannot provide is an error that says why — except `simulated`, which works everywhere.

# %%
import os

print("FROMSCRATCH_MODE is", repr(os.environ.get("FROMSCRATCH_MODE", "")), "-> mode:", host.mode())

# %% [markdown]
# ## How a chapter is organised
#
# Each folder `NN-topic/` holds:
#
# - an **explanatory notebook** (like this one): read it, run it, change things and rerun. It
#   builds the chapter's idea in stages and compares what we built with the real tool
#   (`unshare`, `/proc`, `kubectl` …).
# - an **exercise notebook** (`exercises.ipynb`): cells that say `# YOUR CODE HERE` are
#   yours. Below each one, a *test cell* checks your answer.
#
# The chapters build on each other:

# %%
import matplotlib.pyplot as plt

CHAPTERS = [
    ("00", "Start here", "quantities"), ("01", "Namespaces", "linux"),
    ("02", "Cgroups", "linux"), ("03", "Union filesystems & images", "linux"),
    ("04", "A container runtime", "runtime"), ("05", "Pods", "runtime"),
    ("06", "The API server", "kubernetes"), ("07", "Controllers", "kubernetes"),
    ("08", "Scheduling & the kubelet", "kubernetes"), ("09", "RBAC", "kubernetes"),
    ("10", "Autoscaling", "kubernetes"),
]
COLOURS = {"quantities": "#888888", "linux": "#1b7f3b", "runtime": "#1f5fa8", "kubernetes": "#7b3fa8"}

fig, ax = plt.subplots(figsize=(10, 2.6))
for i, (number, title, part) in enumerate(CHAPTERS):
    ax.add_patch(plt.Rectangle((i, 0), 0.9, 1, color=COLOURS[part], alpha=0.85))
    ax.text(i + 0.45, 0.5, f"{number}\n{title}", ha="center", va="center", fontsize=7.5,
            color="white", wrap=True)
ax.set_xlim(0, len(CHAPTERS))
ax.set_ylim(-0.3, 1.2)
ax.axis("off")
for part, colour in COLOURS.items():
    ax.plot([], [], "s", color=colour, label=part)
ax.legend(loc="lower center", ncol=4, bbox_to_anchor=(0.5, -0.35), frameon=False)
ax.set_title("Chapters: the Linux half builds a container, the Kubernetes half runs many")
plt.show()

# %% [markdown]
# ## How your answers are checked
#
# - **Visible tests** sit right below each exercise. Run them as often as you like; they teach
#   by example (`assert parse_quantity("500m") == Decimal("0.5")`).
# - **Hidden tests** are added when an instructor grades your notebook with nbgrader. They
#   cover the edge cases the exercise's text describes — read the text carefully, and test
#   your own corner cases.
# - Tests call **your** function. Importing the library's answer does not count: inside a test
#   the library's own version refuses to run, and that test scores zero.
#
# Here is that rule in action. `exercises.checking(f)` is what every test cell wraps its checks in:

# %%
from fromscratch import exercises
from fromscratch.api.quantity import parse_quantity as library_version

try:
    with exercises.checking(library_version):
        library_version("500m")
except exercises.NotOwnWork as refused:
    print("refused:", refused)

# %% [markdown]
# ## Your code, running inside the system
#
# Every function an exercise asks for exists in the library too, as a *reference
# implementation*. When your version passes its tests, `exercises.use(your_function)` plugs it
# in: from then on the library — the API server, the scheduler, the container runtime — calls
# **your** code. Here a tiny (and deliberately incomplete) parser is plugged in, and the
# library's `cpu_millicores` starts using it:

# %%
from decimal import Decimal

from fromscratch.api import quantity


def parse_quantity(text):
    """Understands only millicores like '250m' (the exercise asks for much more)."""
    print(f"  my parse_quantity was called with {text!r}")
    return Decimal(text.removesuffix("m")) / 1000


with exercises.using(parse_quantity):
    print("library cpu_millicores('250m') ->", quantity.cpu_millicores("250m"))
print("back to the reference:", quantity.cpu_millicores("250m"))

# %% [markdown]
# ## Where the code lives
#
# The library is the `fromscratch` package in `lib/fromscratch/`. Each piece is one short
# module you can read in one sitting; the module's docstring says which Linux or Kubernetes
# behaviour it models and where it simplifies. Open one now, for example the quantity parser
# you are about to write yourself:

# %%
import inspect

print(inspect.getsource(quantity)[:1500])

# %% [markdown]
# Or list the library's modules:

# %%
import pkgutil

import fromscratch

for module in pkgutil.walk_packages(fromscratch.__path__, "fromscratch."):
    print(module.name)

# %% [markdown]
# ## Summary
#
# - Each chapter is an explanatory notebook plus an exercise notebook; visible tests teach,
#   hidden tests grade.
# - The course runs in **real**, **rootless** or **simulated** mode; every notebook says which.
# - Your functions plug into the running library with `exercises.use(...)`.
#
# **Going further:** the [Kubernetes documentation](https://kubernetes.io/docs/home/) and
# the [Linux man pages](https://man7.org/linux/man-pages/) are the specifications this course
# follows; when our code and they disagree, they win.
#
# **Next:** open [`exercises.ipynb`](exercises.ipynb) in this folder — Kubernetes resource
# quantities — then chapter 1, [Namespaces](../01-namespaces/).
