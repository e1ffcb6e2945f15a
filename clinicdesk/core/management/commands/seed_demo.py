"""Load the demo practice. Idempotent; `--patients N` grows it to N patients (fast enough for a million)."""

import importlib
import time

from django.apps import apps
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the demo practice (Riverside Family Medicine) with staff and patients. Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, default=250, help="How many demo patients (default 250).")
        parser.add_argument("--seed", type=int, default=2026, help="Random seed; the same seed gives the same practice.")

    def handle(self, *args, patients: int, seed: int, **options):
        started = time.perf_counter()
        from clinicdesk.core import demo as core_demo

        ctx = core_demo.seed(stdout=None)
        # Each app adds its part, lowest layer first (the order of INSTALLED_APPS); then each app may finish once
        # every app has seeded (the ledger closes last month only after the others have posted into it).
        finishing = []
        for config in apps.get_app_configs():
            if not config.name.startswith("clinicdesk.") or config.name == "clinicdesk.core":
                continue
            try:
                module = importlib.import_module(f"{config.name}.demo")
            except ModuleNotFoundError:
                continue
            added = module.seed(ctx, patients=patients, seed=seed, stdout=self.stdout)
            self.stdout.write(f"{config.verbose_name}: {added} added")
            if hasattr(module, "finish"):
                finishing.append((config, module))
        for config, module in finishing:
            added = module.finish(ctx, stdout=self.stdout)
            self.stdout.write(f"{config.verbose_name} (finishing): {added} added")
        self.stdout.write(self.style.SUCCESS(f"Demo practice ready in {time.perf_counter() - started:.1f}s."))
        core_demo.seed(stdout=self.stdout)
