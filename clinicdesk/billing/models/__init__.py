from .accounts import AccountMember, PatientAccount
from .charges import Encounter, EncounterDiagnosis, ServiceLine, SuperbillTemplate
from .codes import Fee, FeeSchedule, ProcedureCode
from .payments import Adjustment, BalanceTransfer, Payment, Refund

__all__ = [
    "AccountMember",
    "Adjustment",
    "BalanceTransfer",
    "Encounter",
    "EncounterDiagnosis",
    "Fee",
    "FeeSchedule",
    "Payment",
    "PatientAccount",
    "ProcedureCode",
    "Refund",
    "ServiceLine",
    "SuperbillTemplate",
]
