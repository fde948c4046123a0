"""MOTChallenge files, tracking metrics on hand-computed cases, the demo video, sessions and the track API."""

from __future__ import annotations

import numpy as np
import pytest

from yolo8.config import Config, ConfigError
from yolo8.results import Results
from yolo8.track.metrics import evaluate_mot
from yolo8.track.mot import read_mot, write_mot
from yolo8.track.session import TrackingSession
from yolo8.track.simulate import noisy_detections
from yolo8.track.tracker_config import load_tracker_settings

try:
    import trackers  # noqa: F401 - the metrics evaluator
except ImportError:  # only the tests that score tracks need it
    trackers = None
needs_trackers = pytest.mark.skipif(trackers is None, reason="tracking metrics need the trackers package")

A, B, C = [0, 0, 20, 20], [100, 100, 130, 130], [200, 0, 220, 30]


def rows(*items):
    """(box, id, conf) items -> (K, 6) x1, y1, x2, y2, id, conf."""
    return np.array([[*b, i, c] for b, i, c in items], float).reshape(-1, 6)


def test_mot_round_trip(tmp_path):
    tracks = {1: rows((A, 1, 0.9), (B, 2, 0.8)), 3: rows((C, 7, 0.5))}
    path = write_mot(tmp_path / "t.txt", tracks)
    assert path.read_text().splitlines()[0] == "1,1,0.00,0.00,20.00,20.00,0.9000,-1,-1,-1"
    back = read_mot(path)
    assert sorted(back) == [1, 3]
    for frame in tracks:
        np.testing.assert_allclose(back[frame], tracks[frame])
    (tmp_path / "bad.txt").write_text("1,2,3\n")
    with pytest.raises(ValueError, match="bad.txt:1"):
        read_mot(tmp_path / "bad.txt")


@needs_trackers
def test_metrics_match_a_hand_computed_sequence(tmp_path):
    gt = tmp_path / "gt.txt"  # ground-truth rows: frame, id, left, top, width, height, consider, class 1, visibility
    gt.write_text("".join(f"{f},1,0,0,20,20,1,1,1\n{f},2,100,100,30,30,1,1,1\n" for f in range(1, 5)))
    predictions = {1: rows((A, 1, 0.9), (B, 2, 0.9)), 2: rows((A, 1, 0.9), (B, 2, 0.9)),
                   3: rows((B, 3, 0.9)),  # A missed; B's id switches 2 -> 3
                   4: rows((A, 1, 0.9), (B, 3, 0.9), (C, 9, 0.9))}  # C: a false positive
    metrics = evaluate_mot(gt, predictions)
    # 8 gt boxes, 1 miss, 1 false positive, 1 switch: MOTA = 1 - 3/8
    assert metrics.mota == pytest.approx(0.625)
    assert (metrics.misses, metrics.false_positives, metrics.id_switches) == (1, 1, 1)
    # identity: gt1<->1 (3 boxes), gt2<->2 or 3 (2 boxes): IDF1 = 2*5 / (8 gt + 8 predicted)
    assert metrics.idf1 == pytest.approx(0.625)
    assert 0 < metrics.hota < 1
    perfect = evaluate_mot(gt, {f: rows((A, 1, 1), (B, 2, 1)) for f in range(1, 5)})
    assert (perfect.mota, perfect.idf1, perfect.hota) == (1.0, 1.0, 1.0)
    nothing = evaluate_mot(gt, {})
    assert (nothing.mota, nothing.idf1, nothing.misses) == (0.0, 0.0, 8)


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    from yolo8.data.synthetic.video import demo_video

    return demo_video(tmp_path_factory.mktemp("demo"), frames=40, width=192, height=160, objects=6, seed=3)


def test_demo_video_has_entries_exits_and_occlusions(small_demo):
    import cv2

    video, gt_path = small_demo
    capture = cv2.VideoCapture(str(video))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 40
    gt = np.loadtxt(gt_path, delimiter=",")
    assert gt.shape[1] == 9 and set(gt[:, 7]) == {1}
    spans = {int(i): gt[gt[:, 1] == i, 0] for i in np.unique(gt[:, 1])}
    assert any(span.min() > 1 for span in spans.values())  # someone enters later
    assert any(len(span) < span.max() - span.min() + 1 for span in spans.values())  # someone is hidden a while


@needs_trackers
def test_session_tracks_noisy_ground_truth_well_and_keeps_streams_apart(small_demo):
    _, gt_path = small_demo
    gt = read_mot(gt_path)
    detections = noisy_detections(gt, 40, (160, 192), seed=0, miss_rate=0.05, jitter=0.02)
    image = np.zeros((160, 192, 3), np.uint8)
    session = TrackingSession(load_tracker_settings("bytetrack.yaml"))
    names = {0: "shape"}
    tracked = {}
    for frame in range(1, 41):
        results = session.update(Results(image, "a.mp4", names, boxes=detections[frame].astype(np.float32)))
        assert results.boxes.is_track and results.boxes.data.shape[1] == 7
        tracked[frame] = results.boxes.data[:, :6]
    metrics = evaluate_mot(gt_path, tracked)
    assert metrics.mota > 0.8 and metrics.idf1 > 0.8
    # a second stream starts its own ids at 1; reset forgets both
    other = session.update(Results(image, "b.mp4", names, boxes=detections[1].astype(np.float32)))
    assert sorted(other.boxes.id.tolist())[0] == 1
    assert set(session.trackers) == {"a.mp4", "b.mp4"}
    session.reset()
    assert session.trackers == {}


def test_tracked_results_keep_masks_of_their_detections():
    image = np.zeros((64, 64, 3), np.uint8)
    masks = np.zeros((2, 64, 64), bool)
    masks[0, :10, :10] = masks[1, 30:, 30:] = True
    boxes = np.array([[30, 30, 64, 64, 0.9, 1], [0, 0, 10, 10, 0.8, 0]], np.float32)
    session = TrackingSession(load_tracker_settings("bytetrack.yaml"))
    out = session.update(Results(image, "x.mp4", {0: "a", 1: "b"}, boxes=boxes, masks=masks[[1, 0]]))
    for row, mask in zip(out.boxes.data, out.masks.data):
        assert mask[int(row[1]) + 2, int(row[0]) + 2]  # each mask lies inside its own box
    assert out.summary()[0]["track_id"] in (1, 2)


def test_track_settings_are_real_settings():
    config = Config(mode="track", tracker="bytetrack.yaml", persist=True, gt="gt.txt", slice=[320], slice_overlap=0.3)
    assert (config.tracker, config.persist, config.conf) == ("bytetrack.yaml", True, 0.1)
    with pytest.raises(ConfigError, match="Did you mean 'tracker'"):
        Config(trackr="bytetrack.yaml")


@needs_trackers
def test_yolo_track_end_to_end_with_persist_reset_and_mot_output(small_demo, tmp_path):
    from yolo8 import YOLO

    video, gt_path = small_demo
    model = YOLO("yolov8n.yaml")
    results = model.track(str(video), imgsz=96, gt=str(gt_path), tracker="bytetrack.yaml", save_txt=True,
                          save=True, project=str(tmp_path), name="run", verbose=False)
    assert len(results) == 40 and all(r.boxes.is_track for r in results)
    assert model.metrics is not None and model.metrics.frames == 40  # an untrained model finds nothing: all misses
    assert (tmp_path / "run" / "labels" / "demo.txt").is_file() and (tmp_path / "run" / "demo.mp4").is_file()
    first = model.track(np.zeros((96, 96, 3), np.uint8), persist=True, verbose=False)
    assert first[0].boxes.is_track and model._tracking is not None
    session = model._tracking[1]
    model.track(np.zeros((96, 96, 3), np.uint8), persist=True, verbose=False)
    assert model._tracking[1] is session  # persist: the same tracker state
    model.reset_tracker()
    assert session.trackers == {}


def test_cli_track_reports_a_bad_tracker_in_one_line(capsys):
    from yolo8.cli import run

    assert run(["track", "model=yolov8n.yaml", "tracker=nope.yaml"]) == 1
    assert "tracker 'nope.yaml' not found" in capsys.readouterr().err


def test_tracked_results_draw_ids_and_trails():
    from yolo8.track.writer import draw_tracks

    image = np.full((120, 160, 3), 255, np.uint8)
    trails = {}
    for shift in (0, 10):
        boxes = np.array([[10 + shift, 10, 50 + shift, 50, 3, 0.9, 0]], np.float32)
        drawn = draw_tracks(Results(image, "a.mp4", {0: "circle"}, boxes=boxes), trails)
    assert drawn.shape == image.shape and not (drawn == 255).all()
    assert list(trails) == [3] and list(trails[3]) == [(30.0, 30.0), (40.0, 30.0)]
    plain = Results(image, "a.mp4", {0: "circle"}, boxes=np.array([[10, 10, 50, 50, 0.9, 0]], np.float32)).plot()
    tracked = Results(image, "a.mp4", {0: "circle"}, boxes=np.array([[10, 10, 50, 50, 3, 0.9, 0]], np.float32))
    assert not np.array_equal(plain, tracked.plot())  # the label carries the id


def test_reid_yaml_needs_an_encoder_and_track_passes_one(tmp_path):
    from yolo8 import YOLO

    path = tmp_path / "reid.yaml"
    path.write_text("tracker_type: botsort\ngmc_method: none\nwith_reid: True\n")
    image = np.zeros((64, 64, 3), np.uint8)
    with pytest.raises(ValueError, match="encoder=fn"):
        TrackingSession(load_tracker_settings(path))
    calls = []

    def encoder(frame, boxes):
        calls.append(len(boxes))
        return np.ones((len(boxes), 4))

    results = YOLO("yolov8n.yaml").track(image, tracker=str(path), encoder=encoder, imgsz=64, verbose=False)
    assert results[0].boxes.is_track
    session = TrackingSession(load_tracker_settings(path), encoder=encoder)
    session.update(Results(image, "v.mp4", {0: "a"}, boxes=np.array([[1, 1, 20, 20, 0.9, 0]], np.float32)))
    assert calls == [1]
