from .accounts import AccountMember, PatientAccount
from .charges import Encounter, EncounterDiagnosis, ServiceLine, SuperbillTemplate
from .payments import Adjustment, BalanceTransfer, Payment, Refund
from .statements import AccountDunning, DunningPolicy, Statement, StatementRun  # noqa: F401

__all__ = [
    "AccountMember",
    "Adjustment",
    "BalanceTransfer",
    "Encounter",
    "EncounterDiagnosis",
    "Payment",
    "PatientAccount",
    "Refund",
    "ServiceLine",
    "SuperbillTemplate",
]
