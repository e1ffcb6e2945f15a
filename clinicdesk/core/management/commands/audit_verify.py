from django.core.management.base import BaseCommand, CommandError

from clinicdesk.core.audit import audit_verify
from clinicdesk.core.models import AuditEvent


class Command(BaseCommand):
    help = "Seal the audit rows waiting to join the hash chain, check the whole chain and report the first broken link."

    def handle(self, *args, **options):
        checked, broken_id, reason = audit_verify()
        if broken_id is None:
            self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {checked} rows checked."))
            return
        event = AuditEvent.objects.filter(pk=broken_id).first()
        what = f" ({event.created_at:%Y-%m-%d %H:%M:%S} UTC, {event.action})" if event is not None else ""
        raise CommandError(f"Audit chain broken at row {broken_id}{what}: {reason}. {checked} rows before it are intact.")
