"""`manage.py import_fhir`: Synthea / US Core bundles into the practice's records (see docs/import.md)."""

from .report import BundleRefused, ImportReport
from .run import bundle_import, import_permission_check, paths_import

__all__ = ["BundleRefused", "ImportReport", "bundle_import", "import_permission_check", "paths_import"]
