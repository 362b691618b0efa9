"""Box-and-arrow pictures of a pipeline, drawn with matplotlib.

The chapters on controllers and scheduling draw the same kind of picture —
an informer's pieces (Reflector → Delta FIFO → Store → handlers → workqueue →
worker) or a scheduling cycle (queue → filters → scores → bind) — so one small
function draws them: boxes left to right, an arrow between neighbours, a
caption under each box.  Nothing is computed here; it only draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def flow_diagram(stages: Sequence[tuple[str, str]], *, title: str = "", width: float = 11.0,
                 show: bool = True) -> Any:
    """Draw ``stages`` — ``(name, caption)`` pairs — as boxes joined by arrows; returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    if not stages:
        raise ValueError("a flow diagram needs at least one stage")
    count = len(stages)
    fig, ax = plt.subplots(figsize=(width, 2.2))
    ax.set_xlim(0, count), ax.set_ylim(0, 1), ax.axis("off")
    for index, (name, caption) in enumerate(stages):
        left = index + 0.08
        ax.add_patch(FancyBboxPatch((left, 0.45), 0.84, 0.4, boxstyle="round,pad=0.02",
                                    facecolor="#dbe9f6", edgecolor="#2b5d8a"))
        ax.text(index + 0.5, 0.65, name, ha="center", va="center", fontsize=9, weight="bold", wrap=True)
        ax.text(index + 0.5, 0.3, caption, ha="center", va="top", fontsize=7.5, wrap=True)
        if index + 1 < count:
            # the arrow from this box's right edge to the next box's left edge
            ax.annotate("", xy=(index + 1.08, 0.65), xytext=(index + 0.94, 0.65),
                        arrowprops={"arrowstyle": "->", "color": "#2b5d8a", "lw": 1.5})
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    if show:
        plt.show()
    return fig
