"""Roster events other apps listen to. Rostering (layer 3) never imports communications (layer 4): it announces
what happened and communications tells the people."""

from django.dispatch import Signal

# sender=RosterPeriod; period=the published RosterPeriod; feed_urls={staff_id: absolute iCalendar URL};
# shifts={staff_id: [(date, shift name, "07:00-15:00")]}
roster_published = Signal()
