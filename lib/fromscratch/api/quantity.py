"""Kubernetes resource quantities: ``"500m"``, ``"1Gi"``, ``"2e3"``.

Models ``k8s.io/apimachinery/pkg/api/resource.ParseQuantity``.  The grammar,
from the Quantity documentation::

    <quantity>        ::= <signedNumber><suffix>
    <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
    <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
    <decimalSI>       ::= m | "" | k | M | G | T | P | E
    <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>
    <signedNumber>    ::= <number> | <sign><number>
    <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>

What apimachinery does beyond the grammar, and so does this module:

- ``n`` (nano) and ``u`` (micro) are accepted decimal suffixes too;
- an exponent is an integer (``1e1.5`` is rejected);
- values are kept to nano precision, rounding *up* in magnitude
  (``0.0000000001`` becomes ``1n``); binary-SI values saturate at 2^63-1;
- no white space anywhere (``" 1"`` and ``"1 "`` are errors).

Simplification: we return a :class:`decimal.Decimal` instead of a Quantity
object that remembers its format, and we do not re-serialise to canonical form.
The official Python client's ``kubernetes.utils.parse_quantity`` is more lenient
(it accepts ``"1K"`` and surrounding spaces); the API server is the authority.
"""

from __future__ import annotations

import decimal
import math
from decimal import Decimal

from fromscratch.exercises import pluggable

# suffix -> multiplier (binary SI) or power of ten (decimal SI)
BINARY_SI: dict[str, int] = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
DECIMAL_SI: dict[str, int] = {
    "n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18,
}
SUFFIX_CHARACTERS = set("eEinumkKMGTP")
DIGITS = set("0123456789")
NANO = Decimal("1e-9")
MAX_ALLOWED = Decimal(2**63 - 1)  # apimachinery's maxAllowed: the largest int64
MAX_EXPONENT = 10_000  # simplification: apimachinery wraps absurd exponents at int32; we refuse them

# Enough digits for any value up to 2^63 at nano precision, with room to spare.
_CONTEXT = decimal.Context(prec=60, Emax=99_999, Emin=-99_999)


class QuantityError(ValueError):
    """The text is not a Kubernetes quantity (the message says why)."""


def _split(text: str) -> tuple[str, str, str]:
    """Split ``text`` into (sign, number, suffix), or raise QuantityError."""
    if text == "":
        raise QuantityError("quantity is empty; expected a number such as '500m' or '1Gi'")
    sign = text[0] if text[0] in "+-" else ""
    position = len(sign)
    # the number: digits, optionally a '.' and more digits
    start = position
    while position < len(text) and text[position] in DIGITS:
        position += 1
    if position < len(text) and text[position] == ".":
        position += 1
        while position < len(text) and text[position] in DIGITS:
            position += 1
    number = text[start:position]
    suffix = text[position:]
    # subtle: the suffix is letters from a fixed set, then (for an exponent) a
    # signed integer; anything else — a space, a second '.', a '+' — is an error.
    letters = 0
    while letters < len(suffix) and suffix[letters] in SUFFIX_CHARACTERS:
        letters += 1
    if suffix and letters == 0:
        raise QuantityError(f"quantity {text!r} is malformed: unexpected {suffix!r} after the number")
    rest = suffix[letters:]
    if rest[:1] in ("+", "-"):
        rest = rest[1:]
    if rest and not set(rest) <= DIGITS:
        raise QuantityError(f"quantity {text!r} is malformed: unexpected {suffix!r} after the number")
    return sign, number, suffix


def _multiplier(suffix: str, text: str) -> Decimal:
    """The value one unit of ``suffix`` stands for."""
    if suffix in BINARY_SI:
        return Decimal(BINARY_SI[suffix])
    if suffix in DECIMAL_SI:
        return _CONTEXT.power(Decimal(10), DECIMAL_SI[suffix])
    if len(suffix) > 1 and suffix[0] in "eE":
        try:
            exponent = int(suffix[1:])
        except ValueError:
            raise QuantityError(f"quantity {text!r} has a malformed exponent {suffix!r}") from None
        if abs(exponent) > MAX_EXPONENT:
            raise QuantityError(f"quantity {text!r}: exponent beyond ±{MAX_EXPONENT} is not supported")
        return _CONTEXT.power(Decimal(10), exponent)
    raise QuantityError(
        f"quantity {text!r} has unknown suffix {suffix!r}; expected one of "
        "Ki Mi Gi Ti Pi Ei, n u m k M G T P E, or an exponent like e3"
    )


@pluggable("parse_quantity")
def parse_quantity(text: str) -> Decimal:
    """Parse a Kubernetes quantity into its exact value.

    >>> parse_quantity("500m"), parse_quantity("1Gi"), parse_quantity("2e3")
    (Decimal('0.5'), Decimal('1073741824'), Decimal('2000'))
    """
    if not isinstance(text, str):
        raise QuantityError(f"quantity must be a string, got {type(text).__name__}")
    sign, number, suffix = _split(text)
    # "." and "" as the number mean zero in apimachinery ("-." parses to 0)
    digits = number if number not in ("", ".") else "0"
    if digits.endswith("."):
        digits += "0"
    magnitude = _CONTEXT.multiply(Decimal(digits), _multiplier(suffix, text))
    # keep nano precision, rounding up in magnitude ("you asked for some, you get some")
    if magnitude.as_tuple().exponent < -9:  # type: ignore[operator]
        magnitude = magnitude.quantize(NANO, rounding=decimal.ROUND_UP, context=_CONTEXT)
    # subtle: apimachinery caps only binary-SI quantities ("9Ei"); "12E" stays 1.2e19
    if suffix in BINARY_SI and magnitude > MAX_ALLOWED:
        magnitude = MAX_ALLOWED
    value = -magnitude if sign == "-" else magnitude
    # tidy the representation: Decimal('2000'), not Decimal('2E+3') or Decimal('2000.000000000')
    if value == value.to_integral_value():
        return Decimal(int(value))
    return value.normalize(_CONTEXT)


def _non_negative(text: str, what: str) -> Decimal:
    value = parse_quantity(text)
    if value < 0:
        raise QuantityError(f"{what} quantity {text!r} is negative")
    return value


@pluggable("cpu_millicores")
def cpu_millicores(text: str) -> int:
    """CPU in millicores, rounded up like ``Quantity.MilliValue()``: ``"0.1"`` -> 100."""
    return math.ceil(_non_negative(text, "CPU") * 1000)


@pluggable("memory_bytes")
def memory_bytes(text: str) -> int:
    """Bytes, rounded up like ``Quantity.Value()``: ``"1Gi"`` -> 1073741824."""
    return math.ceil(_non_negative(text, "memory"))
