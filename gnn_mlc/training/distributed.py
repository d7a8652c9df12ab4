"""Joining a ``torchrun`` process group for data-parallel training (gloo on CPU, nccl on CUDA).

``torchrun --nproc_per_node N gnn-mlc train ...`` starts N processes with ``WORLD_SIZE``, ``RANK`` and
``LOCAL_RANK`` set; :func:`process_group` joins them, and :func:`gnn_mlc.training.train_model` then trains with
``DistributedDataParallel``. Every rank reads the data and builds the same validation split, scaler and graph
(they are seeded); each trains on its share of every batch; rank 0 writes the model directory.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator
from datetime import timedelta

import torch
import torch.distributed as dist

from gnn_mlc._torch import resolve_device


def launched_by_torchrun() -> bool:
    """Whether ``torchrun`` started this process (it sets ``WORLD_SIZE`` and ``RANK``), even as a job of one."""
    return "WORLD_SIZE" in os.environ and "RANK" in os.environ


@contextlib.contextmanager
def process_group(device: str, *, timeout_minutes: float = 30.0) -> Iterator[int]:
    """Join the torchrun process group (a job of one process too: the same DistributedDataParallel path, on one
    GPU with nccl) and yield this process's rank; outside torchrun, yield 0 and join nothing.

    On leaving, garbage is collected before ``destroy_process_group`` (a gloo teardown can deadlock on live DDP
    reducers), and all ranks wait for each other unless an error is on its way out.
    """
    if not launched_by_torchrun():
        yield 0
        return
    if dist.is_initialized():  # a group someone else joined (Ray Train, a scheduler): train in it, leave it open
        yield dist.get_rank()
        return
    on_cuda = resolve_device(device).type == "cuda"
    if on_cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl" if on_cuda else "gloo", timeout=timedelta(minutes=timeout_minutes))
    failed = False
    try:
        yield dist.get_rank()
    except BaseException:
        failed = True
        raise
    finally:
        gc.collect()
        if not failed:
            dist.barrier()
        dist.destroy_process_group()
