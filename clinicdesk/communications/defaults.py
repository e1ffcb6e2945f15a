"""The templates every practice starts with: letters, e-mails and text messages in plain, real-world wording.

Installed by code and only when missing, so running it again (or after the office changed a wording)
changes nothing. Text in [square brackets] is for the letter writer to replace in the composer.
Text-message replies follow one rule everywhere: C or Y confirms, N cancels or declines, R asks for
another time, STOP opts out.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from clinicdesk.core.models import Organization

from .choices import MessagePurpose, TemplateKind
from .models import MessageTemplate


@dataclass(frozen=True)
class DefaultTemplate:
    code: str
    name: str
    kind: str
    purpose: str
    subject: str
    body: str


L, E, S = TemplateKind.LETTER, TemplateKind.EMAIL, TemplateKind.SMS
P = MessagePurpose

LETTERS = [
    DefaultTemplate("referral", "Referral to a specialist", L, P.LETTER,
                    "Referral: {{ patient.full_name }}, born {{ patient.date_of_birth }}", """\
<p>Dear Colleague,</p>
<p>Thank you for seeing my patient, {{ patient.full_name }} (date of birth {{ patient.date_of_birth }}), whom I am \
referring to you for [reason for referral].</p>
<h3>Relevant history</h3>
<p>[Pertinent history, examination findings and results so far.]</p>
<h3>Current medicines and allergies</h3>
<p>[Current medicines; allergies.]</p>
<h3>The question</h3>
<p>[What you would like the specialist to assess or do.]</p>
<p>Please send your findings and recommendations to our office at {{ location.address }}, or call us on \
{{ location.phone }}. The patient can be reached at {{ patient.phone }}.</p>
<p>Thank you for your help with {{ patient.preferred_name }}'s care.</p>"""),
    DefaultTemplate("work-excuse", "Work excuse", L, P.LETTER, "Work excuse for {{ patient.full_name }}", """\
<p>To whom it may concern,</p>
<p>{{ patient.full_name }} was seen at {{ practice.name }} on {{ today }}.</p>
<p>For medical reasons, {{ patient.preferred_name }} was unable to work from [first date] to [last date] and may \
return to work on [return date] [with the following restrictions: ...].</p>
<p>To protect the patient's privacy this letter does not give a diagnosis. Please call {{ location.phone }} if you \
need to confirm that it was issued by our office.</p>"""),
    DefaultTemplate("school-excuse", "School excuse", L, P.LETTER, "School excuse for {{ patient.full_name }}", """\
<p>To the school nurse and teachers,</p>
<p>{{ patient.full_name }} (date of birth {{ patient.date_of_birth }}) was seen at {{ practice.name }} on {{ today }}.</p>
<p>Please excuse {{ patient.preferred_name }}'s absence from [first date] to [last date]. \
{{ patient.preferred_name }} may return to school on [return date] [and should not take part in physical education \
until ...].</p>
<p>This letter does not give a diagnosis. Please call {{ location.phone }} with any questions.</p>"""),
    DefaultTemplate("normal-results", "Normal test results", L, P.LETTER, "Your test results", """\
<p>Dear {{ patient.display_name }},</p>
<p>We are pleased to tell you that the results of your recent [name of test], done on [date], are within the \
normal range. No further action is needed at this time.</p>
<p>Please keep this letter with your health records. If you have new symptoms or questions about your results, \
call us on {{ location.phone }}.</p>
<p>We look forward to seeing you at your next routine visit.</p>"""),
    DefaultTemplate("missed-appointment", "Missed appointment", L, P.LETTER, "We missed you on {{ appointment.date }}", """\
<p>Dear {{ patient.display_name }},</p>
<p>You had an appointment with {{ appointment.provider }} at our {{ appointment.location }} office on \
{{ appointment.date }} at {{ appointment.time }}, and we were sorry not to see you.</p>
<p>Regular care matters for your health. Please call us on {{ location.phone }} to book a new time that suits you.</p>
<p>If you cannot keep an appointment in future, please let us know at least 24 hours ahead so that another patient \
can be seen in that time. Our missed-appointment policy may apply to appointments missed without notice.</p>"""),
    DefaultTemplate("welcome", "Welcome to the practice", L, P.LETTER, "Welcome to {{ practice.name }}", """\
<p>Dear {{ patient.display_name }},</p>
<p>Welcome to {{ practice.name }}. We are glad you chose us for your care.</p>
<p>Some things that will help at your first visit:</p>
<ul>
<li>Please arrive 15 minutes early and bring a photo ID, your insurance card and a list of your medicines.</li>
<li>If you have records from a previous doctor, ask them to send a copy to us.</li>
<li>To book, change or cancel an appointment call {{ location.phone }}.</li>
</ul>
<p>Our office is at {{ location.address }}. We look forward to meeting you.</p>"""),
    DefaultTemplate("account-past-due", "Account past due", L, P.BALANCE, "Your account is past due", """\
<p>Dear {{ guarantor.name }},</p>
<p>Our records show a balance of {{ balance.amount_due }} on the account for {{ patient.full_name }}, of which \
{{ balance.past_due_amount }} is now {{ balance.days_past_due }} days past due.</p>
<p>Please pay by {{ balance.due_date }}. If you have already sent your payment, thank you, and please disregard \
this letter.</p>
<p>If you cannot pay the full amount, call our billing office on {{ practice.phone }}; we are happy to set up a \
payment plan. If you think this balance is wrong, call us and we will review it with you.</p>"""),
    DefaultTemplate("final-notice", "Final notice before collections", L, P.BALANCE, "Final notice: account for {{ patient.full_name }}", """\
<p>Dear {{ guarantor.name }},</p>
<p>This is our final notice about the balance of {{ balance.amount_due }} on the account for \
{{ patient.full_name }}. We have written to you before and have not received payment or heard from you.</p>
<p>Please pay the full balance, or call {{ practice.phone }} to agree a payment plan, by {{ balance.due_date }}. \
If we do not hear from you by then, the account may be referred to a collection agency.</p>
<p>If you have already paid, thank you, and please disregard this notice.</p>"""),
    DefaultTemplate("dismissal", "Discharge from the practice", L, P.LETTER, "Ending our care relationship", """\
<p>Dear {{ patient.display_name }},</p>
<p>I am writing to tell you that {{ practice.name }} will no longer be able to provide your medical care, \
effective 30 days from the date of this letter, because [reason].</p>
<p>During the next 30 days we will continue to see you for urgent care, and to refill prescriptions as needed, \
while you find a new doctor. Your health insurance or your local medical society can help you find one.</p>
<p>With your written permission we will send a copy of your medical records to your new doctor. Please call \
{{ location.phone }} to request this.</p>
<p>If you have an emergency, call 911 or go to the nearest emergency department.</p>
<p>I wish you good health.</p>"""),
]

EMAILS = [
    DefaultTemplate("reminder-email", "Appointment reminder (e-mail)", E, P.REMINDER,
                    "Reminder: your appointment on {{ appointment.date }}", """\
<p>Hello {{ patient.first_name }},</p>
<p>This is a reminder of your appointment with {{ appointment.provider }} on {{ appointment.date }} at \
{{ appointment.time }}, at {{ appointment.location }} ({{ appointment.location_address }}).</p>
<p><a href="{{ links.confirm_url }}">Confirm the appointment</a> · <a href="{{ links.reschedule_url }}">Ask for \
another time</a> · <a href="{{ links.cancel_url }}">Cancel</a></p>
<p>Please bring your insurance card and a list of your medicines. If you need to cancel, please let us know at \
least 24 hours ahead.</p>
<p>{{ practice.name }} · {{ location.phone }}</p>"""),
    DefaultTemplate("confirmation-email", "Booking confirmation (e-mail)", E, P.CONFIRMATION,
                    "Your appointment on {{ appointment.date }} is booked", """\
<p>Hello {{ patient.first_name }},</p>
<p>Your appointment is booked: {{ appointment.date }} at {{ appointment.time }} with {{ appointment.provider }}, \
at {{ appointment.location }} ({{ appointment.location_address }}). Please allow {{ appointment.duration }}.</p>
<p>If you need to change it, <a href="{{ links.reschedule_url }}">ask for another time</a> or \
<a href="{{ links.cancel_url }}">cancel</a>, or call us on {{ location.phone }}.</p>
<p>{{ practice.name }}</p>"""),
    DefaultTemplate("waitlist-offer-email", "Waitlist offer (e-mail)", E, P.WAITLIST_OFFER,
                    "An earlier appointment is available", """\
<p>Hello {{ patient.first_name }},</p>
<p>An appointment has opened up: {{ appointment.date }} at {{ appointment.time }} with {{ appointment.provider }} \
at {{ appointment.location }}.</p>
<p><a href="{{ links.offer_url }}">Take this appointment</a></p>
<p>We offer freed times to several patients on our waiting list; the first to accept gets it. If you do not want \
it, you need not do anything and you keep your place on the list.</p>
<p>{{ practice.name }} · {{ location.phone }}</p>"""),
    DefaultTemplate("recall-email", "Recall (e-mail)", E, P.RECALL, "Time to book your next visit", """\
<p>Hello {{ patient.first_name }},</p>
<p>Our records show that you are due for a routine visit with {{ practice.name }}. Regular check-ups help us \
catch problems early and keep your care up to date.</p>
<p>{% if links.booking_url %}<a href="{{ links.booking_url }}">Book online</a> or call{% else %}Please call{% endif %} us on \
{{ practice.phone }} to book a time that suits you.</p>
<p><a href="{{ links.unsubscribe_url }}">Stop these reminders</a></p>"""),
    DefaultTemplate("statement-ready-email", "Statement ready (e-mail)", E, P.STATEMENT, "Your statement from {{ practice.name }}", """\
<p>Hello {{ guarantor.name }},</p>
<p>A new statement dated {{ balance.statement_date }} is ready for the account of {{ patient.full_name }}. \
The amount due is {{ balance.amount_due }}, payable by {{ balance.due_date }}.</p>
{% if links.statement_url %}<p><a href="{{ links.statement_url }}">See the statement</a></p>{% endif %}
{% if links.pay_url %}<p><a href="{{ links.pay_url }}">Pay online</a></p>{% endif %}
<p>If you have questions about your statement, call our billing office on {{ practice.phone }}.</p>
<p><a href="{{ links.unsubscribe_url }}">Stop statement e-mails</a></p>"""),
    DefaultTemplate("balance-reminder-email", "Balance reminder (e-mail)", E, P.BALANCE, "A reminder about your balance", """\
<p>Hello {{ guarantor.name }},</p>
<p>This is a friendly reminder that the account of {{ patient.full_name }} has a balance of \
{{ balance.amount_due }}, due by {{ balance.due_date }}.</p>
{% if links.pay_url %}<p><a href="{{ links.pay_url }}">Pay online</a></p>{% endif %}
<p>If you have already paid, thank you. If you would like a payment plan or think the balance is wrong, call us \
on {{ practice.phone }}.</p>
<p><a href="{{ links.unsubscribe_url }}">Stop these reminders</a></p>"""),
    DefaultTemplate("letter-link-email", "Letter ready (e-mail with a secure link)", E, P.LETTER,
                    "A letter from {{ practice.name }}", """\
<p>Hello {{ patient.first_name }},</p>
<p>{{ practice.name }} has a letter for you. To keep it private it is not attached to this e-mail.</p>
<p><a href="{{ links.letter_url }}">Read your letter</a></p>
<p>You will be asked for your date of birth. The link works for 14 days; after that, call us on \
{{ location.phone }} and we will send a new one.</p>"""),
]

TEXTS = [
    DefaultTemplate("reminder-sms", "Appointment reminder (text)", S, P.REMINDER, "",
                    "{{ practice.name }}: reminder of your visit on {{ appointment.date }} at {{ appointment.time }} "
                    "with {{ appointment.provider }}, {{ appointment.location }}. Reply C to confirm, N to cancel, "
                    "R to reschedule, or use {{ links.confirm_url }}. Reply STOP to opt out."),
    DefaultTemplate("waitlist-offer-sms", "Waitlist offer (text)", S, P.WAITLIST_OFFER, "",
                    "{{ practice.name }}: an earlier time is free on {{ appointment.date }} at {{ appointment.time }} "
                    "with {{ appointment.provider }}. Reply Y to take it or N to pass ({{ links.offer_url }}). "
                    "First to reply gets it."),
    DefaultTemplate("recall-sms", "Recall (text)", S, P.RECALL, "",
                    "Hi {{ patient.first_name }}, {{ practice.name }} here: you are due for a routine visit. "
                    "{% if links.booking_url %}Book at {{ links.booking_url }} or call{% else %}Call{% endif %} {{ practice.phone }} "
                    "to book. Reply STOP to opt out."),
    DefaultTemplate("balance-reminder-sms", "Balance reminder (text)", S, P.BALANCE, "",
                    "Hi {{ patient.first_name }}, {{ practice.name }} here: there is a balance on your account. "
                    "{% if links.pay_url %}Pay at {{ links.pay_url }} or call{% else %}Please call{% endif %} {{ practice.phone }}. "
                    "Reply STOP to opt out."),
]

DEFAULTS: list[DefaultTemplate] = [*LETTERS, *EMAILS, *TEXTS]


@transaction.atomic
def defaults_install(*, organization: Organization, actor=None) -> int:
    """Create the default templates the practice does not have yet (matched by code); returns how many were made."""
    from .services.templates import template_create

    existing = set(MessageTemplate.objects.filter(organization=organization).values_list("code", flat=True))
    made = 0
    for default in DEFAULTS:
        if default.code in existing:
            continue
        template_create(actor=actor, organization=organization, code=default.code, name=default.name,
                        kind=default.kind, purpose=default.purpose, subject=default.subject, body=default.body)
        made += 1
    return made
