"""Online booking pages (public: choose a time, request it, confirm from the e-mail), the office's queue of
online requests, and providers' calendar feeds (the secret .ics URL and its management page)."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotFound, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import public, requires
from clinicdesk.core.middleware import client_ip
from clinicdesk.core.models import User
from clinicdesk.core.permissions import Perm

from ..choices import OnlineRequestStatus
from ..models import AppointmentType, CalendarFeed, LocationSchedule, OnlineBookingRequest
from ..selectors import online as online_selectors
from ..selectors.online import format_start, location_tz, parse_start, provider_display_name
from ..services import feeds as feed_services
from ..services import online as online_services
from ..services.appointments import PROVIDER_ROLES
from ..throttle import Throttled, hit

DATE_WIDGET = forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}, format="%Y-%m-%d")
MAX_ID = 2**62


# --- forms ------------------------------------------------------------------------------------------


class TimeSearchForm(forms.Form):
    """What the patient is looking for: a kind of visit, optionally a provider, from a day on."""

    type = forms.ChoiceField(label="Kind of visit", required=True)
    provider = forms.TypedChoiceField(label="Provider", required=False, coerce=int, empty_value=None)
    start = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, types, providers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = [("", "Choose…")] + [(t.code, f"{t.name} ({t.duration_minutes} min)") for t in types]
        self.fields["provider"].choices = [("", "Any provider")] + [(p.pk, provider_display_name(p)) for p in providers]


class RequestForm(forms.Form):
    """The patient's details for a chosen time. `slot` is "<provider id>:<start in UTC>"."""

    type = forms.CharField(widget=forms.HiddenInput, max_length=30)
    slot = forms.CharField(widget=forms.HiddenInput, max_length=40)
    first_name = forms.CharField(label="First name", max_length=80, widget=forms.TextInput(attrs={"autocomplete": "given-name"}))
    last_name = forms.CharField(label="Last name", max_length=80, widget=forms.TextInput(attrs={"autocomplete": "family-name"}))
    date_of_birth = forms.DateField(label="Date of birth", widget=DATE_WIDGET)
    email = forms.EmailField(
        label="E-mail", max_length=254, help_text="We send a link there to confirm the booking.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label="Phone", max_length=30, help_text="So the office can reach you about the visit.",
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "tel"}),
    )
    reason = forms.CharField(label="Reason for the visit", max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if field.help_text:
                field.widget.attrs.setdefault("aria-describedby", f"id_{name}-help")

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["aria-invalid"] = "true"


class SlotForm(forms.Form):
    """Another time picked on the verification page after the first one was taken."""

    slot = forms.CharField(max_length=40, required=False)


class DeclineForm(forms.Form):
    reason = forms.CharField(label="Reason (sent to the patient)", max_length=300, required=False)


class FeedCreateForm(forms.Form):
    provider = forms.TypedChoiceField(label="Provider", coerce=int)

    def __init__(self, *args, providers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = [(p.pk, str(p)) for p in providers]


def _add_errors(form: forms.Form, exc: ValidationError, aliases: dict[str, str] | None = None) -> None:
    errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    for field, texts in errors.items():
        field = (aliases or {}).get(field, field)
        form.add_error(field if field in form.fields else None, texts)


# --- public: helpers --------------------------------------------------------------------------------


def _throttled(request: HttpRequest, exc: Throttled, schedule: LocationSchedule | None = None) -> HttpResponse:
    minutes = max(1, round(exc.retry_after / 60))
    if request.path.endswith(".json"):
        response = JsonResponse({"detail": f"Too many requests. Please try again in about {minutes} minute(s)."}, status=429)
    else:
        response = render(request, "scheduling/online_throttled.html", {"schedule": schedule, "minutes": minutes, **_public_context(schedule)}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


def _public_context(schedule: LocationSchedule | None) -> dict:
    if schedule is None:
        return {"booking_tz": "UTC"}
    return {"schedule": schedule, "location": schedule.location, "booking_tz": schedule.location.time_zone}


def _unavailable(request: HttpRequest) -> HttpResponse:
    return render(request, "scheduling/online_unavailable.html", {"booking_tz": "UTC"}, status=404)


def _schedule_or_none(location_slug: str) -> LocationSchedule | None:
    return online_selectors.online_booking_location(slug=location_slug)


def _parse_slot(value: str, providers: dict[int, User]) -> tuple[User, object] | None:
    """'<provider id>:<start>' of a provider shown on the page, or None."""
    provider_part, _, start_part = (value or "").partition(":")
    if not provider_part.isdigit() or len(provider_part) > 18:
        return None
    provider = providers.get(int(provider_part))
    starts_at = parse_start(start_part)
    if provider is None or starts_at is None:
        return None
    return provider, starts_at


def _slot_value(provider_id: int, starts_at) -> str:
    return f"{provider_id}:{format_start(starts_at)}"


def _search(request: HttpRequest, schedule: LocationSchedule):
    """The search form, the chosen type and provider and the days of free times (None when nothing is chosen yet)."""
    types = list(online_selectors.online_bookable_types(schedule=schedule))
    providers = online_selectors.online_providers(schedule=schedule)
    data = request.GET.copy()
    if "type" not in data and len(types) == 1:
        data["type"] = types[0].code
    form = TimeSearchForm(data if "type" in data else None, types=types, providers=providers)
    if not form.is_bound or not form.is_valid():
        return form, types, None, None, None
    kind = next(t for t in types if t.code == form.cleaned_data["type"])
    provider = next((p for p in providers if p.pk == form.cleaned_data["provider"]), None)
    times = online_selectors.online_free_times(
        schedule=schedule, appointment_type=kind, provider=provider, from_day=form.cleaned_data["start"],
    )
    return form, types, kind, provider, times


# --- public: pages ------------------------------------------------------------------------------------


@public
@require_GET
def booking_page(request: HttpRequest, location_slug: str) -> HttpResponse:
    """A location's public booking page: choose a kind of visit (and a provider), see the free times."""
    schedule = _schedule_or_none(location_slug)
    try:
        hit("times_ip", client_ip(request))
    except Throttled as exc:
        return _throttled(request, exc, schedule)
    if schedule is None:
        return _unavailable(request)
    form, types, kind, provider, times = _search(request, schedule)
    context = {
        **_public_context(schedule),
        "form": form,
        "types": types,
        "kind": kind,
        "provider": provider,
        "days": times.days if times else [],
        "next_from": times.next_from if times else None,
        "requires_approval": schedule.online_requires_approval,
    }
    return render(request, "scheduling/booking_page.html", context)


@public
@require_GET
def booking_times(request: HttpRequest, location_slug: str) -> JsonResponse:
    """The same free times as JSON (for a practice's own web site): times and provider display names only."""
    schedule = _schedule_or_none(location_slug)
    try:
        hit("times_ip", client_ip(request))
    except Throttled as exc:
        return _throttled(request, exc, schedule)
    if schedule is None:
        return JsonResponse({"detail": "Online booking is not available here."}, status=404)
    form, _, kind, _, times = _search(request, schedule)
    if kind is None:
        errors = form.errors.get_json_data() if form.is_bound else {"type": [{"message": "Choose a kind of visit."}]}
        return JsonResponse({"detail": "Check the fields.", "errors": errors}, status=400)
    return JsonResponse({
        "location": schedule.location.name,
        "time_zone": schedule.location.time_zone,
        "appointment_type": {"code": kind.code, "name": kind.name, "duration_minutes": kind.duration_minutes},
        "requires_approval": schedule.online_requires_approval,
        "days": [
            {
                "date": day.day.isoformat(),
                "times": [
                    {
                        "start": t.starts_at.isoformat(),
                        "end": t.ends_at.isoformat(),
                        "provider": t.provider_id,
                        "provider_name": t.provider_name,
                        "slot": _slot_value(t.provider_id, t.starts_at),
                    }
                    for t in day.times
                ],
            }
            for day in times.days
        ],
        "next_from": times.next_from.isoformat() if times.next_from else None,
    })


def _alternatives(schedule: LocationSchedule, kind: AppointmentType, provider: User | None, around, *, exclude_request=None) -> list:
    """Other free times near a taken one: the same provider first, from that day on."""
    day = around.astimezone(location_tz(schedule)).date()
    days = online_selectors.online_free_times(
        schedule=schedule, appointment_type=kind, provider=provider, from_day=day, exclude_request=exclude_request,
    ).days
    if not days and provider is not None:
        days = online_selectors.online_free_times(schedule=schedule, appointment_type=kind, from_day=day, exclude_request=exclude_request).days
    return [t for d in days for t in d.times][:12]


@public
@require_http_methods(["GET", "POST"])
def booking_request(request: HttpRequest, location_slug: str) -> HttpResponse:
    """Step two: the patient's details for the chosen time; on success an e-mail with the confirmation link."""
    schedule = _schedule_or_none(location_slug)
    if schedule is None:
        return _unavailable(request)
    types = {t.code: t for t in online_selectors.online_bookable_types(schedule=schedule)}
    providers = {p.pk: p for p in online_selectors.online_providers(schedule=schedule)}
    source = request.POST if request.method == "POST" else request.GET
    kind = types.get((source.get("type") or "")[:30])
    chosen = _parse_slot(source.get("slot", ""), providers)
    if kind is None or chosen is None:
        messages.error(request, "Choose a kind of visit and a time first.")
        return redirect("scheduling_public:booking_page", location_slug=location_slug)
    provider, starts_at = chosen
    alternatives = []
    if request.method == "GET":
        form = RequestForm(initial={"type": kind.code, "slot": _slot_value(provider.pk, starts_at)})
    else:
        form = RequestForm(request.POST)
        try:
            hit("request_ip", client_ip(request))
            if form.is_valid():
                hit("request_email", form.cleaned_data["email"])
        except Throttled as exc:
            return _throttled(request, exc, schedule)
        if form.is_valid():
            data = form.cleaned_data
            try:
                online_services.online_request_create(
                    schedule=schedule,
                    appointment_type=kind,
                    provider=provider,
                    starts_at=starts_at,
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    date_of_birth=data["date_of_birth"],
                    email=data["email"],
                    phone=data["phone"],
                    reason=data["reason"],
                    ip_address=client_ip(request),
                    site_url=request.build_absolute_uri("/"),
                )
            except ValidationError as exc:
                _add_errors(form, exc, {"starts_at": "slot", "provider": "slot", "appointment_type": "type"})
                if isinstance(exc, online_services.OnlineTimeTaken) or "slot" in form.errors:
                    alternatives = _alternatives(schedule, kind, provider, starts_at)
            else:
                return redirect("scheduling_public:booking_sent", location_slug=location_slug)
    context = {
        **_public_context(schedule),
        "form": form,
        "kind": kind,
        "provider_name": provider_display_name(provider),
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(minutes=kind.duration_minutes),
        "alternatives": [(_slot_value(t.provider_id, t.starts_at), t) for t in alternatives],
        "requires_approval": schedule.online_requires_approval,
        "minutes": int(online_services.VERIFY_WINDOW.total_seconds() // 60),
    }
    return render(request, "scheduling/booking_request.html", context, status=400 if form.errors else 200)


@public
@require_GET
def booking_sent(request: HttpRequest, location_slug: str) -> HttpResponse:
    """Step three: check your e-mail."""
    schedule = _schedule_or_none(location_slug)
    if schedule is None:
        return _unavailable(request)
    return render(request, "scheduling/booking_sent.html", {
        **_public_context(schedule), "minutes": int(online_services.VERIFY_WINDOW.total_seconds() // 60),
    })


@public
@require_http_methods(["GET", "POST"])
def booking_verify(request: HttpRequest, location_slug: str, token: str) -> HttpResponse:
    """The link from the e-mail. GET shows the request and a Confirm button (so a mail scanner that opens links
    books nothing); POST confirms, and books or hands the request to the office."""
    schedule = _schedule_or_none(location_slug)
    try:
        hit("verify_ip", client_ip(request))
    except Throttled as exc:
        return _throttled(request, exc, schedule)
    if schedule is None:
        return _unavailable(request)
    online_request = online_services.online_request_by_token(token=token)
    if online_request is None or online_request.location_id != schedule.location_id:
        return render(request, "scheduling/booking_verify.html", {**_public_context(schedule), "invalid": True}, status=404)
    error = None
    alternatives = []
    if request.method == "POST":
        providers = {p.pk: p for p in online_selectors.online_providers(schedule=schedule)}
        form = SlotForm(request.POST)
        provider = starts_at = None
        if form.is_valid() and form.cleaned_data["slot"]:
            chosen = _parse_slot(form.cleaned_data["slot"], providers)
            if chosen is None:
                error = "Choose one of the times shown."
            else:
                provider, starts_at = chosen
        if error is None:
            try:
                online_request = online_services.online_request_verify(
                    online_request=online_request, provider=provider, starts_at=starts_at
                )
            except online_services.OnlineRequestExpired:
                online_request.refresh_from_db()
            except ValidationError as exc:
                online_request.refresh_from_db()
                error = " ".join(exc.messages)
        if error is not None and online_request.status == OnlineRequestStatus.PENDING_VERIFICATION:
            alternatives = _alternatives(
                schedule, online_request.appointment_type, online_request.provider, online_request.starts_at,
                exclude_request=online_request,
            )
    context = {
        **_public_context(schedule),
        "online_request": online_request,
        "provider_name": provider_display_name(online_request.provider),
        "expired": online_request.status == OnlineRequestStatus.EXPIRED
        or (online_request.status == OnlineRequestStatus.PENDING_VERIFICATION and online_request.expires_at <= timezone.now()),
        "error": error,
        "alternatives": [(_slot_value(t.provider_id, t.starts_at), t) for t in alternatives],
        "statuses": OnlineRequestStatus,
    }
    return render(request, "scheduling/booking_verify.html", context, status=409 if error else 200)


@public
@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """A provider's secret iCalendar feed. Unknown and revoked tokens get a plain 404."""
    try:
        hit("feed_ip", client_ip(request))
    except Throttled as exc:
        response = HttpResponse("Too many requests.\n", status=429, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(exc.retry_after)
        return response
    feed = feed_services.calendar_feed_by_token(token=token)
    if feed is None:
        return HttpResponseNotFound("No such calendar.\n", content_type="text/plain; charset=utf-8")
    body = feed_services.calendar_feed_fetch(feed=feed)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="clinicdesk.ics"'
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


# --- staff: the online requests queue ---------------------------------------------------------------


QUEUE_TABS = [
    OnlineRequestStatus.PENDING_APPROVAL,
    OnlineRequestStatus.BOOKED,
    OnlineRequestStatus.DECLINED,
    OnlineRequestStatus.PENDING_VERIFICATION,
    OnlineRequestStatus.EXPIRED,
]


@requires(Perm.ONLINE_REQUESTS)
@require_GET
def online_requests(request: HttpRequest) -> HttpResponse:
    """The office's queue: requests waiting for approval first; the other statuses on tabs."""
    status = request.GET.get("status") or OnlineRequestStatus.PENDING_APPROVAL
    if status not in OnlineRequestStatus.values:
        status = OnlineRequestStatus.PENDING_APPROVAL
    rows = online_selectors.online_request_list(actor=request.user, status=status)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    counts = online_selectors.online_request_counts(actor=request.user)
    tabs = [{"value": s.value, "label": s.label, "count": counts.get(s.value, 0), "active": s == status} for s in QUEUE_TABS]
    return render(request, "scheduling/online_requests.html", {
        "page": page, "tabs": tabs, "status": status, "query": f"status={status}",
        "pending": status == OnlineRequestStatus.PENDING_APPROVAL, "decline_form": DeclineForm(),
    })


def _queue_item(request: HttpRequest, online_request_id: int) -> OnlineBookingRequest:
    if online_request_id > MAX_ID:
        raise Http404
    online_request = online_selectors.online_request_for_actor(actor=request.user, request_id=online_request_id)
    if online_request is None:
        raise Http404
    return online_request


def _back_to_queue() -> HttpResponse:
    return redirect(f"{reverse('scheduling:online_requests')}?status={OnlineRequestStatus.PENDING_APPROVAL}")


@requires(Perm.ONLINE_REQUESTS)
@require_POST
def online_request_approve(request: HttpRequest, online_request_id: int) -> HttpResponse:
    online_request = _queue_item(request, online_request_id)
    try:
        online_services.online_request_approve(actor=request.user, online_request=online_request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Booked {online_request.first_name} {online_request.last_name}; the patient was e-mailed.")
    return _back_to_queue()


@requires(Perm.ONLINE_REQUESTS)
@require_POST
def online_request_decline(request: HttpRequest, online_request_id: int) -> HttpResponse:
    online_request = _queue_item(request, online_request_id)
    form = DeclineForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    if not form.is_valid():
        messages.error(request, "The reason is too long (300 characters at most).")
        return _back_to_queue()
    try:
        online_services.online_request_decline(actor=request.user, online_request=online_request, reason=reason)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Request declined; the patient was e-mailed.")
    return _back_to_queue()


# --- staff: calendar feeds --------------------------------------------------------------------------


def _feed_providers(user: User) -> list[User]:
    """The providers whose feeds the user manages: everyone's for schedule managers, else their own."""
    providers = User.objects.filter(organization_id=user.organization_id, role__in=PROVIDER_ROLES, is_active=True)
    if not user.has_perm_code(Perm.SCHEDULE_MANAGE):
        providers = providers.filter(pk=user.pk)
    return list(providers.order_by("last_name", "first_name", "id"))


def _feeds_page(request: HttpRequest, *, form: FeedCreateForm | None = None, new_url: str = "", new_for: User | None = None,
                status: int = 200) -> HttpResponse:
    providers = _feed_providers(request.user)
    feeds = CalendarFeed.objects.filter(provider__in=providers).select_related("provider").order_by("provider__last_name", "-created_at")
    return render(request, "scheduling/calendar_feeds.html", {
        "providers": providers,
        "feeds": feeds,
        "form": form or FeedCreateForm(providers=providers, initial={"provider": request.user.pk}),
        "new_url": new_url,
        "new_for": new_for,
        "manages_all": request.user.has_perm_code(Perm.SCHEDULE_MANAGE),
    }, status=status)


@requires(Perm.SCHEDULE_VIEW)
@require_GET
def calendar_feeds(request: HttpRequest) -> HttpResponse:
    """Calendar feed URLs: create one (shown once), see when each was last used, revoke."""
    return _feeds_page(request)


@requires(Perm.SCHEDULE_VIEW)
@require_POST
def calendar_feed_create(request: HttpRequest) -> HttpResponse:
    providers = _feed_providers(request.user)
    form = FeedCreateForm(request.POST, providers=providers)
    if not form.is_valid():
        return _feeds_page(request, form=form, status=400)
    provider = next(p for p in providers if p.pk == form.cleaned_data["provider"])
    try:
        _, token = feed_services.calendar_feed_create(actor=request.user, provider=provider)
    except ValidationError as exc:
        _add_errors(form, exc)
        return _feeds_page(request, form=form, status=400)
    url = request.build_absolute_uri(reverse("scheduling_public:calendar_feed", kwargs={"token": token}))
    return _feeds_page(request, new_url=url, new_for=provider)


@requires(Perm.SCHEDULE_VIEW)
@require_POST
def calendar_feed_revoke(request: HttpRequest, feed_id: int) -> HttpResponse:
    if feed_id > MAX_ID:
        raise Http404
    feed = CalendarFeed.objects.select_related("provider").filter(pk=feed_id).first()
    if feed is None or not feed_services.can_manage_feeds_of(request.user, feed.provider):
        raise Http404
    feed_services.calendar_feed_revoke(actor=request.user, feed=feed)
    messages.success(request, f"The calendar feed {feed.prefix}… of {feed.provider} no longer works.")
    return redirect("scheduling:calendar_feeds")
