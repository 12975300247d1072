"""Dataset parity: `verify --images DIR` runs the converted models and the reference executor on
every image (Caffe preprocessing), in worker processes, and reports top-1/top-5 agreement and the
worst logit error. On the real Deep Compression SqueezeNet weights the reference's top-5 for the cat
is the one real Caffe computed (../shared/golden/deep_compression_cat)."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT, golden_case, shared_path


def test_every_image_agrees_and_the_cat_is_caffes(tmp_path):
    case = golden_case("deep_compression_cat")
    images = tmp_path / "images"
    images.mkdir()
    for name in ("cat.jpg", "dog.jpg", "eagle.jpg"):
        (images / name).symlink_to(shared_path("reference_models", "images", name))
    (images / "synset_words.txt").write_text("not an image\n")
    report = tmp_path / "parity.json"
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), "verify", str(case["prototxt_path"]), "-w",
                           str(case["weights_path"]), "--images", str(images), "--report", str(report)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    parity = json.loads(report.read_text())
    assert parity["images"] == 3 and parity["passed"] and parity["logits"] == "pool_final|pool_final"
    for run in ("onnxruntime", "pytorch"):
        figures = parity["runs"][run]
        assert figures["top1_agreement"] == 1.0 and figures["top5_agreement"] == 1.0
        assert 0 < figures["worst_logit_rel_err"] < 1e-4
        assert f"{run}: top-1 agrees on 3/3 images" in done.stdout
    assert parity["top5"]["cat.jpg"]["reference"] == case["top5"]
