"""Signal receivers that feed the audit chain: model changes recorded by django-auditlog, and sign-ins."""

from auditlog.models import LogEntry
from auditlog.signals import post_log
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from .accounts import session_clock_start
from .audit import audit_event, claim_description
from .choices import AuditOutcome
from .models import User

_VERBS = {LogEntry.Action.CREATE: "created", LogEntry.Action.UPDATE: "updated", LogEntry.Action.DELETE: "deleted"}


@receiver(post_log, dispatch_uid="clinicdesk_audit_chain")
def chain_model_change(sender, instance, action, changes, log_entry, log_created, **kwargs):
    """Every create, update and delete that django-auditlog records also enters the hash chain."""
    verb = _VERBS.get(action)
    if verb is None or not log_created:
        return
    actor = log_entry.actor if log_entry is not None else None
    action, summary = claim_description(instance) or (
        f"{sender._meta.model_name}.{verb}", f"{sender._meta.verbose_name.capitalize()} {verb}"
    )
    audit_event(action=action, actor=actor, target=instance, summary=summary, changes=changes or {})


@receiver(user_logged_in, dispatch_uid="clinicdesk_login")
def on_login(sender, request, user, **kwargs):
    session_clock_start(request)
    audit_event(action="auth.login", actor=user, summary="Signed in")


@receiver(user_logged_out, dispatch_uid="clinicdesk_logout")
def on_logout(sender, request, user, **kwargs):
    if user is not None:
        audit_event(action="auth.logout", actor=user, summary="Signed out")


@receiver(user_login_failed, dispatch_uid="clinicdesk_login_failed")
def on_login_failed(sender, credentials, request=None, **kwargs):
    attempted = str(credentials.get("username") or credentials.get("email") or "")[:150]
    audit_event(action="auth.login_failed", outcome=AuditOutcome.FAILED, actor_label=attempted, summary="Sign-in failed")


@receiver(pre_save, sender=User, dispatch_uid="clinicdesk_user_was_active")
def remember_if_active(sender, instance, raw, update_fields=None, **kwargs):
    """Note whether a saved user was active before, so that turning it off can end its sessions."""
    instance._was_active = bool(
        not raw
        and instance.pk
        and not instance.is_active
        and (update_fields is None or "is_active" in update_fields)
        and sender.objects.filter(pk=instance.pk, is_active=True).exists()
    )


@receiver(post_save, sender=User, dispatch_uid="clinicdesk_user_deactivated_sessions")
def end_sessions_of_deactivated_user(sender, instance, created, raw, **kwargs):
    """However a user is deactivated (service, admin, shell), every session of theirs ends at once."""
    if getattr(instance, "_was_active", False) and not instance.is_active:
        from .services import user_sessions_end

        instance._was_active = False
        ended = user_sessions_end(user=instance)
        audit_event(action="user.sessions_ended", target=instance, summary=f"Account deactivated: {ended} session(s) ended")
