"""BLAS threading for facegraft's own frame pipelines."""

from __future__ import annotations

from threadpoolctl import threadpool_limits


def one_blas_thread() -> threadpool_limits:
    """Limit the loaded BLAS libraries (numpy's OpenBLAS) to one thread, process-wide, until the
    returned limiter's restore_original_limits() is called or its `with` block ends.

    OpenBLAS threads busy-wait after every call. The few small BLAS calls a frame makes (colour
    statistics, model fits) gain nothing from a second thread, and the spinning takes the CPU that
    the pipeline's own threads need: a live swap at 640x480 used 64 ms of CPU per frame with two
    BLAS threads and 41 with one.
    """
    return threadpool_limits(limits=1, user_api="blas")
