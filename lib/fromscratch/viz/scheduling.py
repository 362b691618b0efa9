"""Show why the scheduler put a Pod where it did: a table per node, and a bar chart of scores.

The kube-scheduler-simulator shows, for every Pod, each node's filter results and
each Score plugin's points; :class:`~fromscratch.scheduler.scheduler.Decision`
records the same facts and this module lays them out:

- :func:`decision_rows` — one row per node: rejected (with the filters' reasons)
  or feasible (with each plugin's normalised score, weighted total);
- :func:`show_decision` — those rows as an HTML table in a notebook (plain text
  elsewhere) and, when some nodes were scored, a stacked bar chart of the
  weighted scores, the winner marked.

The weights are the default profile's (``scores.WEIGHTS``).
"""

from __future__ import annotations

import html
from typing import Any

from fromscratch.scheduler.scores import WEIGHTS

PLUGINS = tuple(WEIGHTS)  # TaintToleration, NodeAffinity, NodeResourcesFit


def decision_rows(decision: Any) -> list[dict[str, str]]:
    """One row per node: ``node``, ``verdict``, each plugin's score, ``total``."""
    rows = []
    for node in sorted(set(decision.rejected) | set(decision.scores)):
        row = {"node": node}
        if node in decision.rejected:
            row["verdict"] = "rejected: " + "; ".join(decision.rejected[node])
            row.update({plugin: "" for plugin in PLUGINS}, total="")
        else:
            scores = decision.scores[node]
            row["verdict"] = "chosen" if node == decision.node else "feasible"
            row.update({plugin: f"{scores[plugin]} × {WEIGHTS[plugin]}" for plugin in PLUGINS})
            row["total"] = str(scores["total"])
        rows.append(row)
    return rows


def _html_table(rows: list[dict[str, str]], caption: str) -> str:
    head = "".join(f"<th>{html.escape(col)}</th>" for col in rows[0])
    cell = "<td style='text-align:left'>{}</td>"
    cells = ["".join(cell.format(html.escape(v)) for v in row.values()) for row in rows]
    body = "".join(f"<tr>{row}</tr>" for row in cells)
    return f"<table><caption>{html.escape(caption)}</caption><tr>{head}</tr>{body}</table>"


def show_decision(decision: Any, *, plot: bool = True) -> list[dict[str, str]]:
    """Display the decision's table (and a score chart); returns the rows."""
    rows = decision_rows(decision)
    caption = f"{decision.pod} -> {decision.node or 'nowhere'}: {decision.message}"
    try:
        from IPython.display import HTML, display

        display(HTML(_html_table(rows, caption))) if rows else print(caption)
    except ImportError:
        print(caption)
        for row in rows:
            print("  ", " | ".join(row.values()))
    if plot and decision.scores:
        import matplotlib.pyplot as plt

        nodes = sorted(decision.scores)
        fig, ax = plt.subplots(figsize=(7, 0.6 + 0.45 * len(nodes)))
        left = [0] * len(nodes)
        for plugin in PLUGINS:
            points = [decision.scores[n][plugin] * WEIGHTS[plugin] for n in nodes]
            ax.barh(nodes, points, left=left, label=f"{plugin} (×{WEIGHTS[plugin]})")
            left = [a + b for a, b in zip(left, points, strict=True)]
        for index, node in enumerate(nodes):
            if node == decision.node:
                ax.text(left[index] + 5, index, "chosen", va="center", fontsize=8)
        ax.set_xlabel("weighted score"), ax.set_xlim(0, max(left) * 1.2 + 1)
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
        fig.tight_layout()
        plt.show()
    return rows
