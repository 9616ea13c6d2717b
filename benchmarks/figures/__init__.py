"""The figure runners of ``python -m benchmarks``: each measures, then adds rows and a section.

:mod:`~benchmarks.figures.plan` is how much every figure measures, :mod:`~benchmarks.figures.units`
how figures write times; the runners are grouped by what they measure. What is timed, and
against what, is in the contender modules one level up (``benchmarks.decode``, ...).
"""
