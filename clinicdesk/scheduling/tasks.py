"""Background work of the schedule; each task is thin and calls a service."""
