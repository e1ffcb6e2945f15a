"""Charge the payment plans' due installments to their stored cards now: `manage.py plans_autopay [--date YYYY-MM-DD]`.

The daily plan check does this on its own; the command is for running it by hand (after an outage, say). Safe to
run again: an installment is never charged twice."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from clinicdesk.billing.services.autopay import plans_autopay_run


class Command(BaseCommand):
    help = "Charge every active autopay plan's due, unpaid installments to its stored card."

    def add_arguments(self, parser):
        parser.add_argument("--date", metavar="YYYY-MM-DD", help="Charge as of this day (default: today).")

    def handle(self, *args, date=None, **options):
        today = None
        if date:
            try:
                today = _parse(date)
            except ValueError:
                raise CommandError(f"--date: '{date}' is not a date like 2026-11-02.") from None
        counts = plans_autopay_run(today=today)
        self.stdout.write(f"Charged {counts['charged']}, declined {counts['declined']}, "
                          f"not answered {counts['failed']}.")


def _parse(text: str):
    return date.fromisoformat(text)
