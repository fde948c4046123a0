"""Trackers on hand-made detections: Kalman filter, association, lifecycle, camera motion, YAMLs."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from yolo8.track import BoTSORT, ByteTracker, load_tracker_settings
from yolo8.track.gmc import CameraMotion, apply_warp
from yolo8.track.kalman import KalmanFilterXYAH, xyah_to_xyxy, xyxy_to_xyah
from yolo8.track.matching import box_iou, linear_assignment
from yolo8.track.tracker_config import build_tracker


def box(cx, cy, w=30.0, h=30.0):
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def step(tracker, boxes, scores=None, image=None):
    """One frame; returns {row index of the detection: track id}."""
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    scores = np.full(len(boxes), 0.9) if scores is None else np.asarray(scores, float)
    out = tracker.update(boxes, scores, np.zeros(len(boxes)), image)
    return {int(row[7]): int(row[4]) for row in out}


# ---------------------------------------------------------------- Kalman filter
def test_kalman_initiate_and_predict_exact_covariance():
    kalman = KalmanFilterXYAH()
    mean, cov = kalman.initiate(np.array([10.0, 20.0, 0.5, 40.0]))
    assert mean.tolist() == [10, 20, 0.5, 40, 0, 0, 0, 0]
    assert cov[0, 0] == pytest.approx((2 * 40 / 20) ** 2) and cov[4, 4] == pytest.approx((10 * 40 / 160) ** 2)
    means, covs = kalman.predict(mean[None], cov[None])
    assert means[0].tolist() == mean.tolist()  # zero velocity: the box stays
    # P' = F P F^T + Q: position variance gains the velocity variance (dt = 1) and the process noise
    assert covs[0, 0, 0] == pytest.approx(16 + 6.25 + (40 / 20) ** 2)
    assert covs[0, 0, 4] == pytest.approx(6.25)


def test_kalman_update_with_the_expected_measurement_keeps_the_mean_and_shrinks_uncertainty():
    kalman = KalmanFilterXYAH()
    mean, cov = kalman.initiate(np.array([50.0, 60.0, 1.0, 30.0]))
    new_mean, new_cov = kalman.update(mean, cov, mean[:4])
    np.testing.assert_allclose(new_mean, mean)
    assert np.all(np.diag(new_cov)[:4] < np.diag(cov)[:4])


def test_kalman_learns_constant_velocity():
    kalman = KalmanFilterXYAH()
    mean, cov = kalman.initiate(np.array([0.0, 100.0, 1.0, 30.0]))
    for t in range(1, 15):
        means, covs = kalman.predict(mean[None], cov[None])
        mean, cov = kalman.update(means[0], covs[0], np.array([5.0 * t, 100.0, 1.0, 30.0]))
    predicted, _ = kalman.predict(mean[None], cov[None])
    assert predicted[0, 0] == pytest.approx(75.0, abs=1.0) and predicted[0, 4] == pytest.approx(5.0, abs=0.3)


def test_box_conversions_round_trip():
    boxes = np.array([[10, 20, 40, 80], [0, 0, 5, 5]], float)
    np.testing.assert_allclose(xyah_to_xyxy(xyxy_to_xyah(boxes)), boxes)
    np.testing.assert_allclose(xyxy_to_xyah(boxes)[0], [25, 50, 0.5, 60])


def test_assignment_respects_the_threshold():
    cost = np.array([[0.1, 0.9], [0.95, 0.99]])
    matches, rows, columns = linear_assignment(cost, 0.8)
    assert matches.tolist() == [[0, 0]] and rows.tolist() == [1] and columns.tolist() == [1]
    assert box_iou(np.array([box(0, 0)]), np.array([box(15, 0)]))[0, 0] == pytest.approx(450 / 1350)
    # one near-perfect pair is never broken up to make two poor ones: leaving a pair free costs the threshold
    matches, rows, columns = linear_assignment(np.array([[0.1, 0.7], [0.7, 0.99]]), 0.8)
    assert matches.tolist() == [[0, 0]] and rows.tolist() == [1] and columns.tolist() == [1]
    matches, _, _ = linear_assignment(np.array([[0.1, 0.2], [0.3, 0.5]]), 0.8)
    assert matches.tolist() == [[0, 1], [1, 0]]  # otherwise the cheapest complete matching


# ---------------------------------------------------------------- association and lifecycle
def test_ids_start_at_one_and_crossing_objects_keep_them():
    tracker = ByteTracker()
    first = step(tracker, [box(20, 100), box(220, 106)])
    assert sorted(first.values()) == [1, 2]
    for t in range(1, 41):  # A goes right, B goes left; they overlap in the middle frames
        ids = step(tracker, [box(20 + 5 * t, 100), box(220 - 5 * t, 106)])
        assert ids == first, f"frame {t}: {ids}"


def test_short_occlusion_gets_the_old_id_back_and_a_long_one_a_new_id():
    tracker = ByteTracker(track_buffer=30)
    for t in range(10):
        assert step(tracker, [box(50 + 2 * t, 50), box(200, 200)]) == {0: 1, 1: 2}
    for t in range(10, 20):  # object 1 hidden for 10 frames (< track_buffer), keeps moving
        step(tracker, [box(200, 200)])
    step(tracker, [box(50 + 2 * 20, 50), box(200, 200)])  # back: first seen again
    assert step(tracker, [box(50 + 2 * 21, 50), box(200, 200)]) == {0: 1, 1: 2}
    for t in range(40):  # object 2 hidden for 40 frames (> track_buffer): forgotten
        step(tracker, [box(50 + 2 * (22 + t), 50)])
    step(tracker, [box(50 + 2 * 62, 50), box(200, 200)])
    assert step(tracker, [box(50 + 2 * 63, 50), box(200, 200)]) == {0: 1, 1: 3}


def test_new_tracks_only_above_new_track_thresh_and_unconfirmed_blips_use_no_id():
    tracker = ByteTracker(track_high_thresh=0.5, new_track_thresh=0.6)
    assert step(tracker, [box(50, 50)], [0.9]) == {0: 1}
    assert step(tracker, [box(50, 50), box(200, 200)], [0.9, 0.55]) == {0: 1}  # 0.55 < 0.6: no track
    assert step(tracker, [box(50, 50), box(200, 200)], [0.9, 0.55]) == {0: 1}
    step(tracker, [box(50, 50), box(120, 120)], [0.9, 0.9])  # a one-frame blip: unconfirmed, then dropped
    step(tracker, [box(50, 50)], [0.9])
    step(tracker, [box(50, 50), box(300, 300)], [0.9, 0.9])  # a real new object: confirmed on its 2nd frame
    assert step(tracker, [box(50, 50), box(300, 300)], [0.9, 0.9]) == {0: 1, 1: 2}


def test_low_score_detections_keep_a_track_alive():
    tracker = ByteTracker(track_high_thresh=0.5, track_low_thresh=0.1)
    for t in range(5):
        step(tracker, [box(50 + 3 * t, 50)], [0.9])
    for t in range(5, 10):  # partly hidden: the detector is unsure, ByteTrack's second association keeps it
        assert step(tracker, [box(50 + 3 * t, 50)], [0.2]) == {0: 1}
    assert step(tracker, [box(50 + 3 * 10, 50)], [0.9]) == {0: 1}


def test_reset_starts_ids_again():
    tracker = ByteTracker()
    step(tracker, [box(50, 50), box(100, 100)])
    tracker.reset()
    assert step(tracker, [box(300, 300)]) == {0: 1}


# ---------------------------------------------------------------- BoT-SORT
def textured(seed=0, size=(240, 320)):
    rng = np.random.default_rng(seed)
    image = cv2.GaussianBlur(rng.uniform(0, 255, (*size, 3)).astype(np.uint8), (0, 0), 2)
    return cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX)


@pytest.mark.parametrize("method", ["sparseOptFlow", "ecc"])
def test_gmc_on_a_shifted_image_returns_the_shift(method):
    image = textured()
    shifted = cv2.warpAffine(image, np.float32([[1, 0, 6], [0, 1, -4]]), (image.shape[1], image.shape[0]),
                             borderMode=cv2.BORDER_REFLECT)
    camera = CameraMotion(method)
    np.testing.assert_allclose(camera.estimate(image), np.eye(2, 3))  # first frame: nothing to compare with
    warp = camera.estimate(shifted)
    np.testing.assert_allclose(warp[:, :2], np.eye(2), atol=0.02)
    np.testing.assert_allclose(warp[:, 2], [6, -4], atol=0.6)


def test_apply_warp_moves_centres_and_rotates_velocities():
    means = np.array([[10.0, 20.0, 1.0, 30.0, 1.0, 0.0, 0.0, 0.0]])
    covs = np.eye(8)[None].copy()
    warp = np.array([[0.0, -1.0, 5.0], [1.0, 0.0, 7.0]])  # 90 degrees, then a shift
    new_means, new_covs = apply_warp(means, covs, warp)
    np.testing.assert_allclose(new_means[0], [-20 + 5, 10 + 7, 1, 30, 0, 1, 0, 0])
    np.testing.assert_allclose(new_covs[0], np.eye(8))


def test_botsort_follows_objects_under_a_panning_camera():
    background = textured(1, (240, 480))
    tracker = BoTSORT(gmc_method="sparseOptFlow")
    for t in range(12):  # camera pans 8 px per frame; the objects stand still in the world
        offset = 8 * t
        image = np.ascontiguousarray(background[:, offset:offset + 320])
        ids = step(tracker, [box(200 - offset, 60, 20, 20), box(300 - offset, 150, 20, 20)], image=image)
        assert ids == {0: 1, 1: 2}


def test_botsort_reid_needs_an_encoder_and_uses_it():
    with pytest.raises(ValueError, match="encoder"):
        BoTSORT(with_reid=True)
    encoder = lambda image, boxes: np.eye(2)[: len(boxes)]  # noqa: E731 - one embedding per box
    tracker = BoTSORT(gmc_method="none", with_reid=True, encoder=encoder)
    assert step(tracker, [box(50, 50), box(200, 50)], image=textured()) == {0: 1, 1: 2}


# ---------------------------------------------------------------- tracker YAMLs
def test_shipped_yamls_load_with_yolov8_keys():
    byte, bot = load_tracker_settings("bytetrack.yaml"), load_tracker_settings("botsort")
    assert byte.tracker_type == "bytetrack" and bot.tracker_type == "botsort" and bot.gmc_method == "sparseOptFlow"
    assert (byte.track_high_thresh, byte.track_low_thresh, byte.new_track_thresh, byte.track_buffer,
            byte.match_thresh, byte.fuse_score) == (0.25, 0.1, 0.25, 30, 0.8, True)
    assert isinstance(build_tracker(bot), BoTSORT) and type(build_tracker(byte)) is ByteTracker


def test_a_users_yolov8_yaml_loads_unchanged(tmp_path):
    path = tmp_path / "my_botsort.yaml"
    path.write_text("# Default YOLO tracker settings for BoT-SORT tracker\ntracker_type: botsort\n"
                    "track_high_thresh: 0.5\ntrack_low_thresh: 0.1\nnew_track_thresh: 0.6\ntrack_buffer: 60\n"
                    "match_thresh: 0.8\n# min_box_area: 10\ncmc_method: sparseOptFlow\nproximity_thresh: 0.5\n"
                    "appearance_thresh: 0.25\nwith_reid: False\nmodel: auto\n")
    settings = load_tracker_settings(path)
    assert settings.track_buffer == 60 and settings.new_track_thresh == 0.6 and settings.gmc_method == "sparseOptFlow"
    tracker = build_tracker(settings, frame_rate=15)
    assert tracker.max_time_lost == 30  # 60 frames at 30 fps -> 30 frames at 15 fps


@pytest.mark.parametrize("text, message", [
    ("tracker_type: bytetrack\ntrack_hight_thresh: 0.3\n", "Did you mean 'track_high_thresh'"),
    ("tracker_type: bytetrack\ntrack_buffer: lots\n", "'track_buffer: lots' is invalid"),
    ("tracker_type: deepsort\n", "use bytetrack or botsort"),
    ("track_buffer: 30\n", "'tracker_type' is missing"),
    ("tracker_type: botsort\ngmc_method: orb2\n", "gmc_method"),
    ("tracker_type: bytetrack\nmatch_thresh: 1.5\n", "between 0 and 1"),
])
def test_bad_tracker_yamls_name_the_file_and_key(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as error:
        load_tracker_settings(path)
    assert str(path) in str(error.value)


def test_a_missing_tracker_yaml_lists_the_shipped_ones():
    with pytest.raises(FileNotFoundError, match="botsort.yaml, bytetrack.yaml"):
        load_tracker_settings("nope.yaml")
