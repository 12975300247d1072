"""squeeze-convert: the command line. `squeeze-convert deploy.prototxt` converts and verifies.

Exit codes: 0 converted (and verified), 1 verification mismatch, 2 bad input or usage,
3 an output could not be written, 4 an internal error (a bug: please report it with --debug's
traceback), 130 interrupted. Heavy modules are imported only once a command runs.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from converter.defaults import (
    DEFAULT_OPSET,
    DEFAULT_TOLERANCE,
    FP16_TOLERANCE,
    IMAGENET_MEAN_BGR,
    INT8_TOLERANCE,
    SUPPORTED_OPSETS,
)
from converter.errors import ConverterError

CLASSIFY_FALLBACK_MEAN = IMAGENET_MEAN_BGR
"""The mean `classify` subtracts when neither the options nor the net's data layers give one."""

SHAPE_HELP = "Input shape, e.g. 1,3,227,227 or data=2x3x224x224 (repeat for several inputs)."


INTERNAL_ERROR = 4
INTERRUPTED = 130  # the shell's code for a command ended by Ctrl-C (128 + SIGINT)


TERMINATED = 143  # 128 + SIGTERM: CI cancelling a job, `timeout`, `docker stop`
MESSAGE_LIMIT = 2000  # characters of one line of an error message shown (a stranger's names can be megabytes)
MESSAGE_TOTAL = 100_000  # characters of a whole message: every problem of a net is listed up to this


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so that it unwinds (temporary files removed) as for Ctrl-C."""


class _Signals:
    """SIGINT and SIGTERM raise in the main thread, and are remembered: a library that catches the
    exception a signal raised in its callback (torch.save turns it into a RuntimeError) must not
    turn an interruption into an internal error."""

    received: int | None = None

    def __enter__(self) -> _Signals:
        type(self).received = None
        self._previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGINT, signal.SIGTERM):
                self._previous[number] = signal.signal(number, self._raise)
        return self

    @classmethod
    def _raise(cls, number: int, _frame: object) -> None:
        cls.received = number
        raise Terminated if number == signal.SIGTERM else KeyboardInterrupt

    def __exit__(self, *_exc: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)


def _interrupted(terminated: bool) -> None:
    click.echo(("terminated" if terminated else "interrupted") + ": no output was written", err=True)
    sys.exit(TERMINATED if terminated else INTERRUPTED)


class DefaultToConvert(click.Group):
    """A group whose first argument may be a prototxt: then the command is `convert`.

    Errors never reach the user as tracebacks: the project's own errors print as one message with
    their exit code; anything else is a bug, reported as such (`--debug` shows the traceback).
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # No path or value holds a NUL byte (os.stat refuses one with ValueError): bad input, exit 2.
        with_nul = [i for i, arg in enumerate(args, 1) if "\x00" in arg]
        if with_nul:
            raise click.UsageError(f"argument {', '.join(map(str, with_nul))} contains a NUL byte")
        # --debug may come anywhere on the line (before a `--`).
        end = args.index("--") if "--" in args else len(args)
        if "--debug" in args[:end]:
            args = ["--debug", *(a for a in args[:end] if a != "--debug"), *args[end:]]
        rest = args[1:] if args[:1] == ["--debug"] else args
        if rest and rest[0] not in self.commands and rest[0] not in ("--help", "-h", "--version"):
            self._refuse_mistyped_command(rest[0])
            rest = ["convert", *rest]
        args = ["--debug", *rest] if args[:1] == ["--debug"] else rest
        return super().parse_args(ctx, args)

    def _refuse_mistyped_command(self, word: str) -> None:
        """A first word that is no file but close to a command name is a typo, not a prototxt."""
        if os.path.lexists(word) or word.startswith("-") or any(c in word for c in "/.\\"):
            return
        near = difflib.get_close_matches(word, list(self.commands), n=1, cutoff=0.6)
        if near:
            raise click.UsageError(f"no such command '{word}' (and no such file); did you mean '{near[0]}'?")

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        """Every command reads a net, so every command takes --plugin (added here, once for all)."""
        cmd.params.append(click.Option(
            ["--plugin", "plugins"], multiple=True, type=click.Path(path_type=Path), expose_value=False,
            is_eager=True, callback=load_plugins,
            help="A Python file registering layer types (README: Plugins); repeatable."))
        cmd.params.append(click.Option(
            ["--caffe-proto"], type=click.Path(path_type=Path), expose_value=False, is_eager=True,
            callback=use_caffe_proto,
            help="Read the prototxt with this fork's caffe.proto (compiled at run time; needs grpcio-tools)."))
        cmd.params.append(click.Option(
            ["--caffe-fork"], type=click.Choice(["bvlc", "yolov3", "hed"]), expose_value=False, is_eager=True,
            callback=use_caffe_fork,
            help="The Caffe the net was written for where builds differ (yolov3: the YOLOv3 ports' Pooling; hed: "
                 "HED's Crop without crop_param); default: BVLC's unless the net's shapes need the other."))
        super().add_command(cmd, name)

    def invoke(self, ctx: click.Context) -> Any:
        with _Signals() as signals:
            try:
                return super().invoke(ctx)
            except ConverterError as error:
                fail(error)
            except Terminated:
                _interrupted(True)
            except (KeyboardInterrupt, click.exceptions.Abort):
                # click would exit 1, which here means a verification mismatch.
                _interrupted(signals.received == signal.SIGTERM)
            except (click.exceptions.Exit, click.ClickException, SystemExit):
                raise
            except MemoryError:
                click.echo("error: out of memory (is an input shape too large?)", err=True)
                sys.exit(2)
            except Exception as error:  # noqa: BLE001 - the last line of defence, see the class docstring
                if signals.received is not None:  # a library wrapped the interruption (torch.save)
                    _interrupted(signals.received == signal.SIGTERM)
                if ctx.params.get("debug") or ctx.meta.get("debug"):
                    raise
                click.echo(f"internal error: {type(error).__name__}: {shorten(printable(str(error)))}\n"
                           "this is a bug in squeeze-convert; rerun with --debug for the traceback", err=True)
                sys.exit(INTERNAL_ERROR)


def load_plugins(_ctx: click.Context, _param: click.Parameter, values: tuple[Path, ...]) -> None:
    from converter.plugins import load_plugin

    for path in values:
        load_plugin(path)


def use_caffe_proto(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    """Every prototxt this command reads is read with the fork's schema, until the command ends."""
    if value is None:
        return
    from converter.caffe import schema

    schema.load_fork_schema(value)  # compile now: a bad .proto is reported before anything else
    token = schema.use_caffe_proto(value)
    ctx.call_on_close(lambda: schema.reset_caffe_proto(token))


def use_caffe_fork(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    """Every net this command reads is read for that Caffe build, until the command ends."""
    if value is None:
        return
    from converter.caffe import fork_semantics

    token = fork_semantics.use_caffe_fork(value)
    ctx.call_on_close(lambda: fork_semantics.reset_caffe_fork(token))


def parse_input_shapes(values: tuple[str, ...]) -> dict[str, tuple[int, ...]] | list[tuple[int, ...]]:
    named: dict[str, tuple[int, ...]] = {}
    unnamed: list[tuple[int, ...]] = []
    for value in values:
        name, _, dims = value.rpartition("=")
        try:
            shape = tuple(int(d) for d in re.split(r"[,x\s]+", dims.strip()) if d)
        except ValueError:
            raise click.BadParameter(f"'{value}' is not a shape like 1,3,227,227",
                                     param_hint="--input-shape") from None
        if not shape or any(d <= 0 for d in shape):
            raise click.BadParameter(f"'{value}' needs positive dimensions", param_hint="--input-shape")
        if name:
            named[name] = shape
        else:
            unnamed.append(shape)
    if named and unnamed:
        raise click.BadParameter("name every shape (data=...) or none", param_hint="--input-shape")
    return named or unnamed


def declared_inputs(prototxt: Path) -> dict[str, tuple[int, ...]]:
    from converter.caffe.loader import declared_inputs as declared
    from converter.caffe.prototxt import read_prototxt

    return declared(read_prototxt(prototxt).net)  # unknown fields: reported, all of them, by the loader


def resolve_input_shapes(prototxt: Path, values: tuple[str, ...]) -> dict[str, tuple[int, ...]] | None:
    shapes = parse_input_shapes(values)
    if not shapes or isinstance(shapes, dict):
        return shapes or None
    names = list(declared_inputs(prototxt))
    if len(shapes) != len(names):
        raise click.BadParameter(f"the net has inputs {names}; give {len(names)} shape(s) or name them",
                                 param_hint="--input-shape")
    return dict(zip(names, shapes, strict=True))


def check_stem(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """--name is a file name stem: no folders (no separators, '.' or '..'), nothing invisible."""
    if value is None:
        return None
    separators = {"/", os.sep, *([os.altsep] if os.altsep else [])}
    if (not value or value in (".", "..") or any(s in value for s in separators)
            or any(not c.isprintable() for c in value)):
        raise click.BadParameter(f"{value!r} is not a plain file name stem (use --out-dir for the folder)")
    return value


def existing_file(_ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path | None:
    """An input that must be a file: a missing one is bad input like any other ("error: X: no
    such file", exit 2), not a usage error in click's words."""
    if value is None:
        return None
    if not value.exists():
        raise ConverterError(f"{value}: no such file")
    if value.is_dir():
        raise ConverterError(f"{value}: is a directory, not a file")
    from converter.fileio import check_input_file

    check_input_file(value)  # a FIFO or a device (/dev/zero) is refused, never read
    return value


def check_tolerance(_ctx: click.Context, _param: click.Parameter, value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise click.BadParameter(f"{value} is not a finite, non-negative tolerance")
    return value


def printable(text: str) -> str:
    """Names from a stranger's file shown escaped where they would be invisible or move the cursor
    (NUL, escape sequences, right-to-left overrides)."""
    return "".join(c if c.isprintable() or c == "\n" else repr(c)[1:-1] for c in text)


def shorten(text: str, limit: int = MESSAGE_LIMIT, total: int = MESSAGE_TOTAL) -> str:
    """Each line at most about `limit` characters (its start and end, and how much was left out), and
    the lines that fit in about `total` characters (then how many more there were): a list of every
    problem in a net (one per line) is shown whole, a stranger's megabyte name is not."""
    shown: list[str] = []
    size = 0
    lines = text.split("\n")
    for line in lines:
        if len(line) > limit:
            head, tail = line[: limit * 3 // 4], line[-(limit // 4):]
            line = f"{head}\n... ({len(line) - len(head) - len(tail):,} characters left out) ...\n{tail}"
        if shown and size + len(line) > total:
            shown.append(f"... ({len(lines) - len(shown):,} more lines left out)")
            break
        shown.append(line)
        size += len(line) + 1
    return "\n".join(shown)


def fail(error: ConverterError) -> None:
    click.echo(f"error: {shorten(printable(str(error)))}", err=True)
    sys.exit(error.exit_code)


@click.group(cls=DefaultToConvert, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="squeeze-convert")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Convert Caffe models (SqueezeNet first) to ONNX and PyTorch, and verify them against Caffe.

    \b
      squeeze-convert deploy.prototxt                   convert + verify (default command)
      squeeze-convert verify deploy.prototxt            parity check only, JSON report
      squeeze-convert inspect deploy.prototxt           architecture table
      squeeze-convert make-weights deploy.prototxt      deterministic demo weights
      squeeze-convert classify deploy.prototxt cat.jpg  top-5 classes of an image
      squeeze-convert detect deploy.prototxt dog.jpg    SSD detections, printed and drawn

    Exit codes: 0 ok, 1 verification mismatch, 2 bad input or usage, 3 output not writable,
    4 internal error, 130 interrupted.
    """
    ctx.meta["debug"] = debug


def _common_options(function: Any) -> Any:
    options = [
        click.argument("prototxt", type=click.Path(path_type=Path), callback=existing_file),
        click.option("--weights", "-w", type=click.Path(path_type=Path), callback=existing_file,
                     help="The .caffemodel (or compressed .net). Default: the single .caffemodel beside "
                          "the prototxt."),
        click.option("--input-shape", "input_shape", multiple=True, help=SHAPE_HELP),
        click.option("--opset", default=DEFAULT_OPSET, show_default=True,
                     type=click.IntRange(SUPPORTED_OPSETS[0], SUPPORTED_OPSETS[-1]),
                     help="ONNX opset."),
        click.option("--expect", type=click.Path(path_type=Path), callback=existing_file,
                     help="Blobs real Caffe recorded (.npz: input|name, layer|layer|top, output|top) to "
                          "verify against; its input is used."),
        click.option("--tolerance", default=DEFAULT_TOLERANCE, show_default=True, type=float, callback=check_tolerance,
                     help="Per blob: max|a-b| <= tolerance * max(1, max|b|)."),
        click.option("--no-fire", is_flag=True, help="Do not fuse Fire modules."),
        click.option("--fold-batchnorm/--no-fold", default=True, show_default=True,
                     help="Fold BatchNorm and Scale into the convolution or InnerProduct before them (the "
                          "default; exact up to rounding); --no-fold keeps one node per Caffe layer."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _load(prototxt: Path, weights: Path | None, input_shape: tuple[str, ...], no_fire: bool,
          fold_batchnorm: bool, expect: Path | None = None, preprocessing: dict[str, Any] | None = None,
          batch: int | None = None, verifying: bool = False) -> Any:
    from converter.fileio import FileDigest

    # The sources' sha256 (for the outputs' metadata) is hashed on another core from here on,
    # while the heavy imports below and the loading run.
    digests = {path: FileDigest(path) for path in (prototxt, weights) if path is not None and path.is_file()}
    from converter import pipeline

    if weights is None:
        weights = pipeline.find_weights(prototxt)  # None is fine for a net without parameters
    shapes = resolve_input_shapes(prototxt, input_shape)
    if shapes is None and expect is not None:
        from converter.verify import recorded_shapes

        shapes = {key[1]: shape for key, shape in recorded_shapes(expect).items() if key[0] == "input"}
    if batch is not None:
        # The pinned batch is the one the model is built, verified and written at.
        base = shapes or declared_inputs(prototxt)
        unsized = [name for name, shape in base.items() if not shape]
        if unsized:
            raise ConverterError(f"--batch: give the shape of input {', '.join(unsized)} with --input-shape")
        shapes = {name: (batch, *shape[1:]) for name, shape in base.items()}
    single = _batch_one(prototxt) if verifying and shapes is None and expect is None else None
    if single is not None:
        from converter.errors import ModelError

        try:
            conversion = pipeline.convert(prototxt, weights, input_shapes=single, fuse=not no_fire,
                                          fold_batchnorm=fold_batchnorm, digests=digests, preprocessing=preprocessing)
        except ModelError:  # a layer needs the declared batch (a Reshape to fixed dimensions): keep it
            pass
        else:
            declared = ", ".join(f"{name} {list(shape)}" for name, shape in declared_inputs(prototxt).items())
            click.echo(f"verifying at batch 1 (the prototxt declares {declared}; the exported models take any "
                       "batch; --input-shape chooses another)", err=True)
            return conversion
    return pipeline.convert(prototxt, weights, input_shapes=shapes, fuse=not no_fire,
                            fold_batchnorm=fold_batchnorm, digests=digests, preprocessing=preprocessing)


def _preprocessing_options(function: Any) -> Any:
    """What the image goes through before the net (recorded in the outputs; `classify` applies it),
    and the bakes writing models that do it themselves."""
    options = [
        click.option("--mean", "mean", default=None,
                     help="Per-channel mean subtracted from the pixels, in the input's channel order "
                          "(e.g. 104,117,123). Default: the data layers' transform_param, else none."),
        click.option("--mean-file", type=click.Path(path_type=Path), callback=existing_file,
                     help="A mean image: Caffe .binaryproto or .npy (C x H x W, center-cropped to the input; "
                          "or C values)."),
        click.option("--scale", type=float, default=None,
                     help="Factor applied after the mean (Caffe's transform_param scale, e.g. 0.017). Default: "
                          "transform_param's, else 1."),
        click.option("--channel-order", type=click.Choice(["bgr", "rgb"]), default=None,
                     help="Channel order the net was trained on. Default: bgr (Caffe image models, OpenCV decoding)."),
        click.option("--input-range", type=click.Choice(["0-255", "0-1"]), default=None,
                     help="Pixel range before mean and scale. Default: 0-255."),
        click.option("--bake-preprocessing", type=click.Choice(["rgb01", "rgb255", "bgr255"]), default=None,
                     help="Write models taking images as people hold them (RGB in 0-1, RGB or BGR in 0-255), "
                          "doing channel flip, mean and scale inside."),
        click.option("--torchvision-normalize", is_flag=True,
                     help="Write models taking torchvision's normalised ImageNet input (RGB 0-1, minus mean "
                          "0.485,0.456,0.406, divided by std 0.229,0.224,0.225)."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _preprocessing(mean: str | None, mean_file: Path | None, scale: float | None, channel_order: str | None,
                   input_range: str | None) -> dict[str, Any]:
    if scale is not None and (not math.isfinite(scale) or scale == 0):
        raise click.BadParameter(f"{scale} is not a finite, nonzero factor", param_hint="--scale")
    chosen = {"mean": _parse_mean(mean) if mean is not None else None, "mean_file": mean_file, "scale": scale,
              "channel_order": channel_order, "input_range": input_range}
    return {key: value for key, value in chosen.items() if value is not None}


def _bake(bake_preprocessing: str | None, torchvision_normalize: bool) -> str | None:
    if bake_preprocessing and torchvision_normalize:
        raise click.UsageError("choose one of --bake-preprocessing and --torchvision-normalize")
    return "torchvision-normalize" if torchvision_normalize else bake_preprocessing


def _batch_one(prototxt: Path) -> dict[str, tuple[int, ...]] | None:
    """The declared input shapes at batch 1, when some input declares a larger batch: verification
    (one forward per run) then costs one image's worth, not the prototxt's batch of them."""
    declared = declared_inputs(prototxt)
    if not declared or any(not shape for shape in declared.values()) or all(s[0] == 1 for s in declared.values()):
        return None
    return {name: (1, *shape[1:]) for name, shape in declared.items()}


def _verify_and_print(conversion: Any, opset: int, expect: Path | None, tolerance: float,
                      backends: tuple[str, ...], verbose: bool, to_stderr: bool = False) -> Any:
    from converter import pipeline
    from converter.verify import format_table

    report = pipeline.run_verification(conversion, backends=backends, opset=opset, expect=expect,
                                       tolerance=tolerance)
    if verbose or not report.passed:
        click.echo(format_table(report, failures_only=not verbose and not report.passed), err=to_stderr)
    if report.passed:
        click.echo(f"verified {summary(report)}", err=to_stderr)
    else:
        first = report.first_failure
        click.echo(f"MISMATCH: first diverging layer '{first.blob.split('|')[0]}' (blob {first.blob}, "
                   f"{first.backend}: rel err {first.rel_err:.3g} > {tolerance:g})", err=True)
    return report


def summary(report: Any) -> str:
    """What was compared with what: blobs per truth, blobs per run, the worst error."""
    labels = {"caffe": "Caffe's recorded blobs", "reference": "the reference executor",
              "ref+ties": "the reference executor taking a run's cells of near-tied pooling windows"}
    truths = {kind: len({c.blob for c in report.comparisons if c.truth == kind}) for kind in labels}
    against = " and ".join(f"{label} ({truths[kind]})" for kind, label in labels.items() if truths[kind])
    runs: dict[str, int] = {}
    for c in report.comparisons:
        runs[c.backend] = runs.get(c.backend, 0) + 1
    worst = max((c.rel_err for c in report.comparisons), default=0.0)
    counted = ", ".join(f"{name} {n} blob{'s' * (n != 1)}" for name, n in runs.items())
    return f"against {against or 'nothing'}: {counted}; worst rel err {worst:.2g} (tolerance {report.tolerance:g})"


@main.command()
@_common_options
@click.option("--out-dir", "-o", type=click.Path(path_type=Path, file_okay=False),
              help="The folder to write the outputs in. Default: beside the prototxt.")
@click.option("--name", callback=check_stem,
              help="Output file stem. Default: from the prototxt (or its folder for deploy.prototxt).")
@click.option("--format", "formats", multiple=True, type=click.Choice(["onnx", "pytorch", "safetensors"]),
              default=("onnx", "pytorch"), show_default=True,
              help="Outputs to write (repeatable): onnx (.onnx), pytorch (.py module + .pth weights), "
                   "safetensors (.py module + .safetensors weights).")
@click.option("--no-verify", is_flag=True, help="Skip numerical verification.")
@click.option("--force", is_flag=True, help="Replace existing outputs.")
@click.option("--compact", is_flag=True,
              help="Also write <name>.compact.onnx keeping Deep Compression's stored form (codebooks, "
                   "uint8 codes and gaps, expanded in the graph): about the .net's size.")
@click.option("--verbose", "-v", is_flag=True, help="Print the full per-blob table.")
@_preprocessing_options
@click.option("--batch", type=click.IntRange(min=1), default=None,
              help="Pin the ONNX model's batch (TensorRT, OpenCV). Default: symbolic N.")
@click.option("--dynamic-hw", is_flag=True,
              help="Leave the ONNX input's height and width symbolic (fully convolutional nets only).")
@click.option("--fp16", is_flag=True, help="Also write <name>.fp16.onnx (float16 weights and compute, float32 I/O).")
@click.option("--int8", is_flag=True,
              help="Also write <name>.int8.onnx (ONNX Runtime static quantization, per-channel int8 weights); "
                   "needs --calibration-images.")
@click.option("--calibration-images", type=click.Path(path_type=Path, file_okay=False),
              help="A folder of images: int8 calibration, and the fp16/int8 checks against float32.")
@click.option("--fp16-tolerance", default=FP16_TOLERANCE, show_default=True, type=float, callback=check_tolerance,
              help="fp16 against float32, per output: max|a-b| <= tolerance * max(1, max|b|).")
@click.option("--int8-tolerance", default=INT8_TOLERANCE, show_default=True, type=float, callback=check_tolerance,
              help="int8 against float32, the same rule.")
def convert(prototxt: Path, weights: Path | None, input_shape: tuple[str, ...], opset: int,
            expect: Path | None, tolerance: float, no_fire: bool, fold_batchnorm: bool,
            out_dir: Path | None, name: str | None, formats: tuple[str, ...], no_verify: bool,
            force: bool, compact: bool, verbose: bool, mean: str | None, mean_file: Path | None,
            scale: float | None, channel_order: str | None, input_range: str | None,
            bake_preprocessing: str | None, torchvision_normalize: bool, batch: int | None,
            dynamic_hw: bool, fp16: bool, int8: bool, calibration_images: Path | None, fp16_tolerance: float,
            int8_tolerance: float) -> None:
    """Convert PROTOTXT (+ weights) to ONNX and PyTorch, verify, and write the outputs."""
    from converter import pipeline
    from converter.fileio import check_outputs
    from converter.ir import Fire

    if int8 and calibration_images is None:
        raise click.UsageError("--int8 calibrates on images: give --calibration-images DIR")
    if (fp16 or int8) and "onnx" not in formats:
        raise click.UsageError("--fp16 / --int8 make variants of the ONNX model: keep --format onnx")
    bake = _bake(bake_preprocessing, torchvision_normalize)
    if bake and compact:
        raise click.UsageError("--compact keeps the stored weights, which a baked first convolution changes; "
                               "choose one")
    preprocessing = _preprocessing(mean, mean_file, scale, channel_order, input_range)
    if batch is not None and expect is not None:
        raise click.UsageError("--batch and --expect: the recorded blobs fix the batch; choose one")
    conversion = _load(prototxt, weights, input_shape, no_fire, fold_batchnorm, expect, preprocessing, batch,
                       verifying=not no_verify)
    graph = conversion.graph
    fires = list(graph.nodes_of(Fire))
    click.echo(f"{prototxt}: {len(conversion.net.layers)} layers -> {len(graph.nodes)} IR nodes"
               + (f" ({len(fires)} Fire: " + ", ".join(
                   f"{f.name}({f.s1x1},{f.e1x1},{f.e3x3})" for f in fires) + ")" if fires else ""))
    for note in conversion.net.notes:
        click.echo(f"note: {note}")
    stem = name or pipeline.output_stem(prototxt, conversion.net)
    target = out_dir or prototxt.parent  # as the user wrote it: "wrote" lines show paths in their form
    pipeline.emit(conversion, formats=formats, opset=opset, bake=bake, batch=batch, dynamic_hw=dynamic_hw)
    if conversion.preprocessing is not None:
        click.echo(f"preprocessing: {pipeline.describe_preprocessing(conversion)}")
    compact_path = target / f"{stem}.compact.onnx"
    kinds = [kind for kind, wanted in (("fp16", fp16), ("int8", int8)) if wanted]
    reduced_paths = {kind: target / f"{stem}.{kind}.onnx" for kind in kinds}
    planned = (pipeline.planned_outputs(conversion, target, stem, report=not no_verify) + [compact_path] * compact
               + list(reduced_paths.values()))
    stale = pipeline.stale_companions(target, stem, planned)
    check_outputs([*planned, *stale], [*conversion.input_files, *([expect] if expect else [])], force)
    compact_model = pipeline.compact_onnx_for(conversion) if compact else None
    if compact_model is not None:
        from converter.emit.onnx.compact import expanded_names

        click.echo(f"verified: compact ONNX expands its {len(expanded_names(compact_model))} codebook weights "
                   "bit for bit to the dense ones")
    if not no_verify:
        backends = tuple(dict.fromkeys(b for f, b in (("onnx", "onnxruntime"), ("pytorch", "pytorch"),
                                                     ("safetensors", "pytorch")) if f in formats))
        report = _verify_and_print(conversion, opset, expect, tolerance, backends, verbose)
        if not report.passed:
            path = pipeline.save_report(conversion, target, stem, force=force)
            click.echo(f"no model written; report: {path}", err=True)
            sys.exit(1)
    reduced = pipeline.reduced_models(conversion, kinds, calibration_images,
                                      {"fp16": fp16_tolerance, "int8": int8_tolerance}) if kinds else {}
    for check in conversion.reduced_checks:
        click.echo(f"{'verified' if check.passed else 'MISMATCH:'} {check.summary()}", err=not check.passed)
    if not all(check.passed for check in conversion.reduced_checks):
        if conversion.report is not None:
            path = pipeline.save_report(conversion, target, stem, force=force)
            click.echo(f"no model written; report: {path}", err=True)
        sys.exit(1)
    from converter.fileio import all_or_nothing, write_bytes_atomic

    with all_or_nothing(force=force):
        written = pipeline.save(conversion, target, stem, force=force)
        if compact_model is not None:
            write_bytes_atomic(compact_path, compact_model.SerializeToString())
            written.append(compact_path)
        for kind, model in reduced.items():
            write_bytes_atomic(reduced_paths[kind], model.SerializeToString())
            written.append(reduced_paths[kind])
    if conversion.torch_export is not None and conversion.torch_export.notes:
        _print_notes(conversion.torch_export.notes, next((p for p in written if p.name.endswith(".report.json")), None),
                     verbose)
    for path in written:
        click.echo(f"wrote {path}")
    if compact_model is not None:
        _print_compact_sizes(conversion.net.source_files[1], target / f"{stem}.compact.onnx", target / f"{stem}.onnx")


def _print_notes(notes: list[str], report: Path | None, verbose: bool) -> None:
    """The PyTorch export's notes on one line (the first, and where the others are); all of them
    with --verbose. The report keeps them all."""
    if verbose:
        for note in notes:
            click.echo(f"note: {note}")
        return
    more = len(notes) - 1
    where = f"in {report.name}" if report is not None else "with --verbose"
    click.echo(f"note: {notes[0]}" + (f"; {more} more note{'s' * (more != 1)} {where}" if more else ""))


def _print_compact_sizes(source: Path, compact_path: Path, dense_path: Path) -> None:
    source_size = source.stat().st_size
    compact_size = compact_path.stat().st_size
    line = (f"sizes: {compact_path.name} {compact_size:,} bytes = {compact_size / source_size:.2f}x "
            f"{source.name} ({source_size:,} bytes)")
    if dense_path.exists():
        dense_size = dense_path.stat().st_size
        line += f"; dense {dense_path.name} {dense_size:,} bytes = {dense_size / source_size:.2f}x"
    click.echo(line)


@main.command("verify")
@_common_options
@click.option("--report", "report_path", type=click.Path(path_type=Path),
              help="Write the JSON report here ('-' for stdout).")
@click.option("--backend", "backends", multiple=True,
              type=click.Choice(["onnxruntime", "pytorch", "opencv", "pycaffe"]),
              default=("onnxruntime", "pytorch"), show_default=True,
              help="Runs to compare (repeatable); opencv = OpenCV's own Caffe importer (outputs only), "
                   "pycaffe = BVLC Caffe itself where installed (every blob's final value).")
@click.option("--verbose", "-v", is_flag=True, help="Print the full per-blob table.")
@click.option("--force", is_flag=True, help="Replace an existing report.")
@click.option("--onnx", "onnx_file", type=click.Path(path_type=Path), callback=existing_file,
              help="An ONNX model converted earlier (perhaps edited since) for the onnxruntime run to check, "
                   "instead of converting again.")
@click.option("--pytorch", "torch_module", type=click.Path(path_type=Path), callback=existing_file,
              help="A generated PyTorch module (.py, its .pth beside it) converted earlier, for the pytorch run.")
@click.option("--junit", "junit_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write a JUnit XML report (one test case per blob per run), for CI.")
@click.option("--images", "images", type=click.Path(path_type=Path, file_okay=False),
              help="Dataset parity instead of one random input: every image in this folder (Caffe preprocessing: "
                   "BGR, resized bilinearly, minus --mean) through the converted models and the reference; top-1/"
                   "top-5 agreement and the worst logit error, in worker processes on all cores.")
@click.option("--mean", default=",".join(f"{v:g}" for v in IMAGENET_MEAN_BGR), show_default=True,
              help="With --images: per-channel B,G,R mean subtracted from the pixels.")
@click.option("--html", "html_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write a self-contained HTML report: per run, each blob's relative error against the "
                   "tolerance, the first diverging layer marked (needs matplotlib: the [html] extra).")
def verify_command(prototxt: Path, weights: Path | None, input_shape: tuple[str, ...], opset: int,
                   expect: Path | None, tolerance: float, no_fire: bool, fold_batchnorm: bool,
                   report_path: Path | None, backends: tuple[str, ...], verbose: bool, force: bool,
                   onnx_file: Path | None, torch_module: Path | None, junit_path: Path | None,
                   images: Path | None, mean: str, html_path: Path | None) -> None:
    """Parity check for CI: convert in memory (or check models converted earlier: --onnx, --pytorch),
    compare every blob, exit 1 on mismatch."""
    from converter import pipeline
    from converter.fileio import check_outputs, refuse_special_output, write_bytes_atomic

    outputs = [path for path in (report_path, junit_path, html_path) if path is not None and str(path) != "-"]
    for path in outputs:
        refuse_special_output(path)
    conversion = _load(prototxt, weights, input_shape, no_fire, fold_batchnorm, expect, verifying=True)
    pipeline.load_artifacts(conversion, onnx_file, torch_module)
    if outputs:
        check_outputs(outputs, [*conversion.input_files, *([expect] if expect else [])], force,
                      elsewhere="another --report, --junit or --html path")
    if images is not None:
        _dataset_parity(conversion, images, tolerance, _parse_mean(mean), report_path, force)
    to_stdout = report_path is not None and str(report_path) == "-"
    report = _verify_and_print(conversion, opset, expect, tolerance, backends, verbose, to_stderr=to_stdout)
    if report_path is not None:  # the document (sources' digests) is made only for a report asked for
        _write_report(report_path, pipeline.report_document(conversion, report.model), force)
    if junit_path is not None:
        write_bytes_atomic(junit_path, report.to_junit(), force=force)
        click.echo(f"wrote {junit_path}", err=to_stdout)
    if html_path is not None:
        from converter.html_report import render_html

        write_bytes_atomic(html_path, render_html(report).encode(), force=force)
        click.echo(f"wrote {html_path}", err=to_stdout)
    sys.exit(0 if report.passed else 1)


def _write_report(report_path: Path, document: object, force: bool) -> None:
    """verify's JSON report on stdout (--report -) or written to its file."""
    from converter.fileio import json_text, write_bytes_atomic

    text = json_text(document)
    if str(report_path) == "-":
        click.echo(text)
    else:
        write_bytes_atomic(report_path, (text + "\n").encode(), force=force)
        click.echo(f"wrote {report_path}")


def _dataset_parity(conversion: Any, images: Path, tolerance: float, mean: tuple[float, float, float],
                    report_path: Path | None, force: bool) -> None:
    from converter.dataset import run_dataset

    parity = run_dataset(conversion, images, tolerance, mean)
    to_stdout = report_path is not None and str(report_path) == "-"
    click.echo(f"{len(parity.images)} images in {images}, logits: blob {parity.logits}", err=to_stdout)
    click.echo(parity.summary(), err=to_stdout)
    if report_path is not None:
        _write_report(report_path, parity.to_json(), force)
    if not parity.passed:
        click.echo(f"MISMATCH: a logit error exceeds the tolerance {tolerance:g}", err=True)
    sys.exit(0 if parity.passed else 1)


@main.command("make-weights")
@click.argument("prototxt", type=click.Path(path_type=Path), callback=existing_file)
@click.option("--out-dir", "-o", type=click.Path(path_type=Path),
              help="The folder for <prototxt stem>.caffemodel, as convert's --out-dir (-o). Default: beside the "
                   "prototxt.")
@click.option("--output", type=click.Path(path_type=Path),
              help="The caffemodel file to write, instead of <prototxt stem>.caffemodel in --out-dir.")
@click.option("--seed", default=0, show_default=True, help="Random seed.")
@click.option("--input-shape", "input_shape", multiple=True, help=SHAPE_HELP)
@click.option("--force", is_flag=True, help="Replace an existing file.")
def make_weights(prototxt: Path, out_dir: Path | None, output: Path | None, seed: int,
                 input_shape: tuple[str, ...], force: bool) -> None:
    """Write deterministic demo weights for PROTOTXT as a caffemodel: He-uniform, then calibrated on a fixed
    input so that every layer's output stays of order one."""
    from converter.caffe.synthetic import write_synthetic_weights
    from converter.fileio import all_or_nothing, check_outputs

    if out_dir is not None and out_dir.suffix == ".caffemodel" and not out_dir.is_dir():
        # -o was the file until -o meant a folder for every command; kept as an alias for now.
        click.echo(f"warning: make-weights -o {out_dir} (a file) is deprecated: -o is the folder, as for convert; "
                   f"use --output {out_dir}", err=True)
        if output is not None:
            raise click.UsageError("give --output (a file) or --out-dir (-o, a folder), not both")
        out_dir, output = None, out_dir
    if output is not None and out_dir is not None:
        raise click.UsageError("give --output (a file) or --out-dir (-o, a folder), not both")
    output = output or (out_dir or prototxt.parent) / f"{prototxt.stem}.caffemodel"
    check_outputs([output], [prototxt], force, elsewhere="--out-dir (-o) or --output")
    with all_or_nothing(force=force):
        calibrated = write_synthetic_weights(prototxt, output, seed=seed,
                                             input_shapes=resolve_input_shapes(prototxt, input_shape))
    if not calibrated:
        click.echo("note: weights not calibrated (a forward pass at this input size costs too much): deep nets "
                   "may grow large activations; a smaller --input-shape calibrates them", err=True)
    click.echo(f"wrote {output}")


@main.command("inspect")
@click.argument("prototxt", type=click.Path(path_type=Path), callback=existing_file)
@click.option("--weights", "-w", type=click.Path(path_type=Path), callback=existing_file,
              help="Adds per-layer sparsity and distinct weight values.")
@click.option("--input-shape", "input_shape", multiple=True, help=SHAPE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--markdown", is_flag=True, help="A Markdown table, for reports.")
def inspect_command(prototxt: Path, weights: Path | None, input_shape: tuple[str, ...], as_json: bool,
                    markdown: bool) -> None:
    """The SqueezeNet paper's Table 1 for PROTOTXT: sizes, Fire modules, parameters."""
    from converter.inspect import format_markdown, format_text, inspect_net

    if as_json and markdown:
        raise click.UsageError("choose one of --json and --markdown")
    table = inspect_net(prototxt, weights, resolve_input_shapes(prototxt, input_shape))
    if as_json:
        from converter.fileio import json_text

        click.echo(json_text(table.to_json()))
    else:
        click.echo(format_markdown(table) if markdown else format_text(table))


@main.command("classify")
@click.argument("prototxt", type=click.Path(path_type=Path), callback=existing_file)
@click.argument("image", type=click.Path(path_type=Path), callback=existing_file)
@click.option("--weights", "-w", type=click.Path(path_type=Path), callback=existing_file,
              help="The .caffemodel (or compressed .net). Default: the single .caffemodel beside the prototxt.")
@click.option("--labels", type=click.Path(path_type=Path), callback=existing_file,
              help="ImageNet synset words file, to print class names.")
@click.option("--input-shape", "input_shape", multiple=True,
              help="The image size the net takes, e.g. 1,3,227,227 (needed for a train_val net). "
                   "Default: the prototxt's input shape.")
@_preprocessing_options
def classify_command(prototxt: Path, image: Path, weights: Path | None, labels: Path | None,
                     input_shape: tuple[str, ...], mean: str | None, mean_file: Path | None, scale: float | None,
                     channel_order: str | None, input_range: str | None, bake_preprocessing: str | None,
                     torchvision_normalize: bool) -> None:
    """Top-5 classes of IMAGE with the converted model (ONNX Runtime). The image is resized bilinearly
    to the input size and prepared as the model's metadata says: Caffe-style by default (BGR 0-255
    minus the data layers' mean, else the ImageNet mean 104,117,123), or as a baked model takes it."""
    from converter import demo, pipeline
    from converter.backends import one_shot_session
    from converter.memory import check_fits
    from converter.preprocessing import from_metadata
    from converter.verify import top5

    bake = _bake(bake_preprocessing, torchvision_normalize)
    options = _preprocessing(mean, mean_file, scale, channel_order, input_range)
    name, shape = _image_input(prototxt, input_shape, "classify")
    conversion = _load(prototxt, weights, (f"{name}=1,3,{shape[2]},{shape[3]}",), False, True,
                       preprocessing=options)
    if conversion.preprocessing.mean_image is None and not conversion.preprocessing.mean and "mean" not in options:
        # Nothing says what mean the net was trained with: the ImageNet mean Caffe's image models used.
        conversion.preprocessing = pipeline.preprocessing_for(prototxt, conversion.net,
                                                              {**options, "mean": CLASSIFY_FALLBACK_MEAN})
    check_fits(conversion.net, 1, "classification")
    pipeline.emit(conversion, formats=("onnx",), bake=bake)
    model = conversion.saved_onnx.to_proto()
    fed_as = from_metadata({p.key: p.value for p in model.metadata_props}) \
        if conversion.preprocessing.mean_image is None or bake else conversion.preprocessing
    x = demo.load_image_as(image, shape[2:], fed_as)
    session = one_shot_session(model.SerializeToString())
    output = conversion.graph.outputs[0]
    (scores,) = session.run([output], {name: x})
    names = demo.class_names(labels)
    column = "prob" if demo.ends_in_softmax(conversion.net, conversion.graph.tensors[output].sources[-1]) \
        else "score"
    click.echo(f"rank class {column:>7}" + ("  label" if names else ""))
    for rank, index in enumerate(top5(scores), start=1):
        label = f"  {names[index]}" if names and index < len(names) else ""
        click.echo(f"{rank:>3}. {index:5d} {float(scores.reshape(-1)[index]):7.4f}{label}")


@main.command("detect")
@click.argument("prototxt", type=click.Path(path_type=Path), callback=existing_file)
@click.argument("image", type=click.Path(path_type=Path), callback=existing_file)
@click.option("--weights", "-w", type=click.Path(path_type=Path), callback=existing_file,
              help="The .caffemodel. Default: the single .caffemodel beside the prototxt.")
@click.option("--output", "-o", type=click.Path(path_type=Path),
              help="The image with the boxes drawn (any format OpenCV writes: .png, .jpg). "
                   "Default: <image name>.boxes.png in the current folder.")
@click.option("--threshold", default=0.5, show_default=True, type=float, help="Show detections scoring at least this.")
@click.option("--labels", type=click.Path(path_type=Path), callback=existing_file,
              help="Class names: an SSD label map (labelmap_voc.prototxt) or one name per line, from label 0.")
@click.option("--input-shape", "input_shape", multiple=True,
              help="The image size the net takes, e.g. 1,3,300,300. Default: the prototxt's input shape.")
@click.option("--mean", default=",".join(f"{v:g}" for v in IMAGENET_MEAN_BGR), show_default=True,
              help="Per-channel B,G,R mean subtracted from the pixels.")
@click.option("--scale", default=1.0, show_default=True, type=float,
              help="Factor applied after the mean (MobileNet-SSD: 0.007843).")
@click.option("--force", is_flag=True, help="Replace an existing output image.")
def detect_command(prototxt: Path, image: Path, weights: Path | None, output: Path | None, threshold: float,
                   labels: Path | None, input_shape: tuple[str, ...], mean: str, scale: float, force: bool) -> None:
    """Detections of an SSD net (ending in DetectionOutput) on IMAGE with the converted model (ONNX
    Runtime): printed (label, score, box in the image's pixels) and drawn on a copy of the image.
    Caffe-style preprocessing: BGR pixels resized bilinearly to the input size, minus the mean,
    times the scale."""
    from converter import demo, pipeline
    from converter.backends import one_shot_session
    from converter.fileio import check_outputs, write_bytes_atomic
    from converter.ir import DetectionOutput
    from converter.memory import check_fits

    bgr_mean = _parse_mean(mean)
    if not math.isfinite(scale) or not math.isfinite(threshold):
        raise click.BadParameter("--scale and --threshold must be finite numbers")
    output = output if output is not None else Path(f"{image.stem}.boxes.png")
    check_outputs([output], [prototxt, image, *([weights] if weights else []), *([labels] if labels else [])], force,
                  elsewhere="--output (-o)")
    name, shape = _image_input(prototxt, input_shape, "detect")
    conversion = _load(prototxt, weights, (f"{name}=1,3,{shape[2]},{shape[3]}",), False, False)
    heads = [t for t in conversion.graph.outputs if isinstance(conversion.graph.producer(t), DetectionOutput)]
    if not heads:
        raise ConverterError(f"detect needs an SSD net whose output comes from a DetectionOutput layer; {prototxt} "
                             f"outputs {', '.join(conversion.graph.outputs)}")
    check_fits(conversion.net, 1, "detection")
    picture = demo.read_image(image)
    x = demo.preprocess(picture, shape[2:], bgr_mean, scale)
    pipeline.emit(conversion, formats=("onnx",))
    session = one_shot_session(conversion.onnx_model.SerializeToString())
    (rows,) = session.run([heads[0]], {name: x})
    names = demo.detection_labels(labels)
    found = demo.detections_in_pixels(rows, picture.shape[:2], threshold)
    click.echo(f"{'label':<20} {'score':>8} {'xmin':>8} {'ymin':>8} {'xmax':>8} {'ymax':>8}")
    for d in found:
        label = printable(f"{d.label} {names[d.label]}" if d.label in names else str(d.label))
        click.echo(f"{label:<20} {d.score:8.5f} " + " ".join(f"{v:8.1f}" for v in d.box))
    click.echo(f"{len(found)} detection{'s' * (len(found) != 1)} scoring at least {threshold:g} "
               f"(of {sum(1 for r in rows.reshape(-1, 7) if r[1] >= 0)})")
    import cv2

    encoded, data = cv2.imencode(output.suffix or ".png", demo.draw_detections(picture, found, names))
    if not encoded:
        raise ConverterError(f"{output}: OpenCV cannot write images of this type ('{output.suffix}')")
    write_bytes_atomic(output, data.tobytes())
    click.echo(f"wrote {output}")


def _image_input(prototxt: Path, input_shape: tuple[str, ...], command: str) -> tuple[str, tuple[int, ...]]:
    """The net's one N,3,H,W image input: its name and shape (--input-shape, else the prototxt's)."""
    shapes = resolve_input_shapes(prototxt, input_shape) or declared_inputs(prototxt)
    if len(shapes) != 1 or len(shape := next(iter(shapes.values()))) != 4 or shape[1] != 3:
        raise ConverterError(f"{command} needs a net with one N,3,H,W image input; {prototxt} takes "
                             + ", ".join(f"'{n}' {list(s) or '(no shape: give --input-shape)'}"
                                         for n, s in shapes.items()))
    return next(iter(shapes)), tuple(shape)


def _parse_mean(text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in re.split(r"[,\s]+", text.strip()) if v)
    except ValueError:
        values = ()
    if len(values) != 3 or not all(math.isfinite(v) for v in values):
        raise click.BadParameter(f"'{text}' is not three numbers B,G,R", param_hint="--mean")
    return values[0], values[1], values[2]


if __name__ == "__main__":
    main()
