# %% [markdown]
# # Exercises 0 — Kubernetes resource quantities
#
# Every Pod in Kubernetes says how much CPU and memory it needs:
#
# ```yaml
# resources:
#   requests: {cpu: "250m", memory: "64Mi"}
#   limits:   {cpu: "1",    memory: "1Gi"}
# ```
#
# These strings are **quantities**. The scheduler adds them up to decide where a Pod fits
# (chapter 8), the kubelet turns them into cgroup limits (chapter 2) and the autoscaler compares
# them with measured usage (chapter 10) — all of which will call the parser you write here.
#
# **You will write:** `parse_quantity`, `cpu_millicores` and `memory_bytes`.
# **The reference** is `fromscratch/api/quantity.py` — try the exercises before reading it.

# %%
import pytest

from fromscratch import exercises, host

host.show_mode()

# %% [markdown]
# ## The grammar
#
# From the Kubernetes API reference (*Quantity*):
#
# ```
# <quantity>        ::= <signedNumber><suffix>
# <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
# <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei           (powers of 1024)
# <decimalSI>       ::= m | "" | k | M | G | T | P | E       (powers of 1000; m is 1/1000)
# <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>
# <signedNumber>    ::= <number> | <sign><number>
# <sign>            ::= "+" | "-"
# <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
# ```
#
# Three details the API server enforces, and so will your parser:
#
# 1. It also accepts the decimal suffixes `n` (10⁻⁹) and `u` (10⁻⁶).
# 2. An exponent is a whole number: `1e3` and `1E-3` are fine, `1e1.5` is not. Careful:
#    `1E` on its own is **1 exa** (10¹⁸), while `1E3` is 1000.
# 3. No white space anywhere, and suffixes are case-sensitive: `1K` and `1ki` are errors.

# %% [markdown]
# ## Exercise 1 — `parse_quantity` (6 points)
#
# Return the exact value as a `decimal.Decimal` (a float cannot hold `0.1` exactly). Anything
# that does not match the grammar must raise `ValueError` with a message that names the
# problem. Tip: a regular expression with one group per part of the grammar keeps this short.

# %% nbgrader={"grade_id": "ch00_parse_quantity", "solution": true}
import re
from decimal import Decimal


def parse_quantity(text: str) -> Decimal:
    """Parse a Kubernetes quantity such as '500m', '1Gi' or '2e3' into its exact value."""
    ### BEGIN SOLUTION
    binary = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
    decimal_powers = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12,
                      "P": 15, "E": 18}
    match = re.fullmatch(r"([+-]?)(\d+\.?\d*|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|[numkMGTPE]?)",
                         text)
    if match is None:
        raise ValueError(f"{text!r} is not a Kubernetes quantity")
    sign, number, suffix = match.groups()
    value = Decimal(number)
    if suffix in binary:
        value *= binary[suffix]
    elif suffix in decimal_powers:
        value = value.scaleb(decimal_powers[suffix])
    else:  # an exponent such as e3 or E-3
        value = value.scaleb(int(suffix[1:]))
    return -value if sign == "-" else value
    ### END SOLUTION


# %% [markdown]
# The first test checks the six examples from the chapter introduction. It matters because
# every later chapter feeds Pod specs through this function.

# %% nbgrader={"grade_id": "ch00_test_parse_quantity_examples", "grade": true, "points": 2}
from decimal import Decimal

with exercises.checking(parse_quantity):
    assert parse_quantity("500m") == Decimal("0.5")
    assert parse_quantity("1Gi") == 1024**3
    assert parse_quantity("2e3") == 2000
    assert parse_quantity("1.5") == Decimal("1.5")
    assert parse_quantity("100Ki") == 102400
    assert parse_quantity("1M") == 1_000_000
    assert isinstance(parse_quantity("1.5"), Decimal), "return a Decimal, not a float"
    assert parse_quantity("0.1") + parse_quantity("0.2") == Decimal("0.3")  # exact, unlike floats
    ### BEGIN HIDDEN TESTS
    assert parse_quantity("0") == 0
    assert parse_quantity("8Ki") == 8 * 1024
    assert parse_quantity("3Ei") == 3 * 2**60
    assert parse_quantity("5n") == Decimal("5e-9")
    assert parse_quantity("4u") == Decimal("4e-6")
    assert parse_quantity("50k") == 50_000
    assert parse_quantity("2.5P") == Decimal("2.5e15")
    assert parse_quantity("0.5Mi") == 512 * 1024
    ### END HIDDEN TESTS

# %% [markdown]
# The second test is about the grammar's corners: signs, numbers without a leading or trailing
# digit, exponents, and the `E` that is sometimes a suffix and sometimes an exponent.

# %% nbgrader={"grade_id": "ch00_test_parse_quantity_grammar", "grade": true, "points": 2}
with exercises.checking(parse_quantity):
    assert parse_quantity("1e-3") == Decimal("0.001")
    assert parse_quantity(".5") == Decimal("0.5")
    assert parse_quantity("-1") == -1
    ### BEGIN HIDDEN TESTS
    assert parse_quantity("1E") == 10**18
    assert parse_quantity("1E3") == 1000
    assert parse_quantity("1.3E+6") == 1_300_000
    assert parse_quantity("5.") == 5
    assert parse_quantity("+1") == 1
    assert parse_quantity("-1.5Gi") == -1.5 * 2**30
    assert parse_quantity("100.035k") == Decimal("100035")
    assert parse_quantity("0.5e-2") == Decimal("0.005")
    assert parse_quantity("1.G") == 10**9
    ### END HIDDEN TESTS

# %% [markdown]
# The third test feeds in junk. A parser that silently accepts `"1K"` would let a typo in a Pod
# spec through; the error message should say what was wrong.

# %% nbgrader={"grade_id": "ch00_test_parse_quantity_rejects_junk", "grade": true, "points": 2}
with exercises.checking(parse_quantity):
    for junk in ["", "abc", "1K", "1 Gi"]:
        with pytest.raises(ValueError):
            parse_quantity(junk)
    ### BEGIN HIDDEN TESTS
    for junk in ["1ki", "1e", "1e1.5", "--1", "1.2.3", " 1", "1 ", "0.1mi", "Ki", "1Gi ",
                 "1.1.M", "1+1.0M", ".", "+", "1e3k", "1i", "0.1am", "1KI"]:
        with pytest.raises(ValueError):
            parse_quantity(junk)
    ### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 2 — `cpu_millicores` (2 points)
#
# Container runtimes and the scheduler count CPU in **millicores**: `"250m"` is 250, `"1"` is
# 1000. Kubernetes rounds *up* to a whole millicore (`Quantity.MilliValue()`), so the tiny
# `"0.0001"` becomes 1, never 0. A negative amount of CPU makes no sense: raise `ValueError`.
# Use your `parse_quantity`.

# %% nbgrader={"grade_id": "ch00_cpu_millicores", "solution": true}
import math


def cpu_millicores(text: str) -> int:
    """CPU quantity -> whole millicores, rounded up."""
    ### BEGIN SOLUTION
    value = parse_quantity(text)
    if value < 0:
        raise ValueError(f"CPU quantity {text!r} is negative")
    return math.ceil(value * 1000)
    ### END SOLUTION


# %% nbgrader={"grade_id": "ch00_test_cpu_millicores", "grade": true, "points": 2}
with exercises.checking(cpu_millicores):
    assert cpu_millicores("500m") == 500
    assert cpu_millicores("1") == 1000
    assert cpu_millicores("0.1") == 100
    assert isinstance(cpu_millicores("2"), int)
    ### BEGIN HIDDEN TESTS
    assert cpu_millicores("2.5") == 2500
    assert cpu_millicores("0.0001") == 1
    assert cpu_millicores("1e-3") == 1
    assert cpu_millicores("1.0005") == 1001
    assert cpu_millicores("0") == 0
    with pytest.raises(ValueError):
        cpu_millicores("-100m")
    with pytest.raises(ValueError):
        cpu_millicores("lots")
    ### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 3 — `memory_bytes` (2 points)
#
# Memory is counted in whole bytes, rounded up (`Quantity.Value()`). Watch out for a classic
# mistake in real Pod specs: `memory: 100m` means one tenth of a **byte** (rounded up to 1),
# not 100 megabytes. Negative amounts raise `ValueError`.

# %% nbgrader={"grade_id": "ch00_memory_bytes", "solution": true}
def memory_bytes(text: str) -> int:
    """Memory quantity -> whole bytes, rounded up."""
    ### BEGIN SOLUTION
    value = parse_quantity(text)
    if value < 0:
        raise ValueError(f"memory quantity {text!r} is negative")
    return math.ceil(value)
    ### END SOLUTION


# %% nbgrader={"grade_id": "ch00_test_memory_bytes", "grade": true, "points": 2}
with exercises.checking(memory_bytes):
    assert memory_bytes("1Gi") == 1073741824
    assert memory_bytes("128Mi") == 128 * 2**20
    assert memory_bytes("1G") == 10**9
    ### BEGIN HIDDEN TESTS
    assert memory_bytes("1.5Ki") == 1536
    assert memory_bytes("100m") == 1
    assert memory_bytes("0.5") == 1
    assert memory_bytes("1e3") == 1000
    with pytest.raises(ValueError):
        memory_bytes("-1Gi")
    ### END HIDDEN TESTS

# %% [markdown]
# ## Your parser, inside the system
#
# Plug your three functions into the library. Below, the scheduler's question — *does this Pod
# fit on this node?* — is answered with the library's quantity functions, which now run your code.

# %%
from fromscratch.api import quantity

for mine in (parse_quantity, cpu_millicores, memory_bytes):
    exercises.use(mine)

node = {"cpu": "2", "memory": "4Gi"}
pods = [{"cpu": "500m", "memory": "1Gi"}, {"cpu": "750m", "memory": "1536Mi"},
        {"cpu": "1", "memory": "512Mi"}]

used_cpu, used_memory = 0, 0
for number, pod in enumerate(pods, 1):
    cpu, memory = quantity.cpu_millicores(pod["cpu"]), quantity.memory_bytes(pod["memory"])
    fits = (used_cpu + cpu <= quantity.cpu_millicores(node["cpu"])
            and used_memory + memory <= quantity.memory_bytes(node["memory"]))
    if fits:
        used_cpu, used_memory = used_cpu + cpu, used_memory + memory
    print(f"pod {number}: {cpu:>5}m CPU, {memory / 2**20:>6.0f} MiB -> {'fits' if fits else 'does NOT fit'}")
print(f"node: {used_cpu}m of {quantity.cpu_millicores(node['cpu'])}m CPU used")
print("calls to your parse_quantity:", exercises.plug_point("parse_quantity").calls_to_learner)

# %% [markdown]
# ## Summary and going further
#
# You wrote the parser behind every `resources:` block in Kubernetes. The real one is
# `k8s.io/apimachinery/pkg/api/resource` (`quantity.go`); it also keeps values to nano
# precision (rounding up: `0.0000000001` becomes `1n`), saturates at 2⁶³−1, and re-serialises
# each quantity in *canonical form* (`1.5` is stored as `1500m`, `1024Mi` as `1Gi`). The official
# Python client's `kubernetes.utils.parse_quantity` is more lenient than the server (it accepts
# `1K`) — the API server is the authority.
#
# **Next:** chapter 1, [Namespaces](../01-namespaces/) — a process that sees its own world.
