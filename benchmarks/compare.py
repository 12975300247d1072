"""Side by side: conversion speed and memory, and the emitted models' inference latency against
the runtimes peers use, as ratios measured in one run.

    python benchmarks/compare.py [--workdir DIR] [--part convert,infer,vgg16 | all] [--rounds N]
                                 [--models a,b,...] [--compile a,b,...] [--iterations N]
                                 [--peers-venv DIR]

convert: AlexNet, ResNet-50-sized and VGG-16-sized caffemodels (demo weights, `make-weights`) to
each format (`--no-verify`), each step a fresh process under `peak_rss.py`, against `cp` of the
same file, a plain protobuf parse of it, the sha256 of it (the outputs' metadata records it, so a
conversion cannot end before it) and a tiny net's conversion (the fixed cost: start-up, imports);
interleaved rounds, medians of wall and CPU time (CPU is steadier on a shared machine), peak RSS
as a multiple of the caffemodel's size; for VGG-16 a line of issue 15's targets.

infer: per model and runtime, the median latency of one forward at batch 1 and 8 with 1 and 2
threads, over interleaved rounds (every runtime runs its iterations once per round, in turn):
the emitted ONNX in ONNX Runtime, the generated PyTorch module eager (and under torch.compile for
the models given with --compile), OpenCV's own Caffe importer on the original files, and for
SqueezeNets torchvision's SqueezeNet class (written below from torchvision's squeezenet.py, since
torchvision is not installed) with the same weights. Ratios are against OpenCV. With --peers-venv
(made by `python benchmarks/peers.py setup DIR`), the peers' ONNX (caffe2onnx, X2Paddle +
paddle2onnx; converted from a copy of the prototxt at batch 1, since both keep the file's batch) runs
beside ours at batch 1. Every runtime's output is compared with OpenCV's and ours on the same
input (the project's images minus the ImageNet mean): the largest difference relative to the
output's largest magnitude, and whether the top-1 class agrees for every image.

vgg16: why OpenCV runs VGG-16 faster than ONNX Runtime runs any converter's ONNX: at batch 1, 1 and
2 threads, our ONNX under ONNX Runtime's graph optimization levels (all = the default, with its
NCHWc layout; extended; basic), without intra-op spinning, without weight prepacking (as
verification runs it), the peers' ONNX, and OpenCV with and without its Winograd convolutions;
every output against OpenCV without Winograd.

On one thread every runtime computes on the calling thread, so its CPU time is printed too: on a
loaded machine it varies far less than the wall time. The machine's load average is printed with the
figures: on a shared machine, compare ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
SHARED = ROOT.parent / "shared" / "reference_models"

from run import STEP_ENV, Step, warm_page_cache  # noqa: E402

from converter.emit.torch.ops.fire import FIRE  # noqa: E402

CONVERT_MODELS = ["alexnet", "resnet50", "vgg16"]
INFER_MODELS = ["squeezenet_v1.0", "squeezenet_v1.1", "alexnet", "googlenet", "resnet50", "mobilenet_v2"]
FORMATS = {"onnx": ["onnx"], "pytorch": ["pytorch"], "safetensors": ["safetensors"],
           "onnx+pytorch": ["onnx", "pytorch"]}


def prototxt_for(name: str, work: Path) -> Path:
    """The deploy prototxt of a benchmark model (generated ones written into `work`)."""
    shared = {"squeezenet_v1.0": SHARED / "deepscale_squeezenet_v1.0" / "deploy.prototxt",
              "squeezenet_v1.1": SHARED / "deepscale_squeezenet_v1.1" / "deploy.prototxt",
              "alexnet": SHARED / "bvlc" / "bvlc_alexnet" / "deploy.prototxt",
              "googlenet": SHARED / "bvlc" / "bvlc_googlenet" / "deploy.prototxt",
              "mobilenet_v2": SHARED / "mobilenet_caffe" / "mobilenet_v2_deploy.prototxt"}
    if name in shared:
        return shared[name]
    module = importlib.import_module(name)
    path = work / f"{name}.prototxt"
    if not path.exists():
        path.write_text(module.prototxt())
    return path


def model_files(name: str, work: Path, prototxt: Path | None = None) -> tuple[Path, Path]:
    """The prototxt and its demo caffemodel (made once, kept in `work`)."""
    prototxt = prototxt or prototxt_for(name, work)
    weights = work / f"{name}.caffemodel"
    if not weights.exists():
        subprocess.run([sys.executable, str(ROOT / "cli.py"), "make-weights", str(prototxt), "--output", str(weights)],
                       check=True, stdout=subprocess.DEVNULL)
    return prototxt, weights


def load_text() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} {five:.1f} {fifteen:.1f} on {os.cpu_count()} CPUs"


TINY_NET = """name: "tiny"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" convolution_param { num_output: 4 kernel_size: 3 } }
"""
# Issue 15's targets for VGG-16 (no verification): against cp of the caffemodel, and its size.
VGG16_TARGETS = {"-> onnx+pytorch": 4.0, "-> onnx": 2.0}
VGG16_TARGET_RSS_X_FILE = 1.2


def bench_convert(work: Path, models: list[str], rounds: int) -> None:
    """Each model's conversion to each format against cp of its caffemodel, a plain protobuf parse
    and the sha256 of the file (the metadata records it: a conversion waits for it), with a tiny
    net's conversion as the fixed cost (start-up and imports)."""
    python = sys.executable
    cli = [python, str(ROOT / "cli.py")]
    tiny = work / "tiny.prototxt"
    tiny.write_text(TINY_NET)
    _, tiny_weights = model_files("tiny", work, tiny)
    for name in models:
        prototxt, weights = model_files(name, work)
        size = weights.stat().st_size
        warm_page_cache(weights)
        out = work / f"out-{name}"
        out.mkdir(exist_ok=True)
        copy = work / "copy.caffemodel"
        parse = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); from converter.caffe import caffe_pb2; "
                 f"m = caffe_pb2.NetParameter(); m.ParseFromString(open({str(weights)!r}, 'rb').read())")
        digest = (f"import hashlib, mmap; f = open({str(weights)!r}, 'rb'); "
                  "hashlib.sha256(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)).hexdigest()")
        steps = [Step("cp", ["cp", str(weights), str(copy)], fresh=[copy]),
                 Step("protobuf parse", [python, "-c", parse]),
                 Step("sha256 of file", [python, "-S", "-c", digest]),
                 Step("tiny net (fixed)", [*cli, str(tiny), "-w", str(tiny_weights), "--no-verify", "-o",
                                           str(out), "--force", "--name", "tiny"])]
        for label, formats in FORMATS.items():
            argv = [*cli, str(prototxt), "-w", str(weights), "--no-verify", "-o", str(out), "--force", "--name", "m"]
            for f in formats:
                argv += ["--format", f]
            fresh = [out / f"m{suffix}" for suffix in (".onnx", ".pth", ".safetensors", ".py")]
            steps.append(Step(f"-> {label}", argv, fresh=fresh))
        for step in steps:  # untimed: bytecode compiled, page cache warm
            subprocess.run(step.argv, check=True, stdout=subprocess.DEVNULL, env=STEP_ENV)
        before = load_text()
        for _ in range(rounds):
            for step in steps:
                step.run()
        cp = statistics.median(steps[0].seconds)
        cp_cpu = statistics.median(steps[0].cpu_seconds)
        print(f"\n{name}: caffemodel {size / 1e6:.0f} MB; {rounds} interleaved rounds, medians; {before} before, "
              f"{load_text()} after")
        print(f"{'step':<18} {'wall s':>7} {'x cp':>6} {'CPU s':>7} {'x cp':>6} {'peak RSS MB':>12} {'RSS / file':>11}")
        for step in steps:
            median, cpu = statistics.median(step.seconds), statistics.median(step.cpu_seconds)
            print(f"{step.name:<18} {median:>7.3f} {median / cp:>6.2f} {cpu:>7.3f} {cpu / max(cp_cpu, 1e-3):>6.2f} "
                  f"{step.maxrss / 1e6:>12.0f} {step.maxrss / size:>11.2f}")
        print("(wall: median over the rounds; CPU: user + system of the process, its threads included; "
              "peak RSS: the highest over the rounds)")
        if name == "vgg16":
            by_name = {step.name: step for step in steps}
            checks = [(f"{label} <= {limit:g}x cp", statistics.median(by_name[label].seconds) / cp, limit)
                      for label, limit in VGG16_TARGETS.items()]
            checks += [(f"{label} peak RSS <= {VGG16_TARGET_RSS_X_FILE:g}x file", by_name[label].maxrss / size,
                        VGG16_TARGET_RSS_X_FILE) for label in VGG16_TARGETS]
            print("VGG-16 targets: " + "; ".join(f"{what}: {ratio:.2f}x {'met' if ratio <= limit else 'MISSED'}"
                                                  for what, ratio, limit in checks))
            print_thread_times([by_name[label] for label in VGG16_TARGETS], rounds, cp_cpu)


# Runs the command line in-process and prints each thread's own CPU time at exit (stderr, JSON).
THREAD_TIMES = """
import atexit, json, runpy, sys, threading, time
times = {}
run = threading.Thread.run
def timed(self):
    try:
        run(self)
    finally:
        times[self.name] = time.thread_time()
threading.Thread.run = timed
atexit.register(lambda: print(json.dumps({"main": time.thread_time(), **times}), file=sys.stderr))
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def print_thread_times(steps: list[Step], rounds: int, cp_cpu: float) -> None:
    """Each thread's CPU time (median over the rounds): what the conversion's main thread, the
    sha256 thread and the .pth's CRC thread would each take on a core of their own. On an idle
    machine of 2 cores the wall time is at least max(main thread, all threads / 2), compared with
    cp's CPU time (cp is CPU-bound: on an idle machine its wall time is about its CPU time)."""
    for step in steps:
        samples: dict[str, list[float]] = {}
        for _ in range(rounds):
            for path in step.fresh:
                path.unlink(missing_ok=True)
            done = subprocess.run([sys.executable, "-c", THREAD_TIMES, *step.argv[1:]], capture_output=True,
                                  text=True, check=True, env=STEP_ENV)
            per_kind: dict[str, float] = {}
            for thread, seconds in json.loads(done.stderr.strip().splitlines()[-1]).items():
                kind = thread.split()[0]  # "sha256 <file>": the sha256 threads together
                per_kind[kind] = per_kind.get(kind, 0.0) + seconds
            for kind, seconds in per_kind.items():
                samples.setdefault(kind, []).append(seconds)
        medians = {kind: statistics.median(values) for kind, values in samples.items()}
        bound = max(medians["main"], sum(medians.values()) / 2)
        print(f"{step.name} thread CPU s: " + ", ".join(f"{k} {v:.3f}" for k, v in medians.items())
              + f"; idle 2-core bound {bound:.3f} s = {bound / cp_cpu:.2f}x cp's CPU time")


# torchvision's SqueezeNet (torchvision/models/squeezenet.py): Fire as the generated files' helper is
# (torchvision's class, in-place ReLUs); features for version 1_0 (conv 7x7/2 96, ceil-mode max pools
# after conv1, fire4, fire8) and 1_1 (conv 3x3/2 64, pools after conv1, fire3, fire5); classifier
# Dropout, final 1x1 conv, ReLU, AdaptiveAvgPool2d(1), then flatten.
TORCHVISION_SQUEEZENET = """
import torch
from torch import nn
""" + FIRE.source + '''

class SqueezeNet(nn.Module):
    def __init__(self, version="1_0", num_classes=1000):
        super().__init__()
        pool = lambda: nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)  # noqa: E731
        if version == "1_0":
            self.features = nn.Sequential(
                nn.Conv2d(3, 96, kernel_size=7, stride=2), nn.ReLU(inplace=True), pool(),
                Fire(96, 16, 64, 64), Fire(128, 16, 64, 64), Fire(128, 32, 128, 128), pool(),
                Fire(256, 32, 128, 128), Fire(256, 48, 192, 192), Fire(384, 48, 192, 192),
                Fire(384, 64, 256, 256), pool(), Fire(512, 64, 256, 256))
        else:
            self.features = nn.Sequential(
                nn.Conv2d(3, 64, kernel_size=3, stride=2), nn.ReLU(inplace=True), pool(),
                Fire(64, 16, 64, 64), Fire(128, 16, 64, 64), pool(),
                Fire(128, 32, 128, 128), Fire(256, 32, 128, 128), pool(),
                Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256), Fire(512, 64, 256, 256))
        final_conv = nn.Conv2d(512, num_classes, kernel_size=1)
        self.classifier = nn.Sequential(nn.Dropout(p=0.5), final_conv, nn.ReLU(inplace=True),
                                        nn.AdaptiveAvgPool2d((1, 1)))

    def forward(self, x):
        x = self.features(x)
        x = self.classifier(x)
        return torch.flatten(x, 1)
'''

INFER_PROGRAM = r"""
import json, statistics, sys, time, importlib.util
import numpy as np
spec = json.loads(sys.argv[1])
threads, rounds, iterations = spec["threads"], spec["rounds"], spec["iterations"]
import torch, onnxruntime as ort, cv2
torch.set_num_threads(threads)
cv2.setNumThreads(threads)
x = np.load(spec["input"])
runners = {}

def ort_runner(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x}
    return lambda: session.run(None, feed)[0]

runners["onnxruntime"] = ort_runner(spec["onnx"])
for peer, path in spec.get("peers", {}).items():
    runners[f"{peer} (onnxruntime)"] = ort_runner(path)

def module_from(path, name):
    loader = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    return module

generated = module_from(spec["py"], "generated")
net = getattr(generated, spec["class"])()
net.load_state_dict(generated.load_weights(spec["pth"]))
net.eval()
xt = torch.from_numpy(x)

def torch_runner(module):
    def run():
        with torch.inference_mode():
            return module(xt)
    return run

runners["pytorch eager"] = torch_runner(net)
if spec.get("torchvision"):
    namespace = {}
    exec(spec["torchvision"], namespace)
    tv = namespace["SqueezeNet"](spec["version"])
    tv.load_state_dict(generated.load_weights(spec["pth"]))
    tv.eval()
    # Softmax after it, as the Caffe net (and so the generated module) ends in one.
    runners["torchvision class"] = torch_runner(torch.nn.Sequential(tv, torch.nn.Softmax(1)))
if spec.get("compile"):
    compiled = torch.compile(net)
    torch_runner(compiled)()
    runners["torch.compile"] = torch_runner(compiled)
    # PyTorch's advice for CPU inference: weights frozen into the graph (constant-folded, prepacked
    # for oneDNN, ReLU fused) and channels_last tensors. Own options: a backend of its own, so the
    # compiled graph above is not reused.
    tuned = getattr(generated, spec["class"])()
    tuned.load_state_dict(generated.load_weights(spec["pth"]))
    tuned = torch.compile(tuned.eval().to(memory_format=torch.channels_last), options={"freezing": True})
    xt_last = xt.contiguous(memory_format=torch.channels_last)
    def run_tuned():
        with torch.inference_mode():
            return tuned(xt_last)
    run_tuned()
    runners["torch.compile (freezing, channels_last)"] = run_tuned

cv_net = cv2.dnn.readNetFromCaffe(spec["prototxt"], spec["caffemodel"])
cv_net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
def opencv():
    cv_net.setInput(x)
    return cv_net.forward()
runners["opencv (caffe files)"] = opencv

outputs = {}
for name, run in runners.items():
    outputs[name] = np.asarray(run()).reshape(len(x), -1)
    run()
exactness = {}
for name, out in outputs.items():
    exactness[name] = {}
    for against in ("opencv (caffe files)", "onnxruntime"):
        truth = outputs[against]
        exactness[name][against] = {
            "rel_err": float(np.abs(out - truth).max() / max(float(np.abs(truth).max()), 1e-30)),
            "top1": bool((out.argmax(1) == truth.argmax(1)).all())}
# On one thread every runtime computes on the calling thread, so its CPU time is also measured: on
# a loaded machine it varies far less than the wall time (waiting for a core is not counted).
times = {name: [] for name in runners}
cpu_times = {name: [] for name in runners}
for _ in range(rounds):
    for name, run in runners.items():
        samples, cpu_samples = [], []
        for _ in range(iterations):
            start, cpu_start = time.perf_counter(), time.thread_time()
            run()
            samples.append(time.perf_counter() - start)
            cpu_samples.append(time.thread_time() - cpu_start)
        times[name].append(statistics.median(samples))
        cpu_times[name].append(statistics.median(cpu_samples))
print(json.dumps({"medians": {name: statistics.median(values) for name, values in times.items()},
                  "cpu_medians": {name: statistics.median(values) for name, values in cpu_times.items()},
                  "exactness": exactness}))
"""


def at_batch(prototxt: Path, batch: int, path: Path) -> Path:
    """A copy of `prototxt` whose inputs have batch `batch` (the peers keep the file's batch)."""
    from google.protobuf import text_format

    from converter.caffe.prototxt import parse_prototxt

    net = parse_prototxt(prototxt)
    for shape in net.input_shape:
        shape.dim[0] = batch
    for i in range(0, len(net.input_dim), 4):
        net.input_dim[i] = batch
    for layer in net.layer:
        if layer.type == "Input":
            for shape in layer.input_param.shape:
                shape.dim[0] = batch
    path.write_text(text_format.MessageToString(net))
    return path


def image_batch(shape: list[int], batch: int, path: Path) -> Path:
    """The project's images, resized to the input, minus the ImageNet mean (BGR) and divided by 128
    (the demo weights were calibrated on inputs in [-1, 1]: unscaled pixels saturate every softmax,
    which would hide differences between runtimes), cycled to fill the batch; saved as .npy."""
    from converter import demo
    from converter.defaults import IMAGENET_MEAN_BGR

    images = sorted((SHARED / "images").glob("*.jpg"))
    blobs = [demo.preprocess(demo.read_image(images[i % len(images)]), tuple(shape[2:]), IMAGENET_MEAN_BGR, 1 / 128)
             for i in range(batch)]
    np.save(path, np.concatenate(blobs))
    return path


def peer_models(work: Path, name: str, prototxt: Path, weights: Path, peers_python: str | None) -> dict[str, str]:
    """The peers' ONNX of the model at batch 1 (converted once into work/peers-NAME): path by peer;
    a peer that fails is reported here and left out."""
    if peers_python is None:
        return {}
    from peers import CAFFE_PB2, convert_all

    out = work / f"peers-{name}"
    out.mkdir(exist_ok=True)
    if not all((out / f"{peer}.onnx").exists() for peer in CAFFE_PB2):
        results = convert_all(peers_python, at_batch(prototxt, 1, out / "deploy-batch1.prototxt"), weights, out)
        for peer, result in results.items():
            print(f"  {peer}: " + (f"converted in {result['seconds']} s" if "seconds" in result
                                   else f"FAILED: {result['error']}"))
    return {peer: str(out / f"{peer}.onnx") for peer in CAFFE_PB2 if (out / f"{peer}.onnx").exists()}


def run_program(program: str, spec: dict, label: str) -> dict | None:
    """`program` run with `spec` in a fresh Python: its JSON result, or None (the failure printed)."""
    done = subprocess.run([sys.executable, "-c", program, json.dumps(spec)], capture_output=True, text=True,
                          env=STEP_ENV)
    if done.returncode != 0:
        print(f"  {label}: failed\n{done.stderr[-2000:]}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def convert_ours(prototxt: Path, weights: Path, out: Path) -> None:
    """Our ONNX, module and state_dict of the net, as out/m.*."""
    subprocess.run([sys.executable, str(ROOT / "cli.py"), str(prototxt), "-w", str(weights), "--no-verify", "-o",
                    str(out), "--force", "--name", "m"], check=True, stdout=subprocess.DEVNULL)


def bench_infer(work: Path, models: list[str], compiled: set[str], rounds: int, iterations: int,
                peers_python: str | None, batches: list[int], thread_counts: list[int]) -> None:
    from converter.caffe.loader import declared_inputs
    from converter.caffe.prototxt import parse_prototxt

    for name in models:
        prototxt, weights = model_files(name, work)
        out = work / f"infer-{name}"
        convert_ours(prototxt, weights, out)
        source = (out / "m.py").read_text()
        # The net's class is the file's last one (helper classes come first).
        class_name = [line.split()[1].split("(")[0] for line in source.splitlines()
                      if line.startswith("class ") and "(nn.Module)" in line][-1]
        shape = list(next(iter(declared_inputs(parse_prototxt(prototxt)).values())))
        print(f"\n{name}: median ms of one forward ({rounds} interleaved rounds x {iterations}); "
              f"x = against OpenCV on the Caffe files")
        peers = peer_models(work, name, prototxt, weights, peers_python)
        for batch in batches:
            inputs = image_batch(shape, batch, out / f"input-{batch}.npy")
            for threads in thread_counts:
                spec = {"threads": threads, "rounds": rounds, "iterations": iterations, "input": str(inputs),
                        "onnx": str(out / "m.onnx"), "py": str(out / "m.py"), "pth": str(out / "m.pth"),
                        "class": class_name, "prototxt": str(prototxt), "caffemodel": str(weights),
                        "compile": name in compiled and batch == 1, "peers": peers if batch == 1 else {}}
                if name.startswith("squeezenet"):
                    spec |= {"torchvision": TORCHVISION_SQUEEZENET, "version": "1_0" if name.endswith("1.0") else "1_1"}
                before = os.getloadavg()[0]
                result = run_program(INFER_PROGRAM, spec, f"batch {batch}, {threads} thread(s)")
                if result is None:
                    continue
                print(f"  batch {batch}, {threads} thread(s), load {before:.1f}: {ratios(result['medians'])}")
                if threads == 1:
                    print(f"  batch {batch}, 1 thread, CPU time: {ratios(result['cpu_medians'])}")
                    print(f"  exactness at batch {batch} (max |difference| / max |output|; top-1 on all images):")
                    for runner, against in result["exactness"].items():
                        cells = "; ".join(f"vs {k}: {v['rel_err']:.1e}, top-1 {'same' if v['top1'] else 'DIFFERS'}"
                                          for k, v in against.items() if k != runner)
                        print(f"    {runner:<40} {cells}")


VGG_PROGRAM = r"""
import json, statistics, sys, time
import numpy as np
spec = json.loads(sys.argv[1])
threads = spec["threads"]
import onnxruntime as ort, cv2
cv2.setNumThreads(threads)
x = np.load(spec["input"])
levels = {"all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL, "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
          "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC}
runners = {}

def ort_runner(path, level="all", config=()):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.graph_optimization_level = levels[level]
    for key, value in config:
        options.add_session_config_entry(key, value)
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x}
    return lambda: session.run(None, feed)[0]

runners["onnxruntime"] = ort_runner(spec["onnx"])
runners["onnxruntime extended (no NCHWc)"] = ort_runner(spec["onnx"], "extended")
runners["onnxruntime basic"] = ort_runner(spec["onnx"], "basic")
runners["onnxruntime no spinning"] = ort_runner(spec["onnx"], config=[("session.intra_op.allow_spinning", "0")])
runners["onnxruntime no prepacking"] = ort_runner(spec["onnx"], config=[("session.disable_prepacking", "1")])
for peer, path in spec["peers"].items():
    runners[f"{peer} (onnxruntime)"] = ort_runner(path)
for winograd in (True, False):
    net = cv2.dnn.readNetFromCaffe(spec["prototxt"], spec["caffemodel"])
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.enableWinograd(winograd)
    def opencv(net=net):
        net.setInput(x)
        return net.forward()
    runners["opencv" + ("" if winograd else " without winograd")] = opencv
outputs = {name: np.asarray(run()).reshape(len(x), -1) for name, run in runners.items()}
truth = outputs["opencv without winograd"]
exactness = {name: float(np.abs(out - truth).max() / np.abs(truth).max()) for name, out in outputs.items()}
times = {name: [] for name in runners}
cpu_times = {name: [] for name in runners}
for _ in range(spec["rounds"]):
    for name, run in runners.items():
        start, cpu_start = time.perf_counter(), time.thread_time()
        run()
        times[name].append(time.perf_counter() - start)
        cpu_times[name].append(time.thread_time() - cpu_start)
print(json.dumps({"medians": {name: statistics.median(v) for name, v in times.items()},
                  "cpu_medians": {name: statistics.median(v) for name, v in cpu_times.items()},
                  "exactness": exactness}))
"""


def bench_vgg16(work: Path, rounds: int, peers_python: str | None, thread_counts: list[int]) -> None:
    """VGG-16 at batch 1: ONNX Runtime's settings against OpenCV with and without Winograd."""
    prototxt, weights = model_files("vgg16", work)
    out = work / "infer-vgg16"
    convert_ours(prototxt, weights, out)
    inputs = image_batch([1, 3, 224, 224], 1, out / "input-1.npy")
    peers = peer_models(work, "vgg16", prototxt, weights, peers_python)
    print(f"\nvgg16, batch 1: median ms of one forward over {rounds} interleaved rounds; x = against ONNX Runtime "
          "with its default settings; error = max |difference| / max |output| against OpenCV without Winograd")
    for threads in thread_counts:
        spec = {"threads": threads, "rounds": rounds, "input": str(inputs), "onnx": str(out / "m.onnx"),
                "peers": peers, "prototxt": str(prototxt), "caffemodel": str(weights)}
        before = os.getloadavg()[0]
        result = run_program(VGG_PROGRAM, spec, f"{threads} thread(s)")
        if result is None:
            continue
        print(f"  {threads} thread(s), load {before:.1f}:")
        ort_wall, ort_cpu = result["medians"]["onnxruntime"], result["cpu_medians"]["onnxruntime"]
        for name, wall in result["medians"].items():
            cpu = result["cpu_medians"][name]
            cpu_cell = f", CPU {cpu * 1e3:7.1f} ({cpu / ort_cpu:.2f}x)" if threads == 1 else ""
            print(f"    {name:<34} {wall * 1e3:7.1f} ({wall / ort_wall:.2f}x){cpu_cell}, "
                  f"error {result['exactness'][name]:.1e}")


def ratios(medians: dict[str, float]) -> str:
    """Each runtime's median in ms, and as a multiple of OpenCV's."""
    opencv = medians["opencv (caffe files)"]
    return ", ".join(f"{k} {v * 1e3:.1f} ({v / opencv:.2f}x)" for k, v in medians.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="where to keep the generated files (default: a temp dir)")
    parser.add_argument("--part", default="all", help="convert, infer, vgg16 (comma-separated), or all")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=5, help="forwards per runtime per round")
    parser.add_argument("--models", help="comma-separated subset of the models")
    parser.add_argument("--compile", default="squeezenet_v1.1",
                        help="models also run under torch.compile (batch 1; compiling is slow)")
    parser.add_argument("--batches", default="1,8", help="batch sizes of the latency figures")
    parser.add_argument("--threads", default="1,2", help="thread counts of the latency figures")
    parser.add_argument("--peers-venv", type=Path,
                        help="a venv holding the peer converters (python benchmarks/peers.py setup DIR): their "
                             "ONNX runs beside ours at batch 1")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="squeeze-compare-"))
    work.mkdir(parents=True, exist_ok=True)
    chosen = set(args.models.split(",")) if args.models else None
    started = time.time()
    parts = {"convert", "infer", "vgg16"} if args.part == "all" else set(args.part.split(","))
    if not parts <= {"convert", "infer", "vgg16"}:
        parser.error(f"--part: unknown {', '.join(sorted(parts - {'convert', 'infer', 'vgg16'}))}")
    peers_python = str(args.peers_venv / "bin" / "python") if args.peers_venv else None
    thread_counts = [int(t) for t in args.threads.split(",")]
    if "convert" in parts:
        bench_convert(work, [m for m in CONVERT_MODELS if chosen is None or m in chosen], args.rounds)
    if "infer" in parts:
        bench_infer(work, [m for m in INFER_MODELS if chosen is None or m in chosen],
                    set(filter(None, args.compile.split(","))), args.rounds, args.iterations,
                    peers_python, [int(b) for b in args.batches.split(",")], thread_counts)
    if "vgg16" in parts:
        bench_vgg16(work, max(args.rounds, 5), peers_python, thread_counts)
    print(f"\n({time.time() - started:.0f} s; files in {work})")


if __name__ == "__main__":
    main()
