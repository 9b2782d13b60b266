"""What this CPU can do, and which build of the default model it should run.

Why it matters: ONNX Runtime picks its integer kernels by instruction set (AVX2's
``vpmaddubsw``, AVX-512 VNNI's ``vpdpbusd``, AMX tiles, ARM's ``sdot``), and those kernels
agree only when no intermediate saturates. The ``r7`` recipe (``recipes.py``) keeps every
kernel exact, so it is chosen wherever there are integer dot products; without them (old
x86 without AVX2, ARM without dot-product) int8 is slower than float and ``fp32`` is used.
The instruction sets are printed by the benchmarks and recorded with each cached build.
``EMBEDSPACE_RECIPE=r7|fp32`` overrides the choice (e.g. to run the shipped int8 graph on
a CPU that would pick fp32, whose graph is built from a package the wheel does not need).
"""

from __future__ import annotations

import os
import platform
from functools import lru_cache
from pathlib import Path

from ..errors import InvalidInputError

#: /proc/cpuinfo flags we report, in the order a reader compares CPUs by.
X86_FLAGS = ("avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile")
#: ARM: "asimddp" = the dot-product extension (sdot/udot), "i8mm" = int8 matrix multiply.
ARM_FLAGS = ("asimd", "asimddp", "i8mm", "bf16")
#: The default model's builds: ``r7`` ships inside the wheel, ``fp32`` is built on demand.
RECIPES = ("r7", "fp32")


#: getauxval entries (elf.h) and the Linux aarch64 bits in them (asm/hwcap.h).
_AT_HWCAP, _AT_HWCAP2 = 16, 26
_ARM_HWCAPS = (
    (_AT_HWCAP, 1, "asimd"),
    (_AT_HWCAP, 20, "asimddp"),
    (_AT_HWCAP2, 13, "i8mm"),
    (_AT_HWCAP2, 14, "bf16"),
)


@lru_cache(maxsize=1)
def instruction_sets() -> tuple[str, ...]:
    """The vector instruction sets of this CPU that matter for inference, e.g.
    ``("avx2", "avx512f", "avx512_vnni")``; empty where the OS does not tell."""
    machine = platform.machine().lower()
    words = _cpuinfo_flags()
    if machine in ("arm64", "aarch64"):
        words |= _arm_hwcaps()
        if not words and platform.system() == "Darwin":
            words = {"asimd", "asimddp"}  # every Apple Silicon core has the dot product
    known = X86_FLAGS if machine in ("x86_64", "amd64") else ARM_FLAGS
    return tuple(flag for flag in known if flag in words)


def _cpuinfo_flags() -> set[str]:
    """The ``flags`` (x86) or ``Features`` (ARM) words of /proc/cpuinfo."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return set()
    words: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            words.update(value.split())
    return words


def _arm_hwcaps() -> set[str]:
    """The ARM features the kernel hands this process in its auxiliary vector. Why not
    only /proc/cpuinfo: containers and sandboxes mask or fake that file (under qemu user
    mode it is the host's), while ``getauxval`` is what ONNX Runtime itself believes."""
    if platform.system() != "Linux":
        return set()
    try:
        import ctypes

        getauxval = ctypes.CDLL(None).getauxval
    except (OSError, AttributeError):
        return set()
    getauxval.restype = ctypes.c_ulong
    getauxval.argtypes = [ctypes.c_ulong]
    return {name for entry, bit, name in _ARM_HWCAPS if getauxval(entry) >> bit & 1}


def choose_recipe(isa: tuple[str, ...] | None = None) -> str:
    """``"r7"`` (row-scaled int8, see ``recipes.py``) where the CPU has integer dot
    products, else ``"fp32"``. The same recipe on every such CPU is deliberate: its
    integer sums are exact on each, so two machines that share a space agree.

    With ``isa`` omitted (this CPU), ``$EMBEDSPACE_RECIPE`` wins when set."""
    if isa is None:
        forced = os.environ.get("EMBEDSPACE_RECIPE", "").strip()
        if forced:
            if forced not in RECIPES:
                raise InvalidInputError(
                    f"EMBEDSPACE_RECIPE must be one of {RECIPES}, not {forced!r}"
                )
            return forced
        isa = instruction_sets()
    return "r7" if {"avx2", "asimddp"} & set(isa) else "fp32"


def describe() -> str:
    """One line for benchmark headers: machine, instruction sets and chosen recipe."""
    isa = instruction_sets()
    chosen = choose_recipe()  # $EMBEDSPACE_RECIPE included: the header names what ran
    return f"{platform.machine()} [{' '.join(isa) or 'no SIMD flags found'}] -> recipe {chosen}"
