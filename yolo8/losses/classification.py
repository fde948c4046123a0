"""The classification loss YOLOv8 trains classifiers with: cross-entropy of the logits, averaged over the batch."""

from __future__ import annotations

import torch
import torch.nn.functional as F


class ClassificationLoss:
    """``(logits (B, nc), labels (B,) int64) -> (total, items)``: total is the batch's mean cross-entropy (a
    scalar to backpropagate), items its detached copy as a (1,) tensor (the ``loss`` column).

    The logits must be the head's raw output, not the softmax probabilities eval mode decodes them to.
    """

    def __call__(self, logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        loss = F.cross_entropy(logits.float(), labels.long(), reduction="mean")
        return loss, loss.detach().reshape(1)
