"""Trackers on hand-made detections: Kalman filter, association, lifecycle, camera motion, YAMLs."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from yolo8.track import BoTSORT, ByteTracker, load_tracker_settings
from yolo8.track.gmc import CameraMotion, apply_warp
from yolo8.track.kalman import (
    XYAH,
    XYWH,
    KalmanFilterXYAH,
    KalmanFilterXYWH,
    xyah_to_xyxy,
    xywh_to_xyxy,
    xyxy_to_xyah,
    xyxy_to_xywh,
)
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
    np.testing.assert_allclose(xywh_to_xyxy(xyxy_to_xywh(boxes)), boxes)
    np.testing.assert_allclose(xyxy_to_xywh(boxes)[0], [25, 50, 30, 60])


def test_kalman_xywh_noise_follows_width_for_x_and_height_for_y():
    kalman = KalmanFilterXYWH()
    mean, cov = kalman.initiate(np.array([10.0, 20.0, 40.0, 80.0]))
    assert mean.tolist() == [10, 20, 40, 80, 0, 0, 0, 0]
    # initial std: 2 * w / 20 on x and w, 2 * h / 20 on y and h; 10 * size / 160 on the velocities
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), [4, 8, 4, 8, 2.5, 5, 2.5, 5])
    means, covs = kalman.predict(mean[None], cov[None])
    assert means[0].tolist() == mean.tolist()
    # P' = F P F^T + Q: x gains the x-velocity variance and (w / 20)^2; y the same with h
    assert covs[0, 0, 0] == pytest.approx(16 + 6.25 + 4) and covs[0, 1, 1] == pytest.approx(64 + 25 + 16)
    _, projected = kalman.project(mean, cov)
    np.testing.assert_allclose(np.diag(projected), [16 + 4, 64 + 16, 16 + 4, 64 + 16])  # + (size / 20)^2


def test_kalman_xywh_learns_constant_velocity_of_position_and_size():
    kalman = KalmanFilterXYWH()
    mean, cov = kalman.initiate(np.array([0.0, 100.0, 30.0, 60.0]))
    for t in range(1, 30):  # moves (+5, -2) px and grows (+1, +2) px per frame, measured exactly
        means, covs = kalman.predict(mean[None], cov[None])
        mean, cov = kalman.update(means[0], covs[0], np.array([5.0 * t, 100.0 - 2 * t, 30.0 + t, 60.0 + 2 * t]))
    np.testing.assert_allclose(mean[:4], [145, 42, 59, 118], atol=0.05)
    np.testing.assert_allclose(mean[4:], [5, -2, 1, 2], atol=0.05)
    predicted, _ = kalman.predict(mean[None], cov[None])
    np.testing.assert_allclose(predicted[0, :4], [150, 40, 60, 120], atol=0.1)


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
@pytest.mark.parametrize("dx, dy", [(6, -4), (-7, 3)])
def test_gmc_on_a_shifted_image_returns_the_shift(method, dx, dy):
    image = textured()
    shifted = cv2.warpAffine(image, np.float32([[1, 0, dx], [0, 1, dy]]), (image.shape[1], image.shape[0]),
                             borderMode=cv2.BORDER_REFLECT)
    camera = CameraMotion(method)
    np.testing.assert_allclose(camera.estimate(image), np.eye(2, 3))  # first frame: nothing to compare with
    warp = camera.estimate(shifted)
    np.testing.assert_allclose(warp[:, :2], np.eye(2), atol=0.02)
    np.testing.assert_allclose(warp[:, 2], [dx, dy], atol=0.5)


def test_gmc_sparse_flow_recovers_a_zoom():
    image = textured()
    zoom = cv2.getRotationMatrix2D((160, 120), 0, 1.1)  # 1.1x about the centre: translation (-16, -12)
    zoomed = cv2.warpAffine(image, zoom, (image.shape[1], image.shape[0]), borderMode=cv2.BORDER_REFLECT)
    camera = CameraMotion("sparseOptFlow")
    camera.estimate(image)
    warp = camera.estimate(zoomed)
    np.testing.assert_allclose(warp[:, :2], 1.1 * np.eye(2), atol=0.01)
    np.testing.assert_allclose(warp[:, 2], [-16, -12], atol=0.5)


def test_apply_warp_zoom_moves_and_scales_xywh_states():
    # 1.1x zoom about (100, 50): x' = 1.1 x - 10, y' = 1.1 y - 5
    warp = np.array([[1.1, 0.0, -10.0], [0.0, 1.1, -5.0]])
    means = np.array([[120.0, 60.0, 20.0, 40.0, 2.0, -1.0, 0.5, 0.2]])
    covs = np.diag(np.arange(1.0, 9.0))[None]
    new_means, new_covs = apply_warp(means, covs, warp, "xywh")
    np.testing.assert_allclose(new_means[0], [122, 61, 22, 44, 2.2, -1.1, 0.55, 0.22])
    np.testing.assert_allclose(new_covs[0], 1.21 * np.diag(np.arange(1.0, 9.0)))  # every entry scaled by 1.1
    # (cx, cy, a, h): the aspect ratio and its velocity are scale-free
    xyah = np.array([[120.0, 60.0, 0.5, 40.0, 2.0, -1.0, 0.01, 0.2]])
    new_xyah, new_covs = apply_warp(xyah, covs, warp, "xyah")
    np.testing.assert_allclose(new_xyah[0], [122, 61, 0.5, 44, 2.2, -1.1, 0.01, 0.22])
    np.testing.assert_allclose(np.diag(new_covs[0]), [1.21, 2.42, 3, 4.84, 6.05, 7.26, 7, 9.68])
    # the box read out of the warped state is the warped box
    np.testing.assert_allclose(XYWH.to_xyxy(new_means), [[111, 39, 133, 83]])
    np.testing.assert_allclose(XYAH.to_xyxy(new_xyah), [[111, 39, 133, 83]])
    with pytest.raises(ValueError, match="xyah, xywh"):
        apply_warp(means, covs, warp, "xyxy")


def test_apply_warp_moves_centres_and_rotates_velocities():
    means = np.array([[10.0, 20.0, 1.0, 30.0, 1.0, 0.0, 0.0, 0.0]])
    covs = np.eye(8)[None].copy()
    warp = np.array([[0.0, -1.0, 5.0], [1.0, 0.0, 7.0]])  # 90 degrees, then a shift
    new_means, new_covs = apply_warp(means, covs, warp, "xyah")
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


def test_each_tracker_keeps_its_own_kalman_state_space():
    assert ByteTracker.state_space is XYAH and BoTSORT.state_space is XYWH
    assert isinstance(ByteTracker().kalman, KalmanFilterXYAH) and isinstance(BoTSORT().kalman, KalmanFilterXYWH)
    detection = [box(100, 50, 40, 20)]
    byte, bot = ByteTracker(), BoTSORT(gmc_method="none")
    step(byte, detection)
    step(bot, detection)
    np.testing.assert_allclose(byte.tracked[0].mean[:4], [100, 50, 2, 20])  # cx, cy, w / h, h
    np.testing.assert_allclose(bot.tracked[0].mean[:4], [100, 50, 40, 20])  # cx, cy, w, h
    for tracker in (byte, bot):  # association reads the state back as the same box
        np.testing.assert_allclose(tracker._predicted(tracker.tracked), detection)


def test_botsort_lost_track_keeps_moving_but_stops_resizing():
    tracker = BoTSORT(gmc_method="none")
    for t in range(8):  # moves +4 px and widens +2 px per frame
        step(tracker, [box(100 + 4 * t, 100, 30 + 2 * t, 30 + t)])
    step(tracker, np.zeros((0, 4)))  # the object vanishes: lost
    track = tracker.lost[0]
    step(tracker, np.zeros((0, 4)))  # predicted as lost: w and h velocities frozen at zero
    assert track.mean[4] > 2 and track.mean[6] == 0 and track.mean[7] == 0


def test_botsort_reid_keeps_ids_when_two_overlapping_objects_swap_places():
    """Two objects side by side (IoU 0.58) trade places in one frame: by overlap alone the tracks follow the
    places and the ids swap; distinct embeddings keep each id on its object."""
    identity = {"A": np.array([1.0, 0.0]), "B": np.array([0.0, 1.0])}
    layout = []  # this frame's objects, in the order of the boxes given to the tracker

    def encoder(image, boxes):
        return np.stack([identity[name] for name in layout])

    image = textured()
    history = []
    for tracker in (BoTSORT(gmc_method="none"), BoTSORT(gmc_method="none", with_reid=True, encoder=encoder)):
        names = []
        for t in range(10):
            layout[:] = ["A", "B"] if t < 5 else ["B", "A"]  # A on the left, then on the right
            ids = step(tracker, [box(100, 100), box(108, 100)], image=image)
            names.append({layout[row]: track_id for row, track_id in ids.items()})
        history.append(names)
    without, with_reid = history
    assert without[0] == {"A": 1, "B": 2} and without[-1] == {"A": 2, "B": 1}  # overlap alone: ids follow places
    assert all(names == {"A": 1, "B": 2} for names in with_reid)  # appearance: ids follow objects


def test_botsort_reid_needs_an_encoder_and_uses_it():
    with pytest.raises(ValueError, match="encoder"):
        BoTSORT(with_reid=True)
    encoder = lambda image, boxes: np.eye(2)[: len(boxes)]  # one embedding per box
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
