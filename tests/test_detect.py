"""`squeeze-convert detect`: an SSD net's detections on an image, printed in the image's pixels and
drawn, checked against OpenCV's own Caffe importer run on the same preprocessing written here."""

from __future__ import annotations

import cv2
import numpy as np
from click.testing import CliRunner

from cli import main
from conftest import golden_case, shared_path

MEAN, SCALE = (104.0, 177.0, 123.0), 0.0025  # the golden case's preprocessing


def opencv_detections(prototxt, weights, image) -> np.ndarray:
    """OpenCV's detection rows for `image`: BGR resized bilinearly as floats to 300x300, minus the
    mean, times the scale (OpenCV pads its rows with zeros: dropped)."""
    blob = cv2.resize(image.astype(np.float32), (300, 300), interpolation=cv2.INTER_LINEAR)
    blob = ((blob - np.float32(MEAN)) * np.float32(SCALE)).transpose(2, 0, 1)[None].astype(np.float32)
    net = cv2.dnn.readNetFromCaffe(str(prototxt), str(weights))
    net.setInput(blob)
    rows = net.forward("detection_out")[0, 0]
    return rows[rows[:, 2] > 0]


def test_detect_prints_and_draws_the_models_detections(tmp_path):
    case = golden_case("wild_res10_ssd_face")
    image_path = shared_path("reference_models", "images", "person.jpg")
    picture = cv2.imread(str(image_path))
    height, width = picture.shape[:2]
    rows = opencv_detections(case["prototxt_path"], case["weights_path"], picture)
    scores = np.sort(rows[:, 2])[::-1]
    # A threshold in a clear gap between two scores, so that no score sits on the edge.
    gaps = [(scores[i] + scores[i + 1]) / 2 for i in range(3, len(scores) - 1) if scores[i] - scores[i + 1] > 2e-5]
    threshold = float(gaps[0])
    expected = [row for row in rows if row[2] >= threshold]
    labels = tmp_path / "labels.txt"
    labels.write_text("background\nface\n")
    out = tmp_path / "boxes.png"
    result = CliRunner().invoke(main, ["detect", str(case["prototxt_path"]), str(image_path), "-w",
                                       str(case["weights_path"]), "-o", str(out), "--mean", "104,177,123",
                                       "--scale", str(SCALE), "--threshold", str(threshold), "--labels", str(labels)])
    assert result.exit_code == 0, result.output
    header, *lines, count, wrote = result.output.splitlines()
    assert header.split() == ["label", "score", "xmin", "ymin", "xmax", "ymax"]
    assert count.startswith(f"{len(expected)} detections scoring at least") and wrote == f"wrote {out}"
    printed = [line.split() for line in lines]
    assert len(printed) == len(expected) > 0
    for fields in printed:
        assert fields[:2] == ["1", "face"]
        values = np.array([float(v) for v in fields[2:]])
        match = [row for row in expected
                 if abs(row[2] - values[0]) <= 1e-5
                 and np.allclose(row[3:] * [width, height, width, height], values[1:], atol=0.06 + 1e-4 * width)]
        assert match, f"printed {fields} is not one of OpenCV's detections"
        expected = [row for row in expected if row is not match[0]]
    drawn = cv2.imread(str(out))
    assert drawn.shape == picture.shape and (drawn != picture).any()


def test_detect_needs_a_detection_output(tiny):
    prototxt, weights = tiny
    image = shared_path("reference_models", "images", "cat.jpg")
    result = CliRunner().invoke(main, ["detect", str(prototxt), str(image), "-w", str(weights), "-o",
                                       str(prototxt.parent / "out.png")])
    assert result.exit_code == 2
    assert "DetectionOutput" in result.output and not (prototxt.parent / "out.png").exists()
