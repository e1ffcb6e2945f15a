"""Background work for the practice itself (django.tasks); each task is thin and calls a service."""

from datetime import timedelta
from typing import Any

from django.tasks import task

from .audit import audit_chain_check, audit_seal


@task
def audit_chain_verify() -> dict[str, Any]:
    """Check the audit trail's hash chain off the request path and record the outcome as an audit event."""
    return audit_chain_check()


@task
def audit_chain_seal() -> int:
    """Seal audit rows no web process has sealed yet (a process that went quiet after its last commit)."""
    return audit_seal()


@task
def audit_new_rows_seal() -> int:
    """Seal the rows committed since the last seal (asked for after each commit that wrote audit rows, at most once
    a second per process); gives way at once to a sealer already at work, which takes them instead."""
    return audit_seal(wait=False, look_back=timedelta(0))
