"""glibc malloc settings for the server process, which handles request bodies of up to megabytes.

By default glibc serves a block of 128 KiB or more with its own ``mmap`` (its threshold then grows
to the largest block freed) and gives the top of the heap back to the kernel once 256 KiB of it is
free. So each buffer of an S3 object's size (uvicorn's body chunks joined, the stored bytes, the
response) tends to land on fresh pages, and on this VM touching 1 MiB of fresh pages (256 page
faults) cost 0.4–0.8 ms: more than hashing it. A fixed ``mmap`` threshold of 4 MiB and a trim
threshold of 16 MiB keep such buffers in the heap, reused warm (a 1 MiB copy: 0.85 → 0.04 ms),
for at most 16 MiB of freed memory kept per malloc arena. Bodies above 4 MiB still get their own
mappings. Measured in bench/bench_s3.py; elsewhere than glibc this does nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging

logger = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1  # from glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 4 * 1024 * 1024
TRIM_THRESHOLD_BYTES = 16 * 1024 * 1024


def keep_large_buffers_warm() -> bool:
    """Apply the settings above to this process; True when glibc took them."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    applied = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1
    if not applied:
        logger.info("malloc did not take the large-buffer settings; running with its defaults")
    return applied
