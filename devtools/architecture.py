"""Draw docs/architecture.png: the path of an INSERT and of a MODIFY, module by module.

    python -m devtools.architecture          # writes docs/architecture.png

The picture is committed; nothing in ``make test`` redraws it. Edit :data:`INSERT` and
:data:`MODIFY` (and docs/architecture.md) when the path changes, then run this again.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from devtools import cli

__all__ = ["INSERT", "MODIFY", "draw", "main"]

OUT = Path(__file__).resolve().parent.parent / "docs" / "architecture.png"

# (module, what it does for this record); one box each, in the order the record meets them.
MODIFY: tuple[tuple[str, str], ...] = (
    ("app.py", "Lambda's entry point"),
    ("service.py", "settings, adapters: wiring"),
    ("runner.py", "each record in order"),
    ("records.py", "envelope -> Change"),
    ("reactions.py", "keys checked; what to do"),
    ("changelog.py", "the change line"),
    ("loggable.py", "images read once, redacted"),
    ("logline.py", "one JSON line, fits"),
    ("sink.py", "line written, in order"),
    ("contract.py", "what Lambda is told"),
)
INSERT: tuple[tuple[str, str], ...] = (
    *MODIFY[:5],
    ("changelog.py", "the change line (as above)"),
    ("decoding.py", "email and name -> values"),
    ("welcome.py", "the email, composed"),
    ("keys.py", "the ledger key"),
    ("inorder.py", "slow work, 16 at once"),
    ("adapters/ledger.py", "claim once"),
    ("adapters/ses.py", "SendEmail"),
    ("reactions.py", "outcome -> lines"),
    ("sink.py", "lines written, in order"),
    ("contract.py", "what Lambda is told"),
)


def draw(out: Path = OUT) -> Path:
    """Two columns, one per path, a box per module the record passes through."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    rows = (("MODIFY (and REMOVE)", MODIFY, "#dbe9f6"), ("INSERT (a new user)", INSERT, "#fde9d9"))
    height = max(len(path) for _, path, _ in rows)
    fig, ax = plt.subplots(figsize=(10, 0.62 * height + 1.4))
    ax.set_xlim(0, 10)
    ax.set_ylim(-1.0, height + 0.8)
    ax.axis("off")
    for column, (title, path, colour) in enumerate(rows):
        x = 0.3 + column * 5.0
        ax.text(x, height + 0.35, title, fontsize=12, fontweight="bold")
        for i, (module, job) in enumerate(path):
            y = height - 0.5 - i
            box = FancyBboxPatch(
                (x, y - 0.32), 4.3, 0.64, boxstyle="round,pad=0.02", facecolor=colour
            )
            ax.add_patch(box)
            ax.text(x + 0.12, y, module, va="center", fontsize=9.5, fontweight="bold")
            ax.text(x + 2.0, y, job, va="center", fontsize=8.5)
            if i:
                ax.annotate(
                    "",
                    xy=(x + 0.6, y + 0.34),
                    xytext=(x + 0.6, y + 0.66),
                    arrowprops={"arrowstyle": "->", "color": "#444444"},
                )
    ax.text(
        0.3,
        -0.7,
        "chalicelib/ unless named otherwise. A record's handling returns a Result (its lines, its\n"
        "slow work); the runner writes every line in record order, and counts the outcomes.",
        fontsize=8.5,
        style="italic",
    )
    fig.savefig(out, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return out


PROG = "python -m devtools.architecture"


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m devtools.architecture`` (no options but --debug)."""
    return cli.parser(PROG, __doc__)


def main(argv: Sequence[str] | None = None) -> int:
    parser().parse_args(argv)
    print(f"wrote {draw()}")
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main, prog=PROG))
