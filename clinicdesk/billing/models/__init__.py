from .accounts import AccountMember, PatientAccount
from .charges import Encounter, EncounterDiagnosis, ServiceLine, SuperbillTemplate
from .payments import Adjustment, BalanceTransfer, Payment, Refund
from .plans import PaymentPlan, PaymentPlanInstallment

__all__ = [
    "AccountMember",
    "Adjustment",
    "BalanceTransfer",
    "Encounter",
    "EncounterDiagnosis",
    "Payment",
    "PaymentPlan",
    "PaymentPlanInstallment",
    "PatientAccount",
    "Refund",
    "ServiceLine",
    "SuperbillTemplate",
]
