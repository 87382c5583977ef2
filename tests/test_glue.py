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


def test_glued_value_shows_without_quotes():
    from utils.book import _Formatted
    assert repr(_Formatted("2.4996")) == "2.4996"  # what MyST-NB puts in the page


def test_bad_key_is_named():
    with pytest.raises(ValueError, match="got 'val loss'"):
        glue("val loss", 1.0)
    with pytest.raises(ValueError, match="letters, digits and underscores"):
        glue(3, 1.0)
