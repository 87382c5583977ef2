"""Progress bars for long trainings: live in a kernel, one plain line in the book.

:func:`progress_bar` returns a ``tqdm.auto`` bar (a widget in Jupyter, text in a terminal)
when a person runs the notebook. When the notebook is executed for the book or validated
(``TNN_STATIC_PROGRESS=1``, part of :data:`utils.reproducibility.EXECUTION_ENV`), it returns
a :class:`StaticBar` instead, which prints nothing while it runs and one final line without
timings when it closes, e.g. ``4 inits: 6000/6000 steps, val=2.2501..2.4996``: the same
text on every run, so the committed notebook does not change when it is executed again, and
the static site shows a finished line instead of a bar frozen at 0%.
"""

from __future__ import annotations

import os

__all__ = ["StaticBar", "progress_bar"]

STATIC_ENV = "TNN_STATIC_PROGRESS"


class StaticBar:
    """The part of tqdm's interface the course uses, printing one line at :meth:`close`."""

    def __init__(self, total: int, desc: str | None = None, unit: str = "step"):
        self.total, self.desc, self.unit = total, desc, unit
        self.n = 0
        self.postfix: str = ""
        self._closed = False

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix(self, ordered_dict=None, refresh: bool = True, **kwargs) -> None:
        items = dict(ordered_dict or {}, **kwargs)
        self.postfix = ", ".join(f"{k}={v}" for k, v in items.items())

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        line = f"{self.n}/{self.total} {self.unit}s"
        if self.desc:
            line = f"{self.desc}: {line}"
        if self.postfix:
            line += f", {self.postfix}"
        print(line, flush=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress_bar(total: int, desc: str | None = None, unit: str = "step"):
    """A progress bar over ``total`` units: tqdm when run by a person, :class:`StaticBar`
    when ``$TNN_STATIC_PROGRESS`` is ``1`` (the book's execution environment)."""
    if os.environ.get(STATIC_ENV, "").strip() == "1":
        return StaticBar(total, desc, unit)
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, mininterval=0.5, leave=True,
                dynamic_ncols=True)
