"""Numbers a page's prose quotes, handed to the book from the cell that computes them.

A sentence such as "its validation loss is 2.4996" must not be typed by hand: the number
would silently go stale when the code, the budget or a library changes. Instead the cell
that prints the number also *glues* it::

    glue("val_original", log["original"]["val"], ".4f")

and the Markdown quotes it with MyST-NB's role, ``{glue:text}`val_original```, which the
book build replaces by ``2.4996``. A key the prose uses but no cell glued fails the build
(``jupyter-book build -W``), so the text cannot disagree with the outputs of the run that
built it, whatever the budget (``TNN_BUDGET=full`` included).

Outside the book (Colab, JupyterLab without MyST-NB) :func:`glue` does nothing visible:
the cell's own printout shows the number, and the Markdown shows the role's key.
"""

from __future__ import annotations

from typing import Any

__all__ = ["glue"]


def glue(name: str, value: Any, fmt: str = "") -> str:
    """Make ``format(value, fmt)`` available to the page's prose as ``{glue:text}`name```.

    Args:
        name: the key the Markdown uses (letters, digits and underscores).
        value: a number, or anything ``format`` accepts (a tensor with one element is
            read with ``.item()``).
        fmt: a format spec such as ``".4f"``, ``",d"`` or ``".1%"`` (default: ``str``).

    Returns:
        The text that the book will show, so a cell can print the same string.

    Raises:
        ValueError: ``name`` is not a valid key.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"glue name must be letters, digits and underscores, got {name!r}")
    if hasattr(value, "item") and getattr(value, "numel", lambda: 1)() == 1:
        value = value.item()  # a one-element tensor or NumPy scalar
    text = format(value, fmt)
    try:
        from myst_nb import glue as myst_glue
    except ImportError:  # not building the book: the printout is what the reader sees
        return text
    # MyST-NB stores repr(text) and reads it back with ast.literal_eval: the string itself,
    # so "1,500" stays "1,500" and "5.70" keeps its zero (a number would become 5.7)
    myst_glue(name, text, display=False)
    return text
