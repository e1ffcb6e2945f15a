"""E-mail through Django's mail backends: SMTP in production, the console (or locmem in tests) in the embedded
setup, where the outbox page shows what would have been sent.

Each e-mail's Message-ID is derived from the message's idempotency key, so a retry after a worker died
mid-send carries the same Message-ID and mail clients show one e-mail, not two. SMTP itself has no
idempotency: over SMTP the guarantee is at most one send per lease (see services.delivery).
"""

from __future__ import annotations

import hashlib
import re
import smtplib
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from . import PermanentFailure, ProviderReceipt, TemporaryFailure

PROVIDER_NAME = "email"
# A caller that wants a List-Unsubscribe header marks its unsubscribe link: <a rel="unsubscribe" href="...">.
_UNSUBSCRIBE_RE = re.compile(r"""<a\b[^>]*\brel=["']unsubscribe["'][^>]*\bhref=["']([^"']+)["']""", re.IGNORECASE)


def message_id_for(idempotency_key: str) -> str:
    """The Message-ID header (without angle brackets) for the e-mail with this idempotency key."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    return f"{hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]}@{domain}"


def unsubscribe_url(html_body: str) -> str:
    """The link marked rel="unsubscribe" in the HTML body, or ""."""
    match = _UNSUBSCRIBE_RE.search(html_body or "")
    return match.group(1).replace("&amp;", "&") if match else ""


def email_send(*, to: str, subject: str, body: str, html_body: str, idempotency_key: str,
               attachments: list[tuple[str, str, bytes]] = ()) -> ProviderReceipt:
    """Hand one e-mail (text, and HTML when there is one) to the configured mail backend; with `attachments`
    ((filename, content type, bytes) each) it is multipart/mixed around the text and HTML alternatives."""
    message_id = message_id_for(idempotency_key)
    headers = {"Message-ID": f"<{message_id}>"}
    if url := unsubscribe_url(html_body):
        headers["List-Unsubscribe"] = f"<{url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email = EmailMultiAlternatives(subject=subject or "Message from your practice", body=body,
                                   from_email=settings.DEFAULT_FROM_EMAIL, to=[to], headers=headers)
    if html_body:
        email.attach_alternative(html_body, "text/html")
    for filename, content_type, content in attachments:
        email.attach(filename, content, content_type)
    try:
        email.send()
    except smtplib.SMTPRecipientsRefused as exc:
        codes = ", ".join(f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
                          for code, text in exc.recipients.values())
        raise PermanentFailure(f"The mail server refused the address: {codes}") from None
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        failure = PermanentFailure if 500 <= exc.smtp_code < 600 else TemporaryFailure
        raise failure(f"The mail server answered {exc.smtp_code}: {text}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise TemporaryFailure(f"The mail server could not be reached ({type(exc).__name__}).") from None
    return ProviderReceipt(provider_message_id=message_id, status="sent")
