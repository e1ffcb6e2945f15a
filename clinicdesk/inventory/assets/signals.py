"""Domain signals the assets app sends upward; communications listens and puts a task in the office manager's inbox."""

from django.dispatch import Signal

# Sent once per alert (an AssetAlert just recorded) with alert=.
asset_alert_raised = Signal()
