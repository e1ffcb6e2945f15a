"""Billing's models, one module per aggregate; each import on its own line (so that parallel work
adds lines without touching each other's; hence no import sorting here)."""
# ruff: noqa: I001

from clinicdesk.billing.cardprocessor.models import ProcessorEvent  # noqa: F401
from clinicdesk.billing.cardprocessor.models import ProcessorIdempotencyKey  # noqa: F401
from clinicdesk.billing.cardprocessor.models import ProcessorPaymentIntent  # noqa: F401
from clinicdesk.billing.cardprocessor.models import ProcessorPaymentMethod  # noqa: F401
from clinicdesk.billing.cardprocessor.models import ProcessorRefund  # noqa: F401
from clinicdesk.billing.cardprocessor.models import ProcessorBalanceTransaction  # noqa: F401
from clinicdesk.billing.cardprocessor.models import ProcessorPayout  # noqa: F401

from .accounts import AccountMember, PatientAccount  # noqa: F401
from .cards import CardWebhookEvent  # noqa: F401
from .codes import Fee, FeeSchedule, ProcedureCode  # noqa: F401
from .charges import Encounter, EncounterDiagnosis, ServiceLine, SuperbillTemplate  # noqa: F401
from .charges import EncounterSupply  # noqa: F401
from .payments import Adjustment, BalanceTransfer, Payment, Refund  # noqa: F401
from .statements import AccountDunning, DunningPolicy, Statement, StatementRun  # noqa: F401
from .plans import AutopayAttempt, PaymentPlan, PaymentPlanInstallment  # noqa: F401
from .dayclose import CashDrawer, DayClose, Deposit, DepositLine  # noqa: F401
from .payouts import CardPayout, CardPayoutLine  # noqa: F401
