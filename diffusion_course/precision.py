"""Which number format to compute in: fp32, or bf16 autocast where the machine does bf16 natively.

Measured, not assumed: bf16 autocast trained about 1.6x faster than fp32 on a CPU with native bf16
(AVX-512 BF16), but bf16 matmuls ran about 150x slower on an AVX2-only CPU. So ``"auto"`` asks the
machine. (fp16 is fine as *storage*: ``trace`` records in fp16.)
"""
from __future__ import annotations

from pathlib import Path

import torch


def cpu_flags() -> str:
    """The CPU's feature flags as /proc/cpuinfo lists them ("" where it cannot be read)."""
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def cpu_has_native_bf16(flags: str | None = None) -> bool:
    """True where the CPU has bf16 instructions (AVX512-BF16 or AMX), which make bf16 autocast pay."""
    flags = cpu_flags() if flags is None else flags
    return "avx512_bf16" in flags or "amx_bf16" in flags


def vector_units(flags: str | None = None) -> str:
    """The widest vector instructions the CPU has, in words ("AVX-512 with bf16", "AVX-512", "AVX2", or ""):
    two machines with the same name can differ here, and their seconds with it."""
    words = (cpu_flags() if flags is None else flags).split()
    if "avx512f" in words:
        return "AVX-512 with bf16" if cpu_has_native_bf16(" ".join(words)) else "AVX-512"
    return "AVX2" if "avx2" in words else ""


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``precision`` ("fp32", "bf16", "auto"), or None for plain fp32."""
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
        return torch.bfloat16 if cpu_has_native_bf16() else None
    raise ValueError(f"unknown precision {precision!r}; choose fp32, bf16 or auto")
