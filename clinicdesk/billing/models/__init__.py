from .accounts import AccountMember, PatientAccount
from .charges import Encounter, EncounterDiagnosis, ServiceLine, SuperbillTemplate
from .codes import Fee, FeeSchedule, ProcedureCode
from .dayclose import CashDrawer, DayClose, Deposit, DepositLine
from .payments import Adjustment, BalanceTransfer, Payment, Refund

__all__ = [
    "AccountMember",
    "Adjustment",
    "BalanceTransfer",
    "CashDrawer",
    "DayClose",
    "Deposit",
    "DepositLine",
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
