from django.contrib import admin

from .models import Contract, CoverageNeed, RosterPeriod, ShiftPreference, ShiftType, TimeOffRequest, Unavailability


@admin.register(ShiftType)
class ShiftTypeAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "department", "start_time", "length_minutes", "is_night", "is_active")
    list_filter = ("department", "is_active")


@admin.register(CoverageNeed)
class CoverageNeedAdmin(admin.ModelAdmin):
    list_display = ("department", "location", "shift_type", "skill", "weekday", "on_date", "minimum", "preferred")
    list_filter = ("department", "shift_type")


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    list_display = ("staff", "min_hours_per_week", "max_hours_per_week", "max_consecutive_shifts", "min_rest_hours",
                    "max_weekends")
    raw_id_fields = ("staff",)


@admin.register(Unavailability)
class UnavailabilityAdmin(admin.ModelAdmin):
    list_display = ("staff", "start", "end", "note")
    raw_id_fields = ("staff",)


@admin.register(TimeOffRequest)
class TimeOffRequestAdmin(admin.ModelAdmin):
    list_display = ("staff", "start", "end", "status", "decided_by")
    list_filter = ("status",)
    raw_id_fields = ("staff",)


@admin.register(ShiftPreference)
class ShiftPreferenceAdmin(admin.ModelAdmin):
    list_display = ("staff", "on_date", "shift_type", "wants", "weight")
    raw_id_fields = ("staff",)


@admin.register(RosterPeriod)
class RosterPeriodAdmin(admin.ModelAdmin):
    list_display = ("name", "department", "start", "end", "version", "status")
    list_filter = ("status", "department")
    readonly_fields = ("snapshot",)
