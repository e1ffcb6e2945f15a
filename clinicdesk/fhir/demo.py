"""The demo practice's FHIR token: Maria at the front desk, reading everything and booking appointments. Its secret
is published (README, docs/fhir.md) so anyone can try the API on the demo; never use it for real data."""

from clinicdesk.fhir.models import FhirToken
from clinicdesk.fhir.services import fhir_token_create

DEMO_SECRET = "cdf_riverside-demo-only-not-for-real-patient-data"  # noqa: S105  (the demo practice's published token)
DEMO_SCOPES = ["user/*.read", "user/Appointment.write"]


def seed(ctx, *, patients: int, seed: int, stdout=None) -> int:
    added = 0
    if not FhirToken.objects.filter(token_hash=FhirToken.hash_secret(DEMO_SECRET)).exists():
        fhir_token_create(actor=None, user=ctx.users["maria"], name="demo", scopes=DEMO_SCOPES, days=365, secret=DEMO_SECRET)
        added = 1
    if stdout is not None:
        stdout.write(f"FHIR API demo token (acts as maria; {' '.join(DEMO_SCOPES)}): {DEMO_SECRET}")
    return added
