"""Tracking metrics (MOTA, IDF1, ID switches, HOTA, ...) through the ``trackers`` package's evaluator.

Why ``trackers`` (Roboflow, Apache-2.0): it is maintained, installs from PyPI, computes all of CLEAR (MOTA,
IDSW), Identity (IDF1) and HOTA in one call, and is written to match TrackEval (the MOTChallenge reference)
number for number. ``motmetrics`` (MIT) has no HOTA; the ``trackeval`` package on PyPI is a repackaged fork.
The package is imported only when metrics are asked for.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from yolo8.track.mot import read_mot, write_mot


@dataclass(frozen=True)
class TrackingMetrics:
    """One sequence's scores (fractions in [0, 1] except the counts)."""

    mota: float
    idf1: float
    hota: float
    id_switches: int
    motp: float
    false_positives: int
    misses: int
    mostly_tracked: int
    frames: int

    def summary(self) -> str:
        return (f"MOTA {self.mota:.3f}  IDF1 {self.idf1:.3f}  HOTA {self.hota:.3f}  IDSW {self.id_switches}  "
                f"FP {self.false_positives}  FN {self.misses}  MT {self.mostly_tracked}  ({self.frames} frames)")


def _evaluator():
    try:
        from trackers.eval import evaluate_mot_sequence
    except ImportError as error:
        raise ImportError("tracking metrics need the 'trackers' package (Apache-2.0): pip install trackers "
                          f"({error}).") from None
    return evaluate_mot_sequence


def evaluate_mot(gt: str | Path, predictions: str | Path | dict[int, np.ndarray],
                 iou_threshold: float = 0.5) -> TrackingMetrics:
    """Score tracker output against MOTChallenge ground truth.

    Args:
        gt: a MOTChallenge gt.txt (rows whose ``consider`` column is 0 are ignored, as MOTChallenge does).
        predictions: a MOTChallenge result file, or {frame: (K, >=6) x1, y1, x2, y2, id, conf}.
        iou_threshold: IoU that counts a match for CLEAR and Identity (HOTA averages over thresholds itself).
    """
    gt = Path(gt)
    if not gt.is_file():
        raise FileNotFoundError(f"gt={gt}: no such ground-truth file (MOTChallenge gt.txt).")
    evaluate = _evaluator()
    if isinstance(predictions, dict) and not any(len(rows) for rows in predictions.values()):
        # nothing tracked at all (the evaluator refuses an empty file): every ground-truth box is a miss
        ground_truth = read_mot(gt)
        misses = sum(int((rows[:, 5] != 0).sum()) for rows in ground_truth.values())
        return TrackingMetrics(mota=0.0, idf1=0.0, hota=0.0, id_switches=0, motp=0.0, false_positives=0,
                               misses=misses, mostly_tracked=0, frames=max(ground_truth, default=0))
    with tempfile.TemporaryDirectory(prefix="yolo8-mot-") as folder:
        if isinstance(predictions, dict):
            predictions = write_mot(Path(folder) / "tracks.txt", predictions)
        result = evaluate(gt_path=str(gt), tracker_path=str(predictions), metrics=["CLEAR", "HOTA", "Identity"],
                          threshold=iou_threshold)
    clear, identity, hota = result.CLEAR, result.Identity, result.HOTA
    return TrackingMetrics(mota=float(clear.MOTA), idf1=float(identity.IDF1), hota=float(hota.HOTA),
                           id_switches=int(clear.IDSW), motp=float(clear.MOTP), false_positives=int(clear.CLR_FP),
                           misses=int(clear.CLR_FN), mostly_tracked=int(clear.MT), frames=int(clear.CLR_Frames))
