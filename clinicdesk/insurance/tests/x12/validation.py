"""Validation of the interchanges we write with pyx12, the reference X12 validator."""

from __future__ import annotations

import io
import logging

import pyx12.error_handler
import pyx12.params
import pyx12.x12n_document


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def pyx12_errors(text: str, *, with_ack: bool = True) -> list[str]:
    """The errors pyx12 finds in an interchange; an empty list when it is valid.

    835s are checked without the acknowledgement output (fd_997=None): pyx12 cannot build one for them.
    """
    logger = logging.getLogger("pyx12")
    handler = _Collect()
    logger.addHandler(handler)
    try:
        params = pyx12.params.params()
        ack = io.StringIO() if with_ack else None
        valid = pyx12.x12n_document.x12n_document(params, io.StringIO(text), ack, None)
    finally:
        logger.removeHandler(handler)
    if valid and not handler.messages:
        return []
    return handler.messages or ["pyx12 says the interchange is not valid"]


def pyx12_has_map(version: str, functional_id: str) -> bool:
    """Whether this pyx12 carries the implementation guide's map (4.0.0 has none for 005010X279A1, the 270/271)."""
    import pyx12.map_index

    return pyx12.map_index.map_index().get_filename("00501", version, functional_id) is not None
