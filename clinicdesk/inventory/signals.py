"""Signals the inventory app declares for higher layers (communications sends the daily digest it hears)."""

from django.dispatch import Signal

# Sent once a day per practice with something to report: organization, alerts (selectors.Alerts), today.
stock_alerts_found = Signal()

# Sent when a purchase order is sent to its vendor by e-mail: order, to_address, subject, text, html, actor, and
# the order's PDF (pdf: bytes, pdf_name) when there is one. Communications puts the e-mail in its outbox.
purchase_order_sent = Signal()
