"""Files an e-mail carries: checked and named cleanly when the message is queued, stored with it through the
default storage (under outbox/, never a public path), read back when it is sent or sent again."""

from __future__ import annotations

import hashlib
import mimetypes
import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from ..choices import MessageChannel
from ..models import Message, MessageAttachment

MAX_ATTACHMENTS = 10
MAX_TOTAL_BYTES = 10 * 1024 * 1024
FILENAME_MAX = 120
# What a mail client or a file system may read as something else: path separators, quotes, control characters.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f"*/:<>?\\|;]+')
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$")


@dataclass(frozen=True)
class AttachmentFile:
    """One checked attachment, ready to store: its clean name, type and bytes."""

    filename: str
    content_type: str
    content: bytes


def clean_filename(name: str) -> str:
    """The name without any folder, control or quoting characters, at most FILENAME_MAX long (the extension kept);
    "" when nothing usable is left."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = re.split(r"[\\/]", name)[-1]
    name = _UNSAFE.sub(" ", name)
    name = " ".join(name.split()).strip(". ")
    if len(name) > FILENAME_MAX:
        suffix = PurePosixPath(name).suffix[:10]
        name = name[:FILENAME_MAX - len(suffix)].rstrip(". ") + suffix
    return name


def attachments_check(*, channel: str, attachments) -> list[AttachmentFile]:
    """The attachments as (filename, content type, bytes), checked: e-mail only, at most MAX_ATTACHMENTS and
    MAX_TOTAL_BYTES in all, none empty, each with a usable name. A ValidationError on "attachments" otherwise."""
    given = list(attachments or [])
    if not given:
        return []
    if channel != MessageChannel.EMAIL:
        raise ValidationError({"attachments": "A text message cannot carry attachments; send it by e-mail."})
    if len(given) > MAX_ATTACHMENTS:
        raise ValidationError({"attachments": f"A message carries at most {MAX_ATTACHMENTS} attachments; "
                                              f"{len(given)} were given."})
    checked, errors = [], []
    for number, entry in enumerate(given, start=1):
        try:
            filename, content_type, content = entry
        except (TypeError, ValueError):
            errors.append(f"Attachment {number}: give it as (file name, content type, bytes).")
            continue
        name = clean_filename(filename)
        label = f"Attachment {number} ('{name}')" if name else f"Attachment {number}"
        if not name:
            errors.append(f"{label} has no usable file name.")
            continue
        if not isinstance(content, bytes | bytearray | memoryview):
            errors.append(f"{label}: its content must be bytes.")
            continue
        if not content:
            errors.append(f"{label} is empty.")
            continue
        kind = (content_type or "").split(";")[0].strip().lower() or (
            mimetypes.guess_type(name)[0] or "application/octet-stream")
        if not _CONTENT_TYPE.match(kind):
            errors.append(f"{label}: '{content_type}' is not a content type such as application/pdf.")
            continue
        checked.append(AttachmentFile(filename=name, content_type=kind, content=bytes(content)))
    if errors:
        raise ValidationError({"attachments": errors})
    total = sum(len(a.content) for a in checked)
    if total > MAX_TOTAL_BYTES:
        raise ValidationError({"attachments": f"The attachments come to {total:,} bytes; a message carries at most "
                                              f"{MAX_TOTAL_BYTES:,} bytes ({MAX_TOTAL_BYTES // 2**20} MB) in all."})
    return checked


def attachments_store(*, message: Message, files: list[AttachmentFile]) -> list[MessageAttachment]:
    """Store the files with a message just saved (call inside its transaction). A failure removes what was
    already written to storage, so a rolled-back message leaves no file behind."""
    stored: list[MessageAttachment] = []
    try:
        for item in files:
            attachment = MessageAttachment(message=message, filename=item.filename, content_type=item.content_type,
                                           size=len(item.content), sha256=hashlib.sha256(item.content).hexdigest())
            attachment.file.save(item.filename, ContentFile(item.content), save=False)
            stored.append(attachment)
        MessageAttachment.objects.bulk_create(stored)
    except Exception:
        for attachment in stored:
            attachment.file.storage.delete(attachment.file.name)
        raise
    return stored


def attachment_content(attachment: MessageAttachment) -> bytes:
    """The stored bytes of an attachment (FileNotFoundError when storage has lost them)."""
    with attachment.file.open("rb") as handle:
        return handle.read()


def attachments_of(message: Message) -> list[tuple[str, str, bytes]]:
    """A message's attachments as (filename, content type, bytes), in order, for sending or queueing again."""
    return [(a.filename, a.content_type, attachment_content(a)) for a in message.attachments.all()]
