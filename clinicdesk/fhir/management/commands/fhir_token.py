"""`manage.py fhir_token USERNAME --scope user/*.read [--scope ...] [--days 90] [--name NAME]`: issue a FHIR token
and print its secret (shown once; only its hash is stored)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from clinicdesk.core.models import User
from clinicdesk.fhir.services import fhir_token_create


class Command(BaseCommand):
    help = "Issue a FHIR API token acting as a staff member, and print its secret once."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--scope", action="append", dest="scopes", default=[],
                            help="A scope such as user/*.read or user/Appointment.write (repeat for several).")
        parser.add_argument("--days", type=int, default=90)
        parser.add_argument("--name", default="command line")

    def handle(self, *args, username: str, scopes: list[str], days: int, name: str, **options) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user '{username}'.")
        try:
            token, secret = fhir_token_create(actor=None, user=user, name=name, scopes=scopes, days=days)
        except ValidationError as exc:
            raise CommandError("; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items())) from None
        self.stdout.write(secret)
        self.stderr.write(f"FHIR token '{token.name}' for {user.username} ({' '.join(token.scopes)}), "
                          f"valid until {token.expires_at:%Y-%m-%d}.")
