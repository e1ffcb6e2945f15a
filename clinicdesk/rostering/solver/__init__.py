"""The roster solver: `solve(problem, ...)` returns the best roster found, its cost by rule and its bound."""

from .explain import coverage_gaps, lock_conflicts, quick_gaps
from .search import solve

__all__ = ["coverage_gaps", "lock_conflicts", "quick_gaps", "solve"]
