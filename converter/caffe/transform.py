"""The preprocessing a Caffe net was fed with, from its data layers' `transform_param` (Caffe's
DataTransformer: (datum - mean) * scale, with a center crop at TEST), and mean files
(`.binaryproto`, a BlobProto; or `.npy`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from converter.caffe import caffe_pb2
from converter.caffe.prototxt import parse_prototxt
from converter.caffe.select import DATA_LAYER_TYPES, in_phase
from converter.caffe.upgrade import upgrade_net
from converter.errors import ConverterError
from converter.preprocessing import CAFFE_DEFAULT_SOURCE, Preprocessing

MAX_MEAN_VALUES = 1 << 26


def read_transform(prototxt: str | Path, caffe_proto: str | Path | None = None) -> Preprocessing | None:
    """The TEST-phase data layer's transform_param (else the first data layer's), or None when no
    data layer carries one. A relative `mean_file` is looked up beside the prototxt; missing, it is
    named in the error."""
    prototxt = Path(prototxt)
    proto = upgrade_net(parse_prototxt(prototxt, caffe_proto))
    stages = set(proto.state.stage)
    data = [layer for layer in proto.layer if layer.type in DATA_LAYER_TYPES and layer.HasField("transform_param")]
    if not data:
        return None
    chosen = next((layer for layer in data if in_phase(layer, caffe_pb2.TEST, stages)), data[0])
    param = chosen.transform_param
    where = f"{prototxt.name}, layer '{chosen.name}' transform_param"
    sources = {"mean": where, "scale": where, "channel_order": CAFFE_DEFAULT_SOURCE,
               "input_range": CAFFE_DEFAULT_SOURCE}
    mean_image, mean_file = None, None
    if param.HasField("mean_file") and param.mean_value:
        raise ConverterError(f"{where}: gives both mean_file and mean_value (Caffe refuses that)")
    if param.HasField("mean_file"):
        path = Path(param.mean_file)
        path = path if path.is_absolute() else prototxt.parent / path
        if not path.is_file():
            raise ConverterError(f"{where}: mean_file {param.mean_file!r} not found (looked for {path}); "
                                 "give it with --mean-file or the mean with --mean")
        mean_image, mean_file = read_mean_file(path), path.name
    crop = int(param.crop_size) or None
    if mean_image is not None and crop:
        mean_image = center_crop(mean_image, crop, str(mean_file))
    return Preprocessing(mean=tuple(_as_written(v) for v in param.mean_value), scale=(_as_written(param.scale),),
                         mean_image=mean_image, mean_file=mean_file, crop_size=crop, mirror=bool(param.mirror),
                         sources=sources)


def _as_written(value: float) -> float:
    """A float32 field as the decimal its prototxt most likely said (104.94, not 104.94000244...):
    the shortest text that reads back as the same float32."""
    return float(str(np.float32(value)))


def read_mean_file(path: Path) -> np.ndarray:
    """A mean image as C x H x W float32: a Caffe BlobProto (.binaryproto, N = 1) or a .npy array
    (C x H x W, or C values)."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as error:
            raise ConverterError(f"{path}: not a .npy array ({error})") from None
        if array.ndim == 1:
            array = array[:, None, None]
        if array.ndim == 4 and array.shape[0] == 1:
            array = array[0]
        if array.ndim != 3 or array.size > MAX_MEAN_VALUES:
            raise ConverterError(f"{path}: a mean must be C x H x W or C values, found shape {array.shape}")
        return _finite(np.asarray(array, np.float32), path)
    blob = caffe_pb2.BlobProto()
    try:
        blob.ParseFromString(path.read_bytes())
    except Exception:  # noqa: BLE001 - protobuf's DecodeError and friends: not a BlobProto
        raise ConverterError(f"{path}: not a Caffe mean file (BlobProto .binaryproto)") from None
    shape = tuple(blob.shape.dim) if blob.HasField("shape") else (blob.num, blob.channels, blob.height, blob.width)
    if len(shape) == 4 and shape[0] == 1:
        shape = shape[1:]
    data = np.asarray(blob.data if blob.data else blob.double_data, np.float32)
    if len(shape) != 3 or int(np.prod(shape)) != data.size or data.size == 0:
        raise ConverterError(f"{path}: a mean blob must be 1 x C x H x W with that many values; "
                             f"found shape {shape} and {data.size} values")
    return _finite(data.reshape(shape), path)


def _finite(array: np.ndarray, path: Path) -> np.ndarray:
    if not np.isfinite(array).all():
        raise ConverterError(f"{path}: the mean holds non-finite values")
    return array


def center_crop(image: np.ndarray, size: int, what: str) -> np.ndarray:
    """Caffe's TEST-phase crop: the center size x size window (offset (H - size) // 2)."""
    _, height, width = image.shape
    if height < size or width < size:
        raise ConverterError(f"{what}: mean image {height}x{width} is smaller than crop_size {size}")
    top, left = (height - size) // 2, (width - size) // 2
    return np.ascontiguousarray(image[:, top: top + size, left: left + size])
