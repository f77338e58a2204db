"""Leaving a spawned gloo worker without torch's teardown deadlock.

With torch 2.13, freeing a DDP model after the worker function returns runs
``~ProcessGroupGloo`` with the GIL held; it joins gloo's worker threads, and a
thread still destroying a finished ``AsyncWork`` waits for the GIL to drop a
Python object: the process hangs forever (py-spy: ``std::thread::join`` under
``Reducer::~Reducer`` in the main thread, ``gil_scoped_acquire`` under
``AsyncWork::~AsyncWork`` in ``ProcessGroupGloo::runLoop``). Spawned test
workers therefore end with :func:`run_and_exit`: the training function returns
its DDP model so that nothing frees it, the ranks meet at a barrier,
the process group is destroyed, and the process leaves with ``os._exit``
before any destructor runs; an exception prints its traceback and exits 1, so
``mp.spawn`` still reports the failure.
"""
import os
import sys
import time
import traceback


def gloo_worker(rank: int, world: int, init_file: str, fn, *args) -> None:
    """An ``mp.spawn`` target: join a gloo group, run ``fn(rank, world, *args)``, exit.

    A file rendezvous leaves no TCP port that another process could take
    meanwhile. ``fn`` returns its DDP model (see :func:`run_and_exit`).
    """
    import torch.distributed as dist
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=world)
    run_and_exit(fn, rank, world, *args)


def run_and_exit(fn, *args) -> None:
    import torch.distributed as dist
    code = 0
    try:
        keep = fn(*args)   # noqa: F841 - fn returns its DDP model: never freed here
        dist.barrier()
        time.sleep(0.2)   # let gloo's threads finish with the barrier's work
        dist.destroy_process_group()
    except BaseException:  # noqa: BLE001 - reported below, then the process ends
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
