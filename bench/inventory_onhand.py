#!/usr/bin/env python
"""On hand for 10,000 items in 20 stock locations over 5,000,000 stock movements, and consumption posting.

Builds (once per size, kept between runs) a practice with 10,000 items, 20 stock locations, one balance row per
item and location (200,000) and `--movements` stock ledger rows spread over them, written with bulk inserts (the
ledger's append-only trigger refuses only updates and deletes). Balances are set to what the movements sum to.
Then measures, after a warm-up, several runs each, median / p95 / max in milliseconds:

  on-hand page      on_hand_by_location: the first page (50 rows) and its count, all locations
  one location      the same for one stock location
  consumption       `--consume` uses through stock_consume_batch in batches of `--batch` (locks, FIFO layers, a
                    balanced journal entry per use, movements, audit rows), one transaction a batch, and
                    `--single` through stock_consume one transaction each: printed as postings per second

  PostgreSQL  BENCH_INVENTORY_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/clinicdesk_bench_inventory

    .venv/bin/python bench/inventory_onhand.py [--rebuild] [--movements 5000000] [--items 10000] [--consume 5000] [--batch 500]

Targets: the page <= 200 ms on PostgreSQL; consumption >= 500 postings/s. Never run as a test.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _engines import ensure_pg_database, fmt, percentile  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_INVENTORY_DATABASE_URL",
                        "postgres://postgres@127.0.0.1:5432/clinicdesk_bench_inventory")
LOCATIONS = 20
PAGE_TARGET_MS = 200.0
CONSUME_TARGET = 500.0


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movements", type=int, default=5_000_000)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--consume", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--single", type=int, default=300)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--rebuild", action="store_true")
    return parser.parse_args()


def main() -> int:
    args = parse()
    os.environ["DATABASE_URL"] = PG_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DEBUG"] = "0"
    ensure_pg_database(PG_URL, rebuild=args.rebuild)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection

    org, user, places = build(args)
    from clinicdesk.inventory.models import StockMovement

    movements = StockMovement.objects.filter(organization=org).count()
    print(f"\ninventory_onhand · PostgreSQL {connection.pg_version // 10000} · {args.items:,} items · "
          f"{len(places)} locations · {movements:,} movements")
    try:
        load = os.getloadavg()
        print(f"  machine load (1/5/15 min): {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores")
    except OSError:
        pass
    print(f"  {'':<24}{'p50':>8}{'p95':>8}{'max':>8}   ms")
    worst = 0.0
    for label, place in (("on-hand page", None), ("one location", places[3].pk)):
        times = page_times(user, place, args.runs)
        worst = max(worst, percentile(times, 50))
        print(f"  {label:<24}{fmt(times)}")
    single = consume_rate(org, user, places, args.single, batch=0)
    print(f"  consumption, one by one {single:>8.0f} postings/s ({args.single} through stock_consume)")
    rate = consume_rate(org, user, places, args.consume, batch=args.batch)
    print(f"  consumption, batches    {rate:>8.0f} postings/s ({args.consume} through stock_consume_batch, "
          f"{args.batch} a batch)")
    ok = worst <= PAGE_TARGET_MS and rate >= CONSUME_TARGET
    print(f"  targets: page <= {PAGE_TARGET_MS:.0f} ms, consumption >= {CONSUME_TARGET:.0f}/s: "
          f"{'met' if ok else 'NOT met'}")
    return 0


def page_times(user, place_id, runs: int) -> list[float]:
    from django.core.paginator import Paginator

    from clinicdesk.inventory.selectors import on_hand_by_location, with_levels

    def once():
        page = Paginator(on_hand_by_location(user=user, stock_location_id=place_id), 50).get_page(1)
        return with_levels(page, organization_id=user.organization_id), page.paginator.count

    once()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        once()
        times.append((time.perf_counter() - started) * 1000)
    return times


def consume_rate(org, user, places, count: int, *, batch: int) -> float:
    """Uses spread over 200 items and every location; `batch` 0 posts them one transaction each."""
    from clinicdesk.inventory.models import Item
    from clinicdesk.inventory.services.stock import StockUse, stock_consume, stock_consume_batch

    items = list(Item.objects.filter(organization=org).order_by("pk")[:200])
    uses = [StockUse(item=items[n % len(items)], stock_location=places[n % len(places)], quantity=Decimal(1))
            for n in range(count)]
    started = time.perf_counter()
    if batch:
        for start in range(0, count, batch):
            stock_consume_batch(uses=uses[start:start + batch], actor=user)
    else:
        for use in uses:
            stock_consume(item=use.item, stock_location=use.stock_location, quantity=use.quantity, actor=user)
    return count / (time.perf_counter() - started)


def build(args):
    """Migrate, then the practice, its items, locations, movements and balances (once per size)."""
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.db.models import Sum

    from clinicdesk.core.choices import Role
    from clinicdesk.core.models import Department, Location, Organization, User
    from clinicdesk.inventory.choices import MovementKind
    from clinicdesk.inventory.models import CostLayer, Item, Lot, StockBalance, StockLocation, StockMovement

    call_command("migrate", verbosity=0)
    slug = f"bench-inventory-{args.items}-{args.movements}"
    org, _ = Organization.objects.get_or_create(slug=slug, defaults={"name": "Inventory Bench", "mrn_prefix": "IB"})
    user, _ = User.objects.get_or_create(username=f"{slug}-manager", defaults={
        "organization": org, "role": Role.OFFICE_MANAGER, "first_name": "Bench", "last_name": "Manager"})
    places = list(StockLocation.objects.filter(organization=org).order_by("pk"))
    if places:
        return org, user, places
    started = time.perf_counter()
    with transaction.atomic():
        location = Location.objects.create(organization=org, name="Bench", code="bench")
        department = Department.objects.create(organization=org, name="Nursing", code="nursing")
        places = StockLocation.objects.bulk_create([
            StockLocation(organization=org, location=location, department=department, name=f"Room {n:02d}")
            for n in range(LOCATIONS)])
        items = Item.objects.bulk_create([
            Item(organization=org, name=f"Item {n:05d}", base_unit="each", price=Decimal("0.50"),
                 average_cost=Decimal("0.50")) for n in range(args.items)], batch_size=5000)
        lots = Lot.objects.bulk_create([Lot(organization=org, item=i, number="") for i in items], batch_size=5000)
        lot_of = {lot.item_id: lot for lot in lots}
        # Every balance starts with a large receipt so consumption never runs dry; the rest are uses.
        per_pair = max(1, args.movements // (len(items) * len(places)))
        batch, written = [], 0
        for item in items:
            for place in places:
                for k in range(per_pair):
                    if written >= args.movements:
                        break
                    receipt = k == 0
                    batch.append(StockMovement(
                        organization=org, item=item, stock_location=place, lot=lot_of[item.pk],
                        kind=MovementKind.RECEIPT if receipt else MovementKind.CONSUMPTION,
                        quantity=Decimal(10_000) if receipt else Decimal(-1), value=Decimal("0"),
                        location_on_hand_after=Decimal(10_000 - k), occurred_on="2026-11-01"))
                    written += 1
                if len(batch) >= 20_000:
                    StockMovement.objects.bulk_create(batch)
                    batch = []
        StockMovement.objects.bulk_create(batch)
        sums = (StockMovement.objects.filter(organization=org).values("item_id", "stock_location_id")
                .annotate(t=Sum("quantity")))
        balances = {(r["item_id"], r["stock_location_id"]): r["t"] for r in sums}
        StockBalance.objects.bulk_create([
            StockBalance(organization=org, item=item, stock_location=place, lot=lot_of[item.pk],
                         on_hand=balances.get((item.pk, place.pk), Decimal(10_000)))
            for item in items for place in places], batch_size=20_000)
        CostLayer.objects.bulk_create([CostLayer(organization=org, item=i, unit_cost=Decimal("0.50"),
                                                 remaining=Decimal(10_000 * LOCATIONS)) for i in items], batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"built in {time.perf_counter() - started:.0f} s")
    return org, user, places


if __name__ == "__main__":
    sys.exit(main())
