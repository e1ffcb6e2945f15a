"""The demo practice's technology: Riverside's computers, printers, phones and network gear, an ECG machine and a
scale due for calibration, the EHR licence expiring soon, and one open ticket. Dates follow today; a second run adds
nothing."""

from __future__ import annotations

import zlib
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from clinicdesk.ledger.models import Vendor
from clinicdesk.staff.models import StaffMember

from .choices import AssetKind, AssetStatus, IntervalUnit, TicketPriority
from .models import Asset, AssetAssignment, MaintenanceRecord, MaintenanceSchedule, ServiceTicket, TicketEntry
from .services.alerts import asset_alerts_send

VENDORS = {"Valley IT Services": "help@valley-it.test", "MedTech Biomedical": "service@medtech-biomedical.test",
           "ChartWell EHR": "support@chartwell-ehr.test", "Riverside Telecom": "business@riverside-telecom.test"}
# tag, name, kind, make, model, location code, holder username, vendor, cost, days since bought,
# warranty days left, support days left, licence days left, seats
ASSETS = [
    ("RFM-PC-001", "Front desk PC 1", AssetKind.COMPUTER, "Dell", "OptiPlex 7010", "main", "maria",
     "Valley IT Services", "899.00", 700, 395, None, None, None),
    ("RFM-PC-002", "Front desk PC 2", AssetKind.COMPUTER, "Dell", "OptiPlex 7010", "main", None,
     "Valley IT Services", "899.00", 700, 395, None, None, None),
    ("RFM-PC-003", "Dr Chen's laptop", AssetKind.COMPUTER, "Lenovo", "ThinkPad T14", "main", "drchen",
     "Valley IT Services", "1349.00", 1040, 55, None, None, None),
    ("RFM-PC-004", "Billing workstation", AssetKind.COMPUTER, "HP", "EliteDesk 800", "main", "devon",
     "Valley IT Services", "1099.00", 400, 695, None, None, None),
    ("RFM-PC-005", "Nurses' station PC", AssetKind.COMPUTER, "Dell", "OptiPlex 5000", "north", "jamal",
     "Valley IT Services", "949.00", 200, 895, None, None, None),
    ("RFM-PR-001", "Reception laser printer", AssetKind.PRINTER, "Brother", "HL-L6210DW", "main", None,
     "Valley IT Services", "429.00", 500, 230, 25, None, None),
    ("RFM-PR-002", "Label printer", AssetKind.PRINTER, "Zebra", "ZD421", "main", None,
     "Valley IT Services", "389.00", 900, -170, None, None, None),
    ("RFM-PH-001", "Reception desk phone", AssetKind.PHONE, "Yealink", "T54W", "main", "maria",
     "Riverside Telecom", "189.00", 600, 130, 300, None, None),
    ("RFM-PH-002", "North desk phone", AssetKind.PHONE, "Yealink", "T54W", "north", None,
     "Riverside Telecom", "189.00", 600, 130, 300, None, None),
    ("RFM-NET-001", "Main Street firewall", AssetKind.NETWORK, "Fortinet", "FortiGate 60F", "main", None,
     "Valley IT Services", "1150.00", 800, 300, 45, None, None),
    ("RFM-NET-002", "Main Street core switch", AssetKind.NETWORK, "Ubiquiti", "USW-Pro-24-PoE", "main", None,
     "Valley IT Services", "699.00", 800, 300, None, None, None),
    ("RFM-NET-003", "North wireless access point", AssetKind.NETWORK, "Ubiquiti", "U6-Pro", "north", None,
     "Valley IT Services", "159.00", 300, 430, None, None, None),
    ("RFM-MED-001", "ECG machine", AssetKind.MEDICAL_DEVICE, "GE Healthcare", "MAC 2000", "main", None,
     "MedTech Biomedical", "6800.00", 1200, 80, 200, None, None),
    ("RFM-MED-002", "Exam room scale", AssetKind.MEDICAL_DEVICE, "Seca", "703", "main", None,
     "MedTech Biomedical", "1450.00", 900, -265, None, None, None),
    ("RFM-SW-001", "EHR licence", AssetKind.SOFTWARE_LICENCE, "ChartWell", "ChartWell EHR Cloud", None, None,
     "ChartWell EHR", "14400.00", 330, None, None, 35, 25),
]
# tag, name, interval, unit, days since last done (None: never done, first due in `first_due` days), first due
SCHEDULES = [
    ("RFM-MED-001", "ECG calibration", 12, IntervalUnit.MONTHS, 345, None),
    ("RFM-MED-002", "Scale calibration", 6, IntervalUnit.MONTHS, 190, None),
    ("RFM-NET-001", "Firmware and rule review", 90, IntervalUnit.DAYS, None, 40),
]


def seed(ctx, *, patients: int, seed: int, stdout=None) -> int:
    """Add the technology to the demo practice; returns the number of rows added (0 on a second run)."""
    org, today = ctx.organization, timezone.localdate()
    if Asset.objects.filter(organization=org, tag=ASSETS[0][0]).exists():
        return 0
    priya = ctx.users.get("priya")
    with transaction.atomic():
        vendors = {name: Vendor.objects.get_or_create(organization=org, name=name, defaults={"email": email})[0]
                   for name, email in VENDORS.items()}
        locations = {loc.code: loc for loc in ctx.locations}
        holders = {m.user.username: m for m in StaffMember.objects.filter(organization=org, user__isnull=False)
                   .select_related("user", "department")}
        assets, added = {}, 0
        for (tag, name, kind, make, model, location, holder, vendor, cost, age, warranty, support, licence,
             seats) in ASSETS:
            member = holders.get(holder) if holder else None
            asset = Asset.objects.create(
                organization=org, tag=tag, name=name, kind=kind, make=make, model=model,
                serial_number=f"SN{zlib.crc32(f'{seed}{tag}'.encode()) % 10**8:08d}" if kind != AssetKind.SOFTWARE_LICENCE else "",
                location=locations.get(location), department=member.department if member else None,
                assigned_to=member, vendor=vendors[vendor], purchase_date=today - timedelta(days=age),
                purchase_cost=Decimal(cost),
                warranty_expires=today + timedelta(days=warranty) if warranty is not None else None,
                support_expires=today + timedelta(days=support) if support is not None else None,
                licence_expires=today + timedelta(days=licence) if licence is not None else None,
                licence_seats=seats,
                status=AssetStatus.IN_USE if member or kind != AssetKind.COMPUTER else AssetStatus.IN_STOCK,
            )
            AssetAssignment.objects.create(organization=org, asset=asset, staff=member, location=asset.location,
                                           department=asset.department, starts_on=asset.purchase_date,
                                           note="Recorded", recorded_by=priya)
            assets[tag] = asset
            added += 2
        for tag, name, interval, unit, done_ago, first_due in SCHEDULES:
            asset = assets[tag]
            schedule = MaintenanceSchedule(organization=org, asset=asset, name=name, interval_count=interval,
                                           interval_unit=unit, vendor=asset.vendor,
                                           starts_on=today + timedelta(days=first_due or 0))
            if done_ago is not None:
                schedule.last_done_on = today - timedelta(days=done_ago)
                schedule.next_due_on = schedule.due_after(schedule.last_done_on)
                schedule.starts_on = schedule.last_done_on
            else:
                schedule.next_due_on = schedule.starts_on
            schedule.save()
            added += 1
            if done_ago is not None:
                MaintenanceRecord.objects.create(
                    organization=org, asset=asset, schedule=schedule, performed_on=schedule.last_done_on,
                    performed_by="MedTech Biomedical technician", vendor=asset.vendor, cost=Decimal("180.00"),
                    notes="Calibrated within tolerance; sticker applied.", recorded_by=priya)
                added += 1
        printer = assets["RFM-PR-001"]
        ticket = ServiceTicket.objects.create(
            organization=org, asset=printer, title="Reception printer jams on tray 2",
            description="Jams on every third page from tray 2 since Monday; tray 1 works.",
            priority=TicketPriority.HIGH, vendor=printer.vendor, reported_by=ctx.users.get("maria"), assigned_to=priya)
        TicketEntry.objects.create(ticket=ticket, author=ticket.reported_by, to_status=ticket.status, kind="status",
                                   body=ticket.description)
        added += 2
        # The alerts the daily job would have raised by now: tasks for the office manager.
        added += asset_alerts_send(organization=org, today=today)
    return added
