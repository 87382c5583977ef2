"""pytest, for the whole repository: give every kernel that nbval starts, and the unit tests
themselves, the book's numeric environment before torch or NumPy is imported (see
utils.reproducibility.EXECUTION_ENV). nbval's kernels inherit this process's environment
(``--nbval-current-env``), so `pytest --nbval chapters` validates the notebooks under the same
settings that scripts/execute_notebooks.py executed them with."""

from utils.reproducibility import pin_numerics

pin_numerics()
