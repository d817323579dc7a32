"""Where submissions are graded: worker processes on this machine, or any Dask cluster.

One code path for both. ``course grade --workers N`` starts a Dask
``LocalCluster`` of N single-threaded worker processes here;
``--scheduler ADDRESS`` sends the same tasks to a running Dask scheduler
(``dask scheduler`` with ``dask worker`` processes, dask-jobqueue on Slurm or
PBS, Dask on Kubernetes: docs/grading_at_scale.md). A worker runs one
submission at a time: its sandbox and its judge are child processes of the
worker, so the sandbox applies on every worker, and a worker without
bubblewrap refuses the task as ``course grade`` does.

Workers only return results. The client (``course grade``) stores each one as
it arrives and is the only writer of the class folder and its gradebook.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence

# What one worker needs at its peak: a sandboxed kernel (~1.4 GB for 02) and its judge (~1.2 GB).
MEMORY_PER_WORKER_MB = 3000


def default_workers() -> int:
    """As many workers as this machine has cores, fewer where memory would not hold them."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        import psutil

        by_memory = int(psutil.virtual_memory().available / (MEMORY_PER_WORKER_MB << 20))
    except Exception:  # psutil missing or unreadable /proc: trust the core count
        by_memory = cores
    return max(1, min(cores, by_memory))


def threads_per_worker(workers: int) -> int | None:
    """TensorFlow threads for each submission when ``workers`` share this machine's cores; None: TensorFlow's
    own default (one worker on the whole machine)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return None if workers <= 1 else max(1, cores // workers)


@contextlib.contextmanager
def client(workers: int = 1, scheduler: str | None = None) -> Iterator:
    """A Dask client: on ``scheduler`` when given, else on a ``LocalCluster`` of ``workers`` processes."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler, timeout="60s") as connected:
            yield connected
        return
    # Single-threaded workers (one submission each); its web pages on a free port; no memory policing of the worker
    # process (the sandbox and the judge carry their own caps).
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                      memory_limit=0, silence_logs=logging.ERROR) as cluster, Client(cluster) as connected:
        yield connected


def run(function: Callable[[dict], dict], tasks: Sequence[dict], on_result: Callable[[dict, dict], None], *,
        workers: int = 1, scheduler: str | None = None, failed: Callable[[dict, BaseException], dict]) -> None:
    """Call ``function(task)`` for every task on the pool; ``on_result(task, result)`` here as each finishes.

    A task whose worker raised or died (Dask retries a task whose worker died,
    then gives up) gets ``failed(task, error)`` as its result: every task
    gets exactly one call of ``on_result``.
    """
    if not tasks:
        return
    from distributed import as_completed

    with client(workers, scheduler) as connected:
        # Each task runs once per submission: pure=False, so identical payloads are still separate tasks.
        futures = {connected.submit(function, task, pure=False, retries=0): task for task in tasks}
        for future in as_completed(futures):
            task = futures[future]
            try:
                result = future.result()
            except Exception as error:  # the task raised, or its worker died
                result = failed(task, error)
            on_result(task, result)
