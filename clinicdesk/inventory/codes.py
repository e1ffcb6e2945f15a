"""Product codes on the box: NDC (medications), GTIN (barcodes) and CVX (vaccines), checked and normalised."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

# Labeler-product-package digit counts of the three 10-digit NDC formats, and where the zero goes to make 11 (5-4-2).
_NDC_PAD = {(4, 4, 2): 0, (5, 3, 2): 1, (5, 4, 1): 2}


def ndc_normalise(value: str, *, field: str = "ndc") -> str:
    """An NDC as 11 digits (5-4-2, no hyphens). Accepts 4-4-2, 5-3-2 and 5-4-1 with hyphens, 5-4-2 with or without
    them; a bare 10-digit NDC is refused because its format cannot be told."""
    text = (value or "").strip()
    if not text:
        return ""
    parts = text.split("-")
    if len(parts) == 1:
        if re.fullmatch(r"\d{11}", text):
            return text
        if re.fullmatch(r"\d{10}", text):
            raise ValidationError({field: f"NDC {text}: write a 10-digit NDC with its hyphens (4-4-2, 5-3-2 or 5-4-1)."})
        raise ValidationError({field: f"NDC {text}: an NDC is 10 digits in three hyphenated parts, or 11 digits."})
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValidationError({field: f"NDC {text}: an NDC has three parts of digits (labeler-product-package)."})
    shape = tuple(len(p) for p in parts)
    if shape == (5, 4, 2):
        return "".join(parts)
    if shape not in _NDC_PAD:
        raise ValidationError({field: f"NDC {text}: the format {'-'.join(map(str, shape))} is not 4-4-2, 5-3-2 or 5-4-1."})
    index = _NDC_PAD[shape]
    parts[index] = "0" + parts[index]
    return "".join(parts)


def ndc_display(ndc11: str) -> str:
    """The 11-digit NDC in its 5-4-2 hyphenated form."""
    return f"{ndc11[:5]}-{ndc11[5:9]}-{ndc11[9:]}" if len(ndc11) == 11 else ndc11


def gtin_check_digit(body: str) -> int:
    """The GS1 check digit of the digits before it (weights 3, 1, 3... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def gtin_normalise(value: str, *, field: str = "gtin") -> str:
    """A GTIN-8, -12, -13 or -14 (a scanner may add spaces) as 14 digits, its check digit verified."""
    text = re.sub(r"\s", "", value or "")
    if not text:
        return ""
    if not text.isdigit() or len(text) not in (8, 12, 13, 14):
        raise ValidationError({field: f"GTIN {text}: a GTIN is 8, 12, 13 or 14 digits."})
    if gtin_check_digit(text[:-1]) != int(text[-1]):
        raise ValidationError({field: f"GTIN {text}: the check digit is wrong (misread barcode?)."})
    return text.zfill(14)


def cvx_normalise(value: str, *, field: str = "cvx") -> str:
    """A CVX vaccine code: one to three digits, kept without leading zeros."""
    text = (value or "").strip()
    if not text:
        return ""
    if not re.fullmatch(r"\d{1,3}", text):
        raise ValidationError({field: f"CVX {text}: a CVX code is one to three digits."})
    return str(int(text))
