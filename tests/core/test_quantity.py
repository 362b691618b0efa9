"""The quantity parser against apimachinery's own test table (resource/quantity_test.go)."""

from decimal import Decimal

import pytest
from kubernetes.utils.quantity import parse_quantity as official_client_parse

from fromscratch.api.quantity import QuantityError, cpu_millicores, memory_bytes, parse_quantity

# (input, exact value) — from TestQuantityParse in k8s.io/apimachinery
APIMACHINERY_VALID = [
    ("0", 0), ("0n", 0), ("0u", 0), ("0m", 0), ("0Ki", 0), ("0k", 0), ("0Mi", 0), ("0M", 0),
    ("1", 1), ("1Ki", 1024), ("8Ki", 8 * 1024), ("7Mi", 7 * 2**20), ("6Gi", 6 * 2**30),
    ("5Ti", 5 * 2**40), ("4Pi", 4 * 2**50), ("3Ei", 3 * 2**60), ("100Ti", 100 * 2**40),
    ("5n", Decimal("5e-9")), ("4u", Decimal("4e-6")), ("3m", Decimal("0.003")), ("8k", 8000),
    ("50k", 50000), ("7M", 7 * 10**6), ("6G", 6 * 10**9), ("5T", 5 * 10**12), ("40T", 4 * 10**13),
    ("2P", 2 * 10**15), ("1E", 10**18),
    ("1E-3", Decimal("0.001")), ("1e3", 1000), ("1E6", 10**6), ("1e9", 10**9), ("1E18", 10**18),
    ("100.035k", 100035), ("0.001", Decimal("0.001")), ("0.0005k", Decimal("0.5")),
    ("0.5e0", Decimal("0.5")), ("0.5e-1", Decimal("0.05")), ("0.5e-2", Decimal("0.005")),
    ("10.035M", 10035000), ("1.2e3", 1200), ("1.3E+6", 1300000), ("1.40e9", 14 * 10**8),
    ("1.53E12", 153 * 10**10), ("9.01", Decimal("9.01")), ("8.1k", 8100), ("7.123456M", 7123456),
    ("2.5P", 25 * 10**14), ("1.01E", 101 * 10**16),
    # things that saturate or round (to nano precision, up in magnitude)
    ("3.001n", Decimal("4e-9")), ("1.1E-9", Decimal("2e-9")), ("0.0000000001", Decimal("1e-9")),
    ("0.9n", Decimal("1e-9")), ("0.00000012345", Decimal("124e-9")),
    ("9Ei", 2**63 - 1), ("9223372036854775807Ki", 2**63 - 1), ("12E", 12 * 10**18),
    # fractional binary, and "things written by trolls"
    ("100.035Ki", Decimal("102435.84")), ("0.5Mi", 512 * 1024), ("0.05Gi", Decimal("53687091.2")),
    ("0.000000000001Ki", Decimal("2e-9")), (".001", Decimal("0.001")), (".0001k", Decimal("0.1")),
    ("1.", 1), ("1.G", 10**9),
]

# from the same test's `invalid` list, plus the grammar's obvious junk
APIMACHINERY_INVALID = ["1.1.M", "1+1.0M", "0.1mi", "0.1am", "aoeu", ".5i", "1i", "-3.01i",
                        "-3.01e-", " 1", "1 ", "", "1K", "1ki", "1e", "1e1.5", "--1", "1Gi "]


@pytest.mark.parametrize(("text", "expected"), APIMACHINERY_VALID)
def test_parses_like_apimachinery(text, expected):
    # every row of apimachinery's table, and its negative and explicitly positive twins
    assert parse_quantity(text) == expected
    assert parse_quantity("-" + text) == -Decimal(expected)
    assert parse_quantity("+" + text) == expected


@pytest.mark.parametrize("text", APIMACHINERY_INVALID)
def test_rejects_what_apimachinery_rejects(text):
    # a malformed quantity is a QuantityError (a ValueError) that quotes the input
    with pytest.raises(QuantityError) as error:
        parse_quantity(text)
    assert repr(text) in str(error.value) or text == ""


@pytest.mark.parametrize("text", ["500m", "1Gi", "2e3", "1.5", "100Ki", "1M", "1E", "0.5Mi", "7.123456M"])
def test_agrees_with_the_official_python_client_on_well_formed_input(text):
    # where both accept the input, both give the same exact value
    assert parse_quantity(text) == official_client_parse(text)


def test_is_stricter_than_the_official_python_client():
    # the client accepts "1K" and leading spaces; the API server (and we) do not
    assert official_client_parse("1K") == 1000
    for lenient in ("1K", " 1"):
        with pytest.raises(QuantityError):
            parse_quantity(lenient)


def test_non_string_input_is_a_clear_error():
    with pytest.raises(QuantityError, match="must be a string"):
        parse_quantity(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "millicores"), [
    ("500m", 500), ("1", 1000), ("0.1", 100), ("100m", 100), ("2.5", 2500),
    ("0.0001", 1), ("1n", 1), ("0", 0), ("1e-3", 1),
])
def test_cpu_millicores_rounds_up_like_milli_value(text, millicores):
    assert cpu_millicores(text) == millicores


@pytest.mark.parametrize(("text", "size"), [
    ("1Gi", 2**30), ("128Mi", 128 * 2**20), ("1G", 10**9), ("100m", 1), ("1.5Ki", 1536), ("0", 0),
])
def test_memory_bytes_rounds_up_like_value(text, size):
    assert memory_bytes(text) == size


def test_negative_resources_are_rejected():
    with pytest.raises(QuantityError, match="negative"):
        cpu_millicores("-1")
    with pytest.raises(QuantityError, match="negative"):
        memory_bytes("-1Gi")
