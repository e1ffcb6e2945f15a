"""One import: files and folders of bundles, each bundle in its own transaction (a refused bundle writes nothing;
the others still import), with a report per bundle and in total."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from clinicdesk.core.models import Organization, User
from clinicdesk.core.permissions import Perm

from .bundle import CLINICAL_REASON, bundle_read
from .coverage import coverages_import
from .encounters import visits_import
from .identity import ImportContext
from .patients import patients_import
from .payments import payments_import
from .report import SKIPPED, BundleRefused, ImportReport

# What the acting user must be allowed to do: everything the import writes.
REQUIRED_PERMISSIONS = (Perm.PATIENT_CREATE, Perm.PATIENT_CHANGE, Perm.USERS_MANAGE, Perm.COVERAGE_MANAGE,
                        Perm.PAYERS_MANAGE, Perm.CHARGES_REVIEW, Perm.REMITTANCES_POST, Perm.PAYMENTS_ADJUST)


class _DryRun(Exception):  # noqa: N818  (control flow: roll the bundle back after reporting it)
    pass


def import_permission_check(*, actor: User, organization: Organization) -> None:
    """The actor belongs to the practice and may make every kind of record the import makes; deny otherwise."""
    if not actor.is_active or actor.organization_id != organization.pk:
        raise PermissionDenied(f"{actor.username} is not an active user of {organization.slug}.")
    missing = [code for code in REQUIRED_PERMISSIONS if not actor.has_perm_code(code)]
    if missing:
        raise PermissionDenied(f"{actor.username} ({actor.get_role_display()}) may not import: needs "
                               f"{', '.join(missing)}.")


def bundle_import(*, text: str, name: str, organization: Organization, actor: User,
                  dry_run: bool = False) -> ImportReport:
    """Import one bundle in one transaction. A refusal comes back in `report.refused` and nothing is written."""
    report = ImportReport(name=name, dry_run=dry_run)
    import_permission_check(actor=actor, organization=organization)
    try:
        with transaction.atomic():
            bundle = bundle_read(text, name=name)
            ctx = ImportContext(organization=organization, actor=actor, report=report, source_file=name)
            for kind, n in sorted(bundle.skipped.items()):
                report.add(SKIPPED, kind, n, reason=CLINICAL_REASON)
            for kind in ("Practitioner", "PractitionerRole", "Organization", "Location"):
                # Held for the references to them; they make records only as what the visits name.
                report.add(SKIPPED, kind, len(bundle.of(kind)), reason="kept only as the visits and claims name it")
            patients = patients_import(ctx, bundle.of("Patient"))
            coverages = coverages_import(ctx, bundle, patients)
            billed = visits_import(ctx, bundle, patients)
            payments_import(ctx, bundle, billed, coverages)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    except BundleRefused as exc:
        report = ImportReport(name=name, dry_run=dry_run, refused=str(exc))
    except ValidationError as exc:
        report = ImportReport(name=name, dry_run=dry_run, refused="; ".join(exc.messages))
    except IntegrityError:
        # Another import of the same resources committed first (the mapping is unique per practice and source id).
        report = ImportReport(name=name, dry_run=dry_run,
                              refused="another import wrote the same resources at the same moment; run it again.")
    return report


def bundle_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """The files named, and the .json files of the folders named (sorted, not recursive into hidden folders)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.json") if not any(part.startswith(".") for part in p.parts))
        else:
            yield path


def paths_import(*, paths: Iterable[str | Path], organization: Organization, actor: User,
                 dry_run: bool = False) -> list[ImportReport]:
    """Every bundle of `paths`, each in its own transaction."""
    import_permission_check(actor=actor, organization=organization)
    reports = []
    for path in bundle_files(paths):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reports.append(ImportReport(name=str(path), dry_run=dry_run, refused=f"cannot be read: {exc}"))
            continue
        reports.append(bundle_import(text=text, name=str(path), organization=organization, actor=actor,
                                     dry_run=dry_run))
    return reports
