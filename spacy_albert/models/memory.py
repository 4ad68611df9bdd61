"""Give memory freed by a long document back to the operating system.

Tokenizing a long document creates and frees millions of small objects (the tokenizer's
per-window encodings, piece strings). glibc keeps the freed heap pages for reuse by small
allocations, but the large arrays allocated next (encoder outputs, the heads' features)
are mmap-ed afresh, so that memory stays resident for nothing: ~200 MB on a
1M-character document. `malloc_trim` returns it.
"""

import ctypes
import ctypes.util
from functools import cache
from typing import Callable, Optional


@cache
def _malloc_trim() -> Optional[Callable[[int], int]]:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        return libc.malloc_trim if libc is not None else None
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows)
        return None


def release_freed_heap() -> bool:
    """Return freed heap pages to the OS where the C library can (glibc).

    RETURNS (bool): Whether the C library offers `malloc_trim`.
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
