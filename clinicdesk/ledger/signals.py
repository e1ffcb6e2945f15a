"""Upward notifications of the ledger: communications listens (a staff task for the department's owner).

Sent through `transaction.on_commit`, so receivers only hear of what was saved.
"""

from django.dispatch import Signal

# alert=BudgetAlert (its department's owner is the one to tell)
budget_threshold_passed = Signal()
