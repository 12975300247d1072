"""Dataset parity (`verify --images DIR`): the converted models and the reference executor on every
image of a folder, Caffe-style preprocessed (BGR, resized bilinearly, minus the mean, as
`converter.demo` does for `classify`), compared by their top-1 and top-5 classes and by the logits
(the input of a final Softmax, else the output itself).

Images are spread over worker processes, one per core: each worker builds its own ONNX Runtime
session and PyTorch module once (one thread each), then runs its share of the images.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from converter.errors import ConverterError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp"}
RUNS = ("onnxruntime", "pytorch")


@dataclass
class RunParity:
    top1_agree: int = 0
    top5_agree: int = 0
    worst_logit_err: float = 0.0  # max|a-b| / max(1, max|reference|), the per-blob rule's ratio
    worst_image: str = ""


@dataclass
class DatasetReport:
    folder: str
    images: list[str]
    logits: str  # the Caffe blob compared: "<layer>|<top>"
    tolerance: float
    runs: dict[str, RunParity] = field(default_factory=dict)
    top5: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # image -> run (or "reference") -> classes

    @property
    def passed(self) -> bool:
        return all(run.worst_logit_err <= self.tolerance for run in self.runs.values())

    def to_json(self) -> dict[str, object]:
        n = len(self.images)
        return {"folder": self.folder, "images": n, "logits": self.logits, "tolerance": self.tolerance,
                "passed": self.passed,
                "runs": {name: {"top1_agreement": run.top1_agree / n, "top5_agreement": run.top5_agree / n,
                                "worst_logit_rel_err": run.worst_logit_err, "worst_image": run.worst_image}
                         for name, run in self.runs.items()},
                "top5": {image: self.top5[image] for image in self.images if image in self.top5}}

    def summary(self) -> str:
        n = len(self.images)
        return "\n".join(f"{name}: top-1 agrees on {run.top1_agree}/{n} images, top-5 on {run.top5_agree}/{n}; "
                         f"worst logit rel err {run.worst_logit_err:.3g} ({run.worst_image}) against the reference "
                         f"executor, tolerance {self.tolerance:g}" for name, run in self.runs.items())


def image_files(folder: Path, what: str = "images") -> list[Path]:
    """The image files in `folder` (known by their suffix), sorted; none is an error. `what` names the folder's
    use in the messages ("calibration images")."""
    if not folder.is_dir():
        raise ConverterError(f"{folder}: not a folder of {what}")
    found = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not found:
        raise ConverterError(f"{folder}: no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return found


# What a worker runs: the job its initializer received, and the runtimes it built from it.
_JOB: dict[str, Any] = {}
_RUNNERS: dict[str, Any] = {}


def _start_worker(job: dict[str, Any]) -> None:
    import onnxruntime as ort
    import torch

    from converter.emit.torch import load_module

    torch.set_num_threads(1)
    _JOB.update(job)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    _RUNNERS["onnxruntime"] = ort.InferenceSession(job["onnx"], options, providers=["CPUExecutionProvider"])
    module = load_module(job["torch"], share_weights=True)
    seen: dict[str, np.ndarray] = {}
    path = job["torch_tap"]
    if path is not None:
        tensors = job["torch"].taps[path]

        def hook(_m: Any, _i: Any, out: Any) -> None:
            values = out if isinstance(out, tuple) else (out,)
            seen.update((name, v.detach().numpy().copy()) for name, v in zip(tensors, values, strict=True))

        module.get_submodule(path).register_forward_hook(hook)
    _RUNNERS["pytorch"] = (module, seen)


def _one_image(path: str) -> tuple[str, np.ndarray, dict[str, np.ndarray]]:
    import torch

    from converter.caffe.reference import run_reference
    from converter.demo import load_image

    job = _JOB
    x = load_image(Path(path), job["size"], job["mean"])
    reference = run_reference(job["net"], {job["input"]: x})[job["logits_blob"]]
    logits_tensor = job["logits_tensor"]
    found: dict[str, np.ndarray] = {}
    (found["onnxruntime"],) = _RUNNERS["onnxruntime"].run([logits_tensor], {job["input"]: x})
    module, seen = _RUNNERS["pytorch"]
    seen.clear()
    with torch.no_grad():
        outs = module(torch.from_numpy(x))
    outs = outs if isinstance(outs, (tuple, list)) else (outs,)
    seen.update((name, out.numpy()) for name, out in zip(job["graph_outputs"], outs, strict=True))
    found["pytorch"] = seen[logits_tensor]
    return path, reference, found


def top5(values: np.ndarray) -> list[int]:
    return [int(i) for i in np.argsort(-values.reshape(-1), kind="stable")[:5]]


def run_dataset(conversion: Any, folder: Path, tolerance: float,
                mean: tuple[float, float, float], workers: int | None = None) -> DatasetReport:
    """Run the conversion's ONNX and PyTorch exports (emitted here if they were not) and the reference
    executor on every image in `folder`, in `workers` processes (default: one per core)."""
    from converter import pipeline
    from converter.ir import Softmax
    from converter.verify import run_progress

    net, graph = conversion.net, conversion.graph
    if len(net.inputs) != 1 or len(shape := next(iter(net.inputs.values()))) != 4 or shape[1] != 3:
        raise ConverterError("--images needs a net with one N,3,H,W image input; this one takes "
                             + ", ".join(f"'{n}' {list(s)}" for n, s in net.inputs.items()))
    images = image_files(folder)
    if conversion.onnx_export is None or conversion.torch_export is None:
        pipeline.emit(conversion)
    output = graph.outputs[0]
    producer = graph.producer(output)
    logits = producer.inputs[0] if isinstance(producer, Softmax) else output
    taps = [path for path, tensors in conversion.torch_export.taps.items() if logits in tensors]
    proto = conversion.onnx_export.to_proto()
    if logits not in [o.name for o in proto.graph.output]:
        from onnx import TensorProto, helper

        proto.graph.output.append(helper.make_tensor_value_info(logits, TensorProto.FLOAT, None))
    (name,) = net.inputs
    job = dict(net=net, input=name, size=shape[2:], mean=mean, onnx=proto.SerializeToString(),
               torch=conversion.torch_export, torch_tap=taps[0] if taps and logits not in graph.outputs else None,
               logits_tensor=logits, logits_blob=graph.tensors[logits].sources[-1],
               graph_outputs=list(graph.outputs))
    del proto
    report = DatasetReport(str(folder), [p.name for p in images], "|".join(graph.tensors[logits].sources[-1]),
                           tolerance, {run: RunParity() for run in RUNS})
    count = max(1, min(workers or os.cpu_count() or 1, len(images)))
    # Workers come from a fresh server process, not forked from this one: by now this process runs
    # ONNX Runtime's and PyTorch's threads, and a child forked while one of them holds a lock can
    # wait on it forever. A worker that dies breaks the pool (an error), where a Pool would wait.
    context = multiprocessing.get_context("forkserver")
    try:
        with run_progress("images", len(images)) as bar, \
                ProcessPoolExecutor(count, mp_context=context, initializer=_start_worker, initargs=(job,)) as pool:
            for done in as_completed([pool.submit(_one_image, str(p)) for p in images]):
                path, reference, found = done.result()
                _score(report, Path(path).name, reference, found)
                bar.update(1)
    except BrokenProcessPool as error:
        raise ConverterError(f"--images: a worker process stopped ({error}); "
                             "run with fewer workers or less memory in use") from None
    return report


def _score(report: DatasetReport, image: str, reference: np.ndarray, found: dict[str, np.ndarray]) -> None:
    expected = top5(reference)
    report.top5[image] = {"reference": expected}
    scale = max(1.0, float(np.abs(reference).max()))
    for name, value in found.items():
        run = report.runs[name]
        got = report.top5[image][name] = top5(value)
        run.top1_agree += got[0] == expected[0]
        run.top5_agree += got == expected
        if value.shape != reference.shape or not np.isfinite(value).all():
            err = math.inf
        else:
            err = float(np.abs(value.astype(np.float64) - reference).max()) / scale
        if err >= run.worst_logit_err:
            run.worst_logit_err, run.worst_image = err, image

