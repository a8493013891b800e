"""Data-parallel training with torch.distributed (launched by ``torchrun``).

Gradients are averaged with one all-reduce per optimizer step (as in stylegan2-ada-pytorch,
which avoids DDP because of R1's double backward). Decisions that change control flow
(skip a bad step, stop for a time budget) are agreed by all ranks, and every collective
has a timeout, so no rank waits forever on another.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup(device: str = "auto") -> DistInfo:
    """Initialise the process group when launched with ``torchrun`` (WORLD_SIZE > 1)."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(device).type
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(device=torch.device(device))
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    timeout = datetime.timedelta(seconds=float(os.environ.get("GIGAGAN_DIST_TIMEOUT", "600")))
    if device == "cuda":
        torch.cuda.set_device(local_rank)
        dev = torch.device("cuda", local_rank)
    else:
        dev = torch.device("cpu")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device == "cuda" else "gloo", timeout=timeout)
    return DistInfo(rank=rank, world_size=world, device=dev)


def average_gradients(params, info: DistInfo) -> None:
    if not info.enabled:
        return
    params = [p for p in params if p.grad is not None]
    if not params:
        return
    flat = torch.cat([p.grad.flatten() for p in params])
    dist.all_reduce(flat)
    flat /= info.world_size
    offset = 0
    for p in params:
        n = p.grad.numel()
        p.grad.copy_(flat[offset:offset + n].view_as(p.grad))
        offset += n


def all_agree(flag: bool, info: DistInfo) -> bool:
    """True only if ``flag`` is true on every rank."""
    if not info.enabled:
        return flag
    t = torch.tensor([1 if flag else 0], device=info.device)
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return bool(t.item())


def any_rank(flag: bool, info: DistInfo) -> bool:
    """True if ``flag`` is true on any rank."""
    return not all_agree(not flag, info)


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def cleanup(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def average_buffers(module: torch.nn.Module, info: DistInfo) -> None:
    """Average floating-point buffers (e.g. the mapping network's ``w_avg``) over ranks."""
    if not info.enabled:
        return
    for buf in module.buffers():
        if buf.is_floating_point():
            dist.all_reduce(buf)
            buf /= info.world_size
