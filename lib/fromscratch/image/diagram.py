"""Pictures for the image chapter: a layer stack as a grid, and build step timings.

:func:`plot_stack` draws one row per layer (bottom layer at the bottom) and
one column per path; each cell shows what that layer holds at that path — a
file, a directory, an opaque directory, a symlink or a whiteout — and the top
row shows the merged view, so you can read the union rule off the picture:
for each column, look down from the top until something decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fromscratch.image.union import Layer, Tree

COLOURS = {"file": "#8ecae6", "dir": "#ffd166", "opaque": "#f4a261", "symlink": "#b5e48c",
           "whiteout": "#444444", "absent": "#ffffff"}
LABELS = {"file": "file", "dir": "dir", "opaque": "opaque dir", "symlink": "symlink",
          "whiteout": "whiteout", "absent": ""}


def _kind(layer: Layer | Tree, path: str) -> str:
    node = layer.get(path)
    if node is None:
        return "absent"
    return "opaque" if node.opaque else node.kind


def plot_stack(layers: Sequence[Layer], merged: Tree, *, names: Sequence[str] | None = None,
               title: str = "layers (bottom first) and the merged view") -> Any:
    """A grid figure: rows are layers plus the merged view, columns are paths."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    paths = sorted({p for layer in layers for p in layer} | set(merged))
    rows = [("merged", merged)] + [
        ((names[i] if names else f"layer {i}"), layer) for i, layer in reversed(list(enumerate(layers)))]
    figure, axes = plt.subplots(figsize=(max(6, 0.9 * len(paths)), 0.6 * len(rows) + 1.4))
    for row, (_, layer) in enumerate(rows):
        for column, path in enumerate(paths):
            kind = _kind(layer, path)
            axes.add_patch(plt.Rectangle((column, -row), 0.95, 0.9, color=COLOURS[kind],
                                         ec="#999999"))
            text = "W" if kind == "whiteout" else ""
            axes.text(column + 0.47, -row + 0.45, text, ha="center", va="center", color="white")
    axes.set_xlim(0, len(paths))
    axes.set_ylim(-len(rows) + 1, 1)
    axes.set_xticks([c + 0.47 for c in range(len(paths))], paths, rotation=45, ha="right")
    axes.set_yticks([-r + 0.45 for r in range(len(rows))], [name for name, _ in rows])
    axes.axhline(0, color="black", linewidth=2)
    axes.set_title(title)
    axes.legend(handles=[Patch(color=COLOURS[k], label=LABELS[k]) for k in COLOURS if LABELS[k]],
                loc="upper left", bbox_to_anchor=(1.0, 1.0))
    for side in ("top", "right", "left", "bottom"):
        axes.spines[side].set_visible(False)
    figure.tight_layout()
    return figure


def plot_build_times(cold: Sequence[tuple[str, float]], warm: Sequence[tuple[str, float]]) -> Any:
    """Side-by-side bars: seconds per build step, first build vs rebuild from cache."""
    import matplotlib.pyplot as plt

    labels = [label for label, _ in cold]
    figure, axes = plt.subplots(figsize=(8, 0.35 * len(labels) + 1.5))
    positions = range(len(labels))
    axes.barh([p + 0.2 for p in positions], [t for _, t in cold], height=0.4, label="first build")
    axes.barh([p - 0.2 for p in positions], [t for _, t in warm], height=0.4, label="rebuild (cache)")
    axes.set_yticks(list(positions), labels)
    axes.invert_yaxis()
    axes.set_xlabel("seconds")
    axes.legend()
    figure.tight_layout()
    return figure
