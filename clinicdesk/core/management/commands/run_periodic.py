"""Enqueue the registered periodic tasks when they are due (see core.periodic); `serve` runs it beside the worker."""

import signal
import time

from django.core.management.base import BaseCommand

from clinicdesk.core.periodic import enqueue_due, periodic_tasks


class Command(BaseCommand):
    help = "Enqueue recurring background work (recall refresh, expiry sweeps) when it is due."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Enqueue every registered task once and exit.")
        parser.add_argument("--tick", type=float, default=30.0, help="Seconds between checks (default 30).")

    def handle(self, *args, once: bool, tick: float, **options):
        stopping = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda signum, frame: stopping.append(signum))
        last: dict[str, float] = {}
        listed = ", ".join(f"{p.task_path} every {p.every}" for p in periodic_tasks())
        self.stdout.write(f"Periodic tasks: {listed or 'none registered'}")
        while not stopping:
            for path in enqueue_due(last_enqueued=last, now=time.monotonic()):
                self.stdout.write(f"enqueued {path}")
            if once:
                return
            deadline = time.monotonic() + tick
            while not stopping and time.monotonic() < deadline:
                time.sleep(0.2)
