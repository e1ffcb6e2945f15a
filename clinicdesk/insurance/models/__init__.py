"""Insurance's models, one module per aggregate; each import on its own line (so that parallel work
adds lines without touching each other's; hence no import sorting here)."""
# ruff: noqa: I001

from .payers import Clearinghouse, Coverage, EligibilityCheck, InsurancePlan, Payer, PriorAuthorization  # noqa: F401
from .claims import Appeal, Claim, ClaimBatch, ClaimEvent, ClaimLine, ControlNumber, PayerRule  # noqa: F401
from .claims import ScrubFinding, X12Exchange  # noqa: F401
from .remittances import ProviderAdjustment, Remittance, RemittanceAdjustment  # noqa: F401
from .remittances import RemittanceClaim, RemittanceLine  # noqa: F401
from .contracts import ContractRate, PayerContract, ReferenceRate, ReferenceSchedule  # noqa: F401
from .eligibility_runs import EligibilityRun  # noqa: F401
