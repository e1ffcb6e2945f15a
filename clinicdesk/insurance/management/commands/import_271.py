"""manage.py import_271 FILE...: what each 271 says per subscriber and dependent; non-zero exit on a bad file."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clinicdesk.insurance.x12.segments import X12Error
from clinicdesk.insurance.x12.x271 import Eligibility, read_271


def _money(value) -> str:
    return "—" if value is None else f"${value:,.2f}"


def describe_person(person: Eligibility) -> list[str]:
    active = {True: "active", False: "inactive", None: "no status given"}[person.active]
    lines = [f"  {person.role} {person.last_name}, {person.first_name} (member {person.member_id or '—'}): {active}"]
    for rejection in person.rejections:
        lines.append(f"    rejected: {rejection.reason_name} (AAA {rejection.reason})")
    if person.plan_names:
        lines.append(f"    plan: {', '.join(person.plan_names)}")
    for benefit in person.copays:
        network = {True: "in network", False: "out of network", None: ""}[benefit.in_network]
        types = ", ".join(benefit.service_type_names) or "all services"
        lines.append(f"    copay {_money(benefit.amount)} {types} {network}".rstrip())
    deductible, remaining = person.deductible(), person.deductible(remaining=True)
    if deductible is not None or remaining is not None:
        met = deductible - remaining if deductible is not None and remaining is not None else None
        lines.append(f"    deductible {_money(deductible)}, met {_money(met)}, remaining {_money(remaining)}")
    total, left = person.out_of_pocket_total(), person.out_of_pocket_remaining()
    if total is not None or left is not None:
        lines.append(f"    out of pocket {_money(total)}, remaining {_money(left)}")
    return lines


class Command(BaseCommand):
    help = "Read 271 eligibility answers and print the benefits of each subscriber; exits 1 on a malformed file."

    def add_arguments(self, parser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE")

    def handle(self, *args, files: list[str], **options) -> None:
        failed = []
        for name in files:
            path = Path(name)
            try:
                responses = read_271(path.read_text(encoding="utf-8", errors="replace"))
            except OSError as error:
                failed.append(name)
                self.stderr.write(f"{name}: cannot be read ({error.strerror})")
                continue
            except X12Error as error:
                failed.append(name)
                self.stderr.write(f"{name}: envelope or segment error: {error}")
                continue
            self.stdout.write(f"{name}:")
            for response in responses:
                self.stdout.write(f" payer {response.payer_name} ({response.payer_id})")
                for rejection in response.rejections:
                    self.stdout.write(f"  rejected: {rejection.reason_name} (AAA {rejection.reason})")
                for person in response.everyone():
                    for line in describe_person(person):
                        self.stdout.write(line)
        if failed:
            raise CommandError(f"{len(failed)} of {len(files)} file(s) malformed: {', '.join(failed)}")
