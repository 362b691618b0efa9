"""Plausible mistakes for chapter 0, and the graded tests each must fail."""

WRONG = {
    # lenient like the official Python client: strips spaces and accepts "1K"
    "ch00_parse_quantity": '''
import re
from decimal import Decimal

def parse_quantity(text):
    text = text.strip()
    match = re.fullmatch(r"([+-]?[0-9.]+)([a-zA-Z]*)([+-]?[0-9]*)", text)
    if not match:
        raise ValueError(f"bad quantity {text!r}")
    number, suffix, exponent = match.groups()
    if suffix in ("e", "E") and exponent:
        return Decimal(number).scaleb(int(exponent))
    powers = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "K": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
    binary = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
    if suffix in binary:
        return Decimal(number) * 2 ** binary[suffix]
    return Decimal(number).scaleb(powers[suffix])
''',
    # truncates instead of rounding up: 0.0001 CPU becomes 0 millicores
    "ch00_cpu_millicores": '''
import math

def cpu_millicores(text):
    value = parse_quantity(text)
    if value < 0:
        raise ValueError("negative")
    return int(value * 1000)
''',
}

EXPECTED_FAILURES = {"ch00_test_parse_quantity_rejects_junk", "ch00_test_cpu_millicores"}
