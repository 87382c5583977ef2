"""Reference answers to the exercises of the chapter on what an MLP can represent.

The one copy of each solution: the tests run them through the checkers, and
``scripts/sync_solutions.py`` shows them in the page's folded Solutions block.
"""

# The chair's vote must reach the threshold alone, a member's vote must not, and the two
# members together must: weight 2 for the chair, 1 for each member, threshold 2.
committee = ((2, 1, 1), -2)


def exactly(k, n):
    """One unit h fires from k + 1 ones on. The output reads the inputs and h: it counts the
    ones, needs k of them, and h's weight -(n + 1) outweighs any count once h fires (a
    weight of -(n - k) would tie at n ones). XOR is exactly(1, 2). One perceptron cannot do it
    for 0 < k < n: take an input a with k ones, a - e_i with one of them turned off, a + e_j
    with another one turned on, and a - e_i + e_j. The outer two are 0, a and a - e_i + e_j
    are 1, yet both pairs add up to the same vector: the contradiction of the XOR proof."""
    from utils.boolean import ThresholdCircuit

    c = ThresholdCircuit(n)
    ones = {i: 1 for i in range(n)}
    h = c.add(ones, -(k + 1))                 # [s >= k + 1]
    c.add({**ones, h: -(n + 1)}, -k)          # [s - k - (n + 1) h >= 0]: the output
    return c


# The DNF network has one hidden unit per input on which the function is 1. Of the
# 2^6 = 64 inputs, the function is 0 on the one with no ones and the 6 with a single one:
# 64 - 1 - 6 = 57 (equally, C(6,2) + C(6,3) + ... + C(6,6) = 15 + 20 + 15 + 6 + 1).
dnf_units = 57

# One half-plane per edge, facing inwards: x >= 0, y >= 0 and x + 2y <= 2.
triangle = [(1, 0, 0), (0, 1, 0), (-1, -2, 2)]

# Two rectangles, one per arm; they overlap in the unit square, which does no harm to an
# OR. 8 half-planes in the first hidden layer, 2 ANDs in the second, 1 OR at the output.
l_shape = [[(1, 0, 0), (-1, 0, 2), (0, 1, 0), (0, -1, 1)],    # 0 <= x <= 2, 0 <= y <= 1
           [(1, 0, 0), (-1, 0, 1), (0, 1, 0), (0, -1, 2)]]    # 0 <= x <= 1, 0 <= y <= 2
