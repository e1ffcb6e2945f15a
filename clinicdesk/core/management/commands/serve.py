"""Serve the web application with the background task worker and the periodic scheduler; Ctrl-C stops them all."""

import os
import signal
import subprocess  # noqa: S404  (runs this project's own manage.py only)
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

STOP_TIMEOUT = 10


class Command(BaseCommand):
    help = "Run the web server and the task worker together (the embedded single-machine setup)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")
        parser.add_argument("--no-worker", action="store_true", help="Serve pages only.")

    def handle(self, *args, host, port, no_worker, **options):
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        if settings.DEBUG:
            web = manage + ["runserver", f"{host}:{port}", "--noreload"]
        else:
            web = [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"{host}:{port}", "-w", "2", "--access-logfile", "-"]
        commands = {"web server": web}
        if not no_worker:
            if settings.REDIS_URL:
                commands["task worker"] = manage + [
                    "rqworker", *settings.RQ_QUEUES, "--with-scheduler", "--job-class", "clinicdesk.core.task_backends.RQJob"]
            else:
                # No autoreload: the reloader would SIGKILL a task in flight instead of letting it finish.
                commands["task worker"] = manage + ["db_worker", "--no-reload"]
            commands["periodic scheduler"] = manage + ["run_periodic"]

        stopping = []

        def stop(signum, frame):
            stopping.append(signum)

        # Explicit handlers: SIGTERM from a service manager, and SIGINT even when started with it ignored.
        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # Each child in its own process group, so a terminal's Ctrl-C reaches only this command, which
        # then stops every child exactly once (a second signal would make the worker abandon its task).
        procs = {name: subprocess.Popen(cmd, env=env, process_group=0) for name, cmd in commands.items()}  # noqa: S603
        self.stdout.write(self.style.SUCCESS(f"clinicdesk is running on http://{host}:{port}  (Ctrl-C stops it)"))
        died = None
        try:
            while not stopping:
                died = next((name for name, p in procs.items() if p.poll() is not None), None)
                if died:
                    break
                time.sleep(0.2)
        finally:
            for p in procs.values():
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT
            for p in procs.values():
                try:
                    p.wait(timeout=max(deadline - time.monotonic(), 0.1))
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        codes = ", ".join(f"{name} {p.returncode}" for name, p in procs.items())
        if died and not stopping:
            raise CommandError(f"The {died} stopped unexpectedly; everything is stopped (exit codes: {codes}).")
        self.stdout.write(f"Stopped (exit codes: {codes}).")
