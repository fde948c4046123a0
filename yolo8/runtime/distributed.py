"""PyTorch DDP as ``torchrun`` sets it up: one process per GPU, ranks from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass
class DistributedContext:
    """This process's place in a ``torchrun`` job; ``rank == -1`` means a single process."""

    rank: int = -1
    local_rank: int = -1
    world_size: int = 1

    @classmethod
    def from_environment(cls) -> "DistributedContext":
        """Read RANK / LOCAL_RANK / WORLD_SIZE (set by torchrun) and join the process group."""
        world_size = int(os.environ.get("WORLD_SIZE", 1))
        if world_size <= 1:
            return cls()
        context = cls(int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", 0)), world_size)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        if torch.cuda.is_available():
            torch.cuda.set_device(context.local_rank)
        return context

    @property
    def enabled(self) -> bool:
        return self.rank != -1

    @property
    def is_main(self) -> bool:
        return self.rank in (-1, 0)

    @property
    def rank_or_zero(self) -> int:
        return max(self.rank, 0)

    @property
    def device(self) -> torch.device:
        return torch.device(f"cuda:{self.local_rank}") if torch.cuda.is_available() else torch.device("cpu")

    def wrap(self, model: nn.Module) -> nn.Module:
        if not self.enabled:
            return model
        device_ids = [self.local_rank] if torch.cuda.is_available() else None
        return nn.parallel.DistributedDataParallel(model, device_ids=device_ids)

    def share_from_main(self, value):
        """``value`` as rank 0 has it, on every rank (e.g. the run directory rank 0 chose)."""
        if not self.enabled:
            return value
        holder = [value]
        dist.broadcast_object_list(holder, src=0)
        return holder[0]

    def broadcast_stop(self, stop: bool) -> bool:
        """Rank 0 decides whether to stop early; every rank learns its decision."""
        if not self.enabled:
            return stop
        flag = [stop]
        dist.broadcast_object_list(flag, src=0)
        return bool(flag[0])

    def close(self) -> None:
        """Leave the process group together: rank 0 may still be validating best.pt, and a rank that tore
        gloo down alone while its peer was busy once aborted ("terminate called without an active exception")."""
        if self.enabled and dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()
