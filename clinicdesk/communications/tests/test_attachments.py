"""Attachments of outbox e-mails: stored with the message when queued (limits refused with nothing queued), sent
as real MIME parts, sent again with the message, listed on the message page and downloaded only by the practice;
a purchase order sent to its vendor carries its PDF."""

import email
from email import policy

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from clinicdesk.core.models import AuditEvent
from clinicdesk.inventory.services import purchasing as po
from clinicdesk.inventory.tests.factories import StockLocationFactory, make_order
from clinicdesk.patients.tests.factories import PatientFactory

from ..choices import MessageChannel, MessageState
from ..models import Message, MessageAttachment
from ..services.attachments import MAX_TOTAL_BYTES, clean_filename
from ..services.delivery import message_deliver, message_send_again
from ..services.outbox import OutgoingMessage, message_queue, message_queue_many

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path, stored_tasks):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(tmp_path / "media"), "base_url": None}},
    }
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    return tmp_path / "media"


@pytest.fixture
def patient(org):
    return PatientFactory(organization=org, email="ana@example.com", last_name="Okafor")


def _queue(org, patient=None, *, key="letter:1", channel=MessageChannel.EMAIL, attachments=(), **kwargs):
    return message_queue(organization=org, patient=patient, channel=channel, body="Your letter is attached.",
                         subject="Your letter", idempotency_key=key, mind_quiet_hours=False,
                         attachments=attachments, **kwargs)


def _stored_files(media) -> list:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def test_an_email_is_queued_with_its_attachments_once(org, patient, private_media):
    # when the same message is queued twice with its attachments
    message = _queue(org, patient, attachments=[("../../etc/Letter\r\n to \"Ana\".pdf", "application/pdf", PDF),
                                                ("notes.txt", "", b"plain words")])
    again = _queue(org, patient, attachments=[("other.pdf", "application/pdf", PDF)])
    # then one message holds the two files, named cleanly, typed, sized, under outbox/<practice>/
    assert again.pk == message.pk and Message.objects.count() == 1
    stored = list(message.attachments.order_by("id"))
    assert [(a.filename, a.content_type, a.size) for a in stored] == [
        ("Letter to Ana .pdf", "application/pdf", len(PDF)), ("notes.txt", "text/plain", 11)]
    assert all(a.file.name.startswith(f"outbox/{org.pk}/") for a in stored)
    assert stored[0].file.open("rb").read() == PDF
    assert len(_stored_files(private_media)) == 2


def test_file_names_are_cleaned():
    assert clean_filename("C:\\Users\\x\\scan.PDF") == "scan.PDF"
    assert clean_filename("a<b>|c?.pdf") == "a b c .pdf"
    assert clean_filename("../..") == ""
    long = clean_filename("x" * 300 + ".pdf")
    assert len(long) == 120 and long.endswith(".pdf")


@pytest.mark.parametrize(("attachments", "says"), [
    ([("a.pdf", "application/pdf", PDF)] * 11, "at most 10 attachments; 11 were given"),
    ([("big.pdf", "application/pdf", b"%PDF" + b"0" * MAX_TOTAL_BYTES)], "10,485,764 bytes; a message carries at most 10,485,760 bytes (10 MB) in all."),
    ([("empty.pdf", "application/pdf", b"")], "Attachment 1 ('empty.pdf') is empty."),
    ([("ok.pdf", "application/pdf", PDF), ("/", "application/pdf", PDF)], "Attachment 2 has no usable file name."),
    ([("a.pdf", "pdf please", PDF)], "'pdf please' is not a content type"),
    ([("a.pdf", "application/pdf", "not bytes")], "its content must be bytes"),
    ([("a.pdf", PDF)], "give it as (file name, content type, bytes)"),
])
def test_attachments_past_the_limits_are_refused_and_nothing_is_queued(org, patient, private_media, attachments, says):
    with pytest.raises(ValidationError) as caught:
        _queue(org, patient, attachments=attachments)
    assert says in " ".join(caught.value.message_dict["attachments"])
    assert not Message.objects.exists() and not MessageAttachment.objects.exists()
    assert _stored_files(private_media) == []


def test_a_text_message_refuses_attachments(org, patient):
    patient.phone_mobile = "+12025550123"
    with pytest.raises(ValidationError) as caught:
        _queue(org, patient, channel=MessageChannel.SMS, attachments=[("a.pdf", "application/pdf", PDF)])
    assert caught.value.message_dict["attachments"] == ["A text message cannot carry attachments; send it by e-mail."]
    with pytest.raises(ValidationError, match="cannot carry attachments"):
        message_queue_many(organization=org, messages=[OutgoingMessage(
            channel=MessageChannel.SMS, body="Hello", idempotency_key="sms:1", patient=patient,
            attachments=[("a.pdf", "application/pdf", PDF)])])
    assert not Message.objects.exists()


def test_a_batch_stores_each_messages_attachments(org, patient):
    made = message_queue_many(organization=org, messages=[
        OutgoingMessage(channel=MessageChannel.EMAIL, body="One", idempotency_key="batch:1", patient=patient,
                        attachments=[("one.pdf", "application/pdf", PDF)]),
        OutgoingMessage(channel=MessageChannel.EMAIL, body="Two", idempotency_key="batch:2", patient=patient),
    ])
    assert [list(m.attachments.values_list("filename", flat=True)) for m in made] == [["one.pdf"], []]


def test_delivery_sends_the_attachment_as_a_mime_part_beside_the_text_and_html(org, patient):
    # given an e-mail with text, HTML and a PDF
    message = _queue(org, patient, html_body="<p>Your letter is attached.</p>",
                     attachments=[("Letter.pdf", "application/pdf", PDF)])
    # when it is sent
    assert message_deliver(message_id=message.pk) == "sent"
    # then the e-mail on the wire is multipart/mixed: the text/HTML alternatives, then the PDF
    (sent,) = mail.outbox
    parsed = email.message_from_bytes(sent.message().as_bytes(), policy=policy.default)
    assert parsed.get_content_type() == "multipart/mixed"
    body, attached = parsed.iter_parts()
    assert body.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in body.iter_parts()] == ["text/plain", "text/html"]
    assert attached.get_content_type() == "application/pdf" and attached.get_filename() == "Letter.pdf"
    assert attached.get_content_disposition() == "attachment"
    content = attached.get_content()
    assert content.startswith(b"%PDF") and content == PDF


def test_sending_again_carries_the_same_attachments(org, patient, front_desk):
    message = _queue(org, patient, attachments=[("Letter.pdf", "application/pdf", PDF)])
    Message.objects.filter(pk=message.pk).update(state=MessageState.FAILED, reason="Mailbox full.")
    message.refresh_from_db()
    again = message_send_again(message=message, actor=front_desk)
    assert again.pk != message.pk
    (copy,) = again.attachments.all()
    assert copy.filename == "Letter.pdf" and copy.file.open("rb").read() == PDF
    assert copy.file.name != message.attachments.get().file.name


def test_the_message_page_lists_attachments_and_the_download_is_the_practices_only(
        org, other_org, patient, front_desk, auditor, make_user, client_as):
    # given an e-mail to the practice's patient with a PDF, and one of another practice
    message = _queue(org, patient, attachments=[("Letter.pdf", "application/pdf", PDF)])
    attachment = message.attachments.get()
    theirs = _queue(other_org, PatientFactory(organization=other_org), key="theirs:1",
                    attachments=[("Theirs.pdf", "application/pdf", PDF)])
    url = reverse("communications:outbox_attachment", args=[message.public_id, attachment.pk])
    client = client_as(front_desk)
    # when the front desk opens the message: the attachment is listed with its download link
    page = client.get(reverse("communications:outbox_detail", args=[message.public_id])).text
    assert "Letter.pdf" in page and url in page
    # and downloads it: the bytes, as a download, audited against the patient
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf" and "attachment" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    opened = AuditEvent.objects.get(action="message.attachment_opened")
    assert opened.actor_id == front_desk.pk and opened.patient_id == patient.pk
    # another practice's attachment, or this one under another message, is not found
    other = theirs.attachments.get()
    assert client.get(reverse("communications:outbox_attachment", args=[theirs.public_id, other.pk])).status_code == 404
    assert client.get(reverse("communications:outbox_attachment",
                              args=[message.public_id, other.pk])).status_code == 404
    assert client.get(reverse("communications:outbox_attachment",
                              args=[theirs.public_id, attachment.pk])).status_code == 404
    # a role without the outbox permission is refused
    assert client_as(auditor).get(url).status_code == 403
    assert AuditEvent.objects.filter(action="message.attachment_opened").count() == 1


def test_a_purchase_order_sent_to_its_vendor_carries_its_pdf(org, client_as, make_user):
    # given an approved order
    from clinicdesk.core.choices import Role

    manager = make_user(Role.OFFICE_MANAGER, username="priya")
    order = make_order(org=org, place=StockLocationFactory(organization=org), actor=manager, status="approved")
    # when the manager sends it from its page to the vendor's address
    response = client_as(manager).post(reverse("inventory:order_send", args=[order.pk]),
                                       {"vendor_email": "orders@henry.example"})
    # then the outbox e-mail carries the order's PDF, and the vendor gets it attached
    assert response.status_code == 302
    message = Message.objects.get()
    (attachment,) = message.attachments.all()
    assert (attachment.filename, attachment.content_type) == (f"PO-{order.number}.pdf", "application/pdf")
    assert attachment.file.open("rb").read().startswith(b"%PDF")
    assert message_deliver(message_id=message.pk) == "sent"
    (sent,) = mail.outbox
    parsed = email.message_from_bytes(sent.message().as_bytes(), policy=policy.default)
    (pdf,) = list(parsed.iter_attachments())
    assert pdf.get_filename() == f"PO-{order.number}.pdf" and pdf.get_content().startswith(b"%PDF")


def test_a_purchase_order_sent_by_the_service_with_its_pdf(org, make_user):
    from clinicdesk.core.choices import Role

    manager = make_user(Role.OFFICE_MANAGER, username="priya")
    order = make_order(org=org, actor=manager, status="approved")
    po.purchase_order_send(order=order, actor=manager, vendor_email="orders@henry.example", text="Order", pdf=PDF)
    (attachment,) = Message.objects.get().attachments.all()
    assert attachment.filename == f"PO-{order.number}.pdf" and attachment.size == len(PDF)
