"""Serve the web application and the background task worker together; Ctrl-C stops both."""

import os
import signal
import subprocess  # noqa: S404  (runs this project's own manage.py only)
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the web server and the task worker together (the embedded single-machine setup)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")
        parser.add_argument("--no-worker", action="store_true", help="Serve pages only.")

    def handle(self, *args, host, port, no_worker, **options):
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        procs = []
        web = manage + ["runserver", f"{host}:{port}", "--noreload"] if settings.DEBUG else [
            sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"{host}:{port}", "-w", "2", "--access-logfile", "-"]
        procs.append(subprocess.Popen(web, env=env))  # noqa: S603
        if not no_worker:
            worker = manage + (["rqworker", "default", "--job-class", "django_tasks_rq.Job"] if settings.REDIS_URL else ["db_worker"])
            procs.append(subprocess.Popen(worker, env=env))  # noqa: S603
        self.stdout.write(self.style.SUCCESS(f"clinicdesk is running on http://{host}:{port}  (Ctrl-C stops it)"))
        try:
            while all(p.poll() is None for p in procs):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGINT)
            for p in procs:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        codes = [p.returncode for p in procs]
        self.stdout.write(f"Stopped (exit codes {codes}).")
