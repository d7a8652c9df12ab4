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


def world_size() -> int:
    """Processes in the job as ``torchrun`` announces them (1 outside torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


@contextlib.contextmanager
def process_group(device: str, *, timeout_minutes: float = 30.0) -> Iterator[int]:
    """Join the torchrun process group when ``WORLD_SIZE`` > 1 and yield this process's rank (0 otherwise).

    On leaving, garbage is collected before ``destroy_process_group`` (a gloo teardown can deadlock on live DDP
    reducers), and all ranks wait for each other unless an error is on its way out.
    """
    if world_size() <= 1:
        yield 0
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
