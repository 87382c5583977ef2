"""utils.book.glue: the text the book shows for a number a cell computed."""

import numpy as np
import pytest
import torch

from utils.book import glue


def test_glue_returns_the_formatted_text_and_registers_it(capsys):
    assert glue("val_loss", torch.tensor(2.49961), ".4f") == "2.4996"
    assert glue("steps", 6000, ",d") == "6,000"
    assert glue("share", np.float32(0.125), ".1%") == "12.5%"
    assert glue("plain", 3) == "3"


def test_the_book_shows_the_text_exactly_as_formatted():
    """MyST-NB reads the stored repr back with ast.literal_eval before showing it: a glued
    string comes back unchanged, where a number's repr would lose "5.70"'s zero and turn
    "1,500" into a tuple."""
    from myst_nb.core.variables import format_plain_text
    for value, fmt in [(5.7, ".2f"), (1500, ",d"), (0.251, ".4f"), (0.125, ".1%"), (3, "")]:
        text = format(value, fmt)
        assert format_plain_text(repr(text), "") == text


def test_bad_key_is_named():
    with pytest.raises(ValueError, match="got 'val loss'"):
        glue("val loss", 1.0)
    with pytest.raises(ValueError, match="letters, digits and underscores"):
        glue(3, 1.0)
