from django.core.management.base import BaseCommand, CommandError

from clinicdesk.core.audit import audit_verify


class Command(BaseCommand):
    help = "Check the audit trail's hash chain and report the first broken link."

    def handle(self, *args, **options):
        checked, broken, reason = audit_verify()
        if broken is None:
            self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {checked} rows checked."))
            return
        raise CommandError(
            f"Audit chain broken at row {broken.id} ({broken.created_at:%Y-%m-%d %H:%M:%S} UTC, {broken.action}): "
            f"{reason}. {checked} rows before it are intact."
        )
