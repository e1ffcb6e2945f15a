"""Reads of patient records. Import selectors from here: `from clinicdesk.patients.selectors import patient_search`."""

from .duplicates import patient_likely_duplicates
from .search import patient_search

__all__ = ["patient_likely_duplicates", "patient_search"]
