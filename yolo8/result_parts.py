"""The per-image fields of a prediction: :class:`Boxes` (detections), :class:`Masks` (instance masks)
and :class:`Probs` (class probabilities). :class:`~yolo8.results.Results` holds them.

Every field keeps its data as given (a torch Tensor on any device, or a numpy array) until
``.cpu()`` / ``.numpy()`` / ``.to()``, which return a new field of the same kind.
"""

from __future__ import annotations

import numpy as np
import torch

from yolo8.ops.boxes import normalize_boxes, xyxy_to_xywh
from yolo8.ops.masks import masks_to_polygons


def as_numpy(values) -> np.ndarray:
    """Tensor (any device, any float dtype) or ndarray -> ndarray (float32 for tensors)."""
    if isinstance(values, np.ndarray):
        return values
    values = values.detach().cpu()
    return (values if values.dtype == torch.bool else values.float()).numpy()


class Boxes:
    """Detections of one image.

    Args:
        data: (n, 6) Tensor or ndarray: x1, y1, x2, y2 (original-image pixels), confidence, class id; or, for
            tracked boxes, (n, 7) x1, y1, x2, y2, track id, confidence, class id (YOLOv8's layout).
        orig_shape: (height, width) of the original image, for the normalised views.
    """

    def __init__(self, data, orig_shape: tuple[int, int]):
        if data.ndim == 1:
            data = data[None]  # (6,) -> (1, 6): a single indexed detection
        if data.ndim != 2 or data.shape[1] not in (6, 7):
            raise ValueError(f"Boxes data must be (n, 6) x1, y1, x2, y2, conf, cls or (n, 7) x1, y1, x2, y2, id, "
                             f"conf, cls; got shape {tuple(data.shape)}.")
        self.data = data
        self.orig_shape = tuple(orig_shape)

    @property
    def xyxy(self):
        """(n, 4) x1, y1, x2, y2 pixels."""
        return self.data[:, :4]

    @property
    def conf(self):
        """(n,) confidences."""
        return self.data[:, -2]

    @property
    def cls(self):
        """(n,) class ids (float, as in ``data``)."""
        return self.data[:, -1]

    @property
    def xywh(self):
        """(n, 4) cx, cy, w, h pixels."""
        return xyxy_to_xywh(self.xyxy)

    @property
    def xyxyn(self):
        """(n, 4) x1, y1, x2, y2 divided by the image width / height."""
        return normalize_boxes(self.xyxy, self.orig_shape[1], self.orig_shape[0])

    @property
    def xywhn(self):
        """(n, 4) cx, cy, w, h divided by the image width / height (the YOLO label format)."""
        return normalize_boxes(self.xywh, self.orig_shape[1], self.orig_shape[0])

    @property
    def id(self):
        """(n,) track ids (float, as in ``data``) of tracked boxes; None for predictions that were not tracked."""
        return self.data[:, 4] if self.is_track else None

    @property
    def is_track(self) -> bool:
        """Whether these boxes carry track ids (YOLOv8's flag)."""
        return self.data.shape[1] == 7

    @property
    def shape(self):
        return tuple(self.data.shape)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index) -> "Boxes":
        return Boxes(self.data[index], self.orig_shape)

    def __repr__(self) -> str:
        return f"Boxes(n={len(self)}, orig_shape={self.orig_shape})"

    def cpu(self) -> "Boxes":
        return self if isinstance(self.data, np.ndarray) else Boxes(self.data.cpu(), self.orig_shape)

    def numpy(self) -> "Boxes":
        return self if isinstance(self.data, np.ndarray) else Boxes(self.data.cpu().numpy(), self.orig_shape)

    def to(self, *args, **kwargs) -> "Boxes":
        """torch ``.to`` (device and/or dtype); numpy data is turned into a tensor first."""
        data = torch.as_tensor(self.data)
        return Boxes(data.to(*args, **kwargs), self.orig_shape)


class Masks:
    """Instance masks of one image's detections, in original-image pixels (the letterbox is undone).

    Args:
        data: (n, H, W) bool Tensor or ndarray; mask i belongs to detection i of the same Results.
        orig_shape: (H, W) of the original image; defaults to the masks' own (H, W).
    """

    def __init__(self, data, orig_shape: tuple[int, int] | None = None):
        if data.ndim == 2:
            data = data[None]  # (H, W) -> (1, H, W): a single indexed mask
        if data.ndim != 3:
            raise ValueError(f"Masks data must be (n, H, W); got shape {tuple(data.shape)}.")
        if orig_shape is not None and tuple(orig_shape) != tuple(data.shape[1:]):
            raise ValueError(f"Masks of shape {tuple(data.shape)} do not cover the original image {tuple(orig_shape)}: "
                             "map them back to the original pixels first (yolo8.ops.masks.masks_from_letterbox).")
        self.data = data
        self.orig_shape = tuple(data.shape[1:])
        self._polygons: list[np.ndarray] | None = None

    @property
    def xy(self) -> list[np.ndarray]:
        """One polygon per mask: (k, 2) float32 x, y pixels, the outline of its largest region ((0, 2) if empty)."""
        if self._polygons is None:
            self._polygons = masks_to_polygons(self.data)
        return self._polygons

    @property
    def xyn(self) -> list[np.ndarray]:
        """:attr:`xy` divided by the image width / height."""
        scale = np.array([self.orig_shape[1], self.orig_shape[0]], dtype=np.float32)
        return [polygon / scale for polygon in self.xy]

    @property
    def shape(self):
        return tuple(self.data.shape)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index) -> "Masks":
        return Masks(self.data[index], self.orig_shape)

    def __repr__(self) -> str:
        return f"Masks(n={len(self)}, orig_shape={self.orig_shape})"

    def cpu(self) -> "Masks":
        return self if isinstance(self.data, np.ndarray) else Masks(self.data.cpu())

    def numpy(self) -> "Masks":
        return self if isinstance(self.data, np.ndarray) else Masks(self.data.cpu().numpy())

    def to(self, *args, **kwargs) -> "Masks":
        """torch ``.to`` (device and/or dtype); numpy data is turned into a tensor first."""
        return Masks(torch.as_tensor(self.data).to(*args, **kwargs))


class Probs:
    """Class probabilities of one image (classification).

    Args:
        data: (nc,) Tensor or ndarray of probabilities (softmax), indexed by class id.
    """

    def __init__(self, data):
        if data.ndim != 1:
            raise ValueError(f"Probs data must be (nc,) class probabilities; got shape {tuple(data.shape)}.")
        self.data = data

    @property
    def top5(self) -> list[int]:
        """The (up to) 5 most probable class ids, most probable first."""
        order = np.argsort(-as_numpy(self.data).astype(np.float64), kind="stable")
        return [int(i) for i in order[:5]]

    @property
    def top1(self) -> int:
        """The most probable class id."""
        return self.top5[0]

    @property
    def top5conf(self):
        """(k,) probabilities of :attr:`top5` (same type and device as ``data``)."""
        return self.data[self.top5]

    @property
    def top1conf(self):
        """Probability of :attr:`top1` (0-d, same type and device as ``data``)."""
        return self.data[self.top1]

    @property
    def shape(self):
        return tuple(self.data.shape)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return f"Probs(classes={len(self)}, top1={self.top1})"

    def cpu(self) -> "Probs":
        return self if isinstance(self.data, np.ndarray) else Probs(self.data.cpu())

    def numpy(self) -> "Probs":
        return self if isinstance(self.data, np.ndarray) else Probs(self.data.cpu().numpy())

    def to(self, *args, **kwargs) -> "Probs":
        """torch ``.to`` (device and/or dtype); numpy data is turned into a tensor first."""
        return Probs(torch.as_tensor(self.data).to(*args, **kwargs))
