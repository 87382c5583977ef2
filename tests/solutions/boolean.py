"""Reference answers to the exercises of the chapter on what an MLP can represent (tests only)."""

NAND = ((-1, -1), 1.5)            # fires unless both inputs are 1
MAJORITY = ((1, 1, 1), -2)        # fires when at least two inputs are 1
TRIANGLE = [(1, 0, 0),            # x >= 0
            (0, 1, 0),            # y >= 0
            (-1, -2, 2)]          # x + 2y <= 2
