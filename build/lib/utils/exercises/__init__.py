"""Checkers for the exercises of each chapter, one module per chapter.

Each checker takes the student's function, runs it on fixed inputs, and compares the
result with an independent reference (PyTorch wherever PyTorch has the operation) through
:mod:`utils.checks`, naming the chapter's typical mistakes in its hints. The tests in
``tests/test_exercises_*.py`` run every checker against a reference solution and against
each planted mistake.

The checkers print their report and raise on a wrong answer; they return ``None``, so that
a checker call as the last line of a cell shows only the report. (``utils.checks`` itself
returns ``True``/``False`` for use in code.)
"""
