#!/usr/bin/env python
"""837P batch building: 10,000 claims (200 subscribers, a quarter of the claims for dependents, one in ten a
secondary claim with the primary's line adjudication, one to four lines each) written by `build_837p`, then read
back by `read_837p`. Prints wall and CPU time of each, the file size and the load average. Pure Python, no database.

    .venv/bin/python bench/claims_837p.py [--claims N] [--repeat R]

Target: 10,000 claims built in well under 10 s. Never run as a test.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from clinicdesk.insurance.x12.records import Address, Adjustment  # noqa: E402
from clinicdesk.insurance.x12.segments import Envelope  # noqa: E402
from clinicdesk.insurance.x12.x837p import (  # noqa: E402
    BillingProvider,
    Claim,
    LineAdjudication,
    OtherPayer,
    Patient,
    Payer,
    Receiver,
    RenderingProvider,
    ServiceLine,
    Submitter,
    Subscriber,
    build_837p,
    read_837p,
)

SEED = 2026
PROCEDURES = [("99213", "125.00"), ("99214", "185.00"), ("87880", "30.00"), ("90471", "25.00"), ("99395", "210.00"),
              ("36415", "12.00"), ("81002", "9.50"), ("93000", "55.00")]
DIAGNOSES = ["J06.9", "R05", "E11.9", "I10", "Z00.00", "M54.5", "J02.9", "E78.5", "F41.1", "N39.0"]


def make_claims(count: int) -> list[Claim]:
    rng = random.Random(SEED)
    clinics = [
        BillingProvider("1234567893", "SUNRISE CLINIC", "741234567", Address("1 MAIN ST", "AUSTIN", "TX", "787011234"),
                        "207Q00000X"),
        BillingProvider("1245319599", "SUNRISE CLINIC NORTH", "741234568",
                        Address("9 OAK AVE", "AUSTIN", "TX", "787581234"), "207Q00000X"),
    ]
    doctor = RenderingProvider("1003000126", "SMITH", "ANN", "207Q00000X")
    payers = [Payer("12345", "ACME HEALTH"), Payer("99999", "FIRST HEALTH"), Payer("55555", "STATE MEDICAID")]
    subscribers = []
    for n in range(200):
        home = Address(f"{n + 1} ELM ST", "AUSTIN", "TX", "78701")
        subscribers.append((
            Subscriber(f"M{n:06d}", f"LAST{n}", f"FIRST{n}", date(1950 + n % 50, 1 + n % 12, 1 + n % 28),
                       "FM"[n % 2], home, group_number=f"G{n % 9}"),
            Patient(f"LAST{n}", f"CHILD{n}", date(2010 + n % 12, 1 + n % 12, 1 + n % 28), "MF"[n % 2], home, "19"),
        ))
    start = date(2026, 11, 2)
    claims = []
    for index in range(count):
        subscriber, child = subscribers[rng.randrange(len(subscribers))]
        day = start + timedelta(days=rng.randrange(25))
        lines = []
        for _ in range(rng.randint(1, 4)):
            code, fee = PROCEDURES[rng.randrange(len(PROCEDURES))]
            lines.append(ServiceLine(code, Decimal(fee), day, diagnosis_pointers=(1,)))
        secondary = index % 10 == 0
        other_payers: tuple[OtherPayer, ...] = ()
        if secondary:
            subscriber = dataclasses.replace(subscriber, responsibility="S")
            lines = [
                ServiceLine(line.procedure_code, line.charge, line.service_date, adjudications=(LineAdjudication(
                    "99999", (line.charge * Decimal("0.6")).quantize(Decimal("0.01")), line.procedure_code,
                    Decimal("1"), day + timedelta(days=10),
                    adjustments=(Adjustment("CO", "45", (line.charge * Decimal("0.4")).quantize(Decimal("0.01"))),),
                ),))
                for line in lines
            ]
            paid = sum(line.adjudications[0].paid for line in lines)
            other_payers = (OtherPayer(payers[1], Subscriber(f"P{index}", subscriber.last_name,
                                                             subscriber.first_name, group_number="PG1"), paid),)
        claims.append(Claim(
            claim_id=f"CLM{index:08d}", billing_provider=clinics[index % 2], subscriber=subscriber,
            payer=payers[0] if secondary else payers[index % 3], diagnosis_codes=tuple(rng.sample(DIAGNOSES, 2)),
            lines=tuple(lines), patient=child if index % 4 == 1 else None, rendering_provider=doctor,
            other_payers=other_payers,
        ))
    return claims


def timed(function, *args, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description="837P batch building benchmark")
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    claims, wall, cpu = timed(make_claims, args.claims)
    print(f"made {len(claims):,} claim dataclasses ({sum(len(c.lines) for c in claims):,} lines) "
          f"in {wall:.2f} s wall, {cpu:.2f} s CPU")
    envelope = Envelope("CLINIC1", "CLEARING", 1, 1, datetime(2026, 11, 27, 9, 30))
    submitter = Submitter("SUNRISE CLINIC", "SUB1", "BILLING OFFICE", "5125550100")
    receiver = Receiver("TEST CLEARINGHOUSE", "CH1")
    builds, reads = [], []
    text = ""
    for _ in range(args.repeat):
        text, wall, cpu = timed(build_837p, claims, submitter=submitter, receiver=receiver, envelope=envelope,
                                reference="BENCH1")
        builds.append((wall, cpu))
        batch, wall, cpu = timed(read_837p, text)
        reads.append((wall, cpu))
        if len(batch.claims) != len(claims):
            print(f"read {len(batch.claims)} claims of {len(claims)}", file=sys.stderr)
            return 1
    load = os.getloadavg()
    print(f"file: {len(text) / 1e6:.1f} MB, {text.count('~'):,} segments, {text.count('ST*837*'):,} transactions")
    for name, runs in (("build_837p", builds), ("read_837p", reads)):
        walls = [w for w, _ in runs]
        cpus = [c for _, c in runs]
        print(f"{name}: {len(claims):,} claims, median {statistics.median(walls):.2f} s wall "
              f"(min {min(walls):.2f}, max {max(walls):.2f}), median {statistics.median(cpus):.2f} s CPU; "
              f"{len(claims) / statistics.median(walls):,.0f} claims/s")
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
