"""Damaged files: whatever is cut, doubled or changed, a reader answers with data or an X12Error, nothing else."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from clinicdesk.insurance.tests.x12.builders import (
    RECEIVER,
    SUBMITTER,
    envelope,
    office_visit,
    remittance,
    secondary_claim,
)
from clinicdesk.insurance.tests.x12.test_acknowledgements import claim_acknowledgement, partly_rejected
from clinicdesk.insurance.tests.x12.test_eligibility import inquiry, response
from clinicdesk.insurance.x12.segments import X12Error
from clinicdesk.insurance.x12.x270 import InquiryPerson, build_270, read_270
from clinicdesk.insurance.x12.x271 import read_271, write_271
from clinicdesk.insurance.x12.x277ca import read_277ca, write_277ca
from clinicdesk.insurance.x12.x835 import read_835, write_835
from clinicdesk.insurance.x12.x837p import build_837p, read_837p
from clinicdesk.insurance.x12.x999 import read_999, write_999

FILES = {
    "835": (write_835([remittance()], envelope=envelope()), read_835),
    "837": (build_837p([office_visit("C1"), secondary_claim("C2")], submitter=SUBMITTER, receiver=RECEIVER,
                       envelope=envelope(), reference="B1"), read_837p),
    "271": (write_271([response()], envelope=envelope(), originator_id="1741234567"), read_271),
    "270": (build_270([inquiry("T1"), inquiry("T2", dependent=InquiryPerson("DOE", "TIM"))], envelope=envelope(),
                      originator_id="1741234567"), read_270),
    "999": (write_999([partly_rejected()], envelope=envelope()), read_999),
    "277": (write_277ca([claim_acknowledgement()], envelope=envelope()), read_277ca),
}


@st.composite
def damaged(draw):
    kind = draw(st.sampled_from(sorted(FILES)))
    text, reader = FILES[kind]
    segments = text.split("~\n")[:-1]
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(segments) - 1))
        action = draw(st.sampled_from(["drop", "double", "element", "cut"]))
        if action == "drop":
            del segments[index]
        elif action == "double":
            segments.insert(index, segments[index])
        elif action == "element":
            elements = segments[index].split("*")
            position = draw(st.integers(0, len(elements) - 1))
            elements[position] = draw(st.text(alphabet="AZ09:^-. ", max_size=6))
            segments[index] = "*".join(elements)
        else:
            segments = segments[:index]
        if not segments:
            break
    if draw(st.booleans()):
        segments = recount(segments)
    return reader, "~\n".join(segments) + "~\n"


def recount(segments: list[str]) -> list[str]:
    """SE01 made right again, so that the damage reaches the transaction's reader and not only the envelope."""
    start = None
    fixed = []
    for index, segment in enumerate(segments):
        if segment.startswith("ST*"):
            start = index
        elif segment.startswith("SE*") and start is not None:
            elements = segment.split("*")
            if len(elements) > 1:
                elements[1] = str(index - start + 1)
            segment = "*".join(elements)
        fixed.append(segment)
    return fixed


@settings(max_examples=300, deadline=None)
@given(damaged())
def test_a_damaged_file_reads_or_fails_with_an_x12_error(case):
    reader, text = case
    with contextlib.suppress(X12Error):
        reader(text)
