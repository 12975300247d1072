"""The Caffe forks whose schema protos/caffe.proto includes, and the field numbers they use.

Prototxt text names its fields, so a superset by name reads every fork's prototxt. Binary files
(caffemodels) name nothing: a field is a number, and some forks gave BVLC's numbers (or another
fork's) to other fields. This table records each fork field at the number the fork itself uses,
next to the superset's own number for it; where they differ, the fork's number means something
else in BVLC Caffe or another fork, and `converter.caffe.binary` decides per layer which reading
applies (or says which fork the file needs).

Facts from the forks' public sources (each fork's src/caffe/proto/caffe.proto unless noted).
"""

from __future__ import annotations

from dataclasses import dataclass

BVLC = "BVLC Caffe"
SSD = "SSD (weiliu89/caffe, ssd branch)"
MOBILENET_SSD = "MobileNet-SSD (chuanqi305/ssd)"
REFINEDET = "RefineDet (sfzhang15/RefineDet)"
SEGNET = "SegNet (alexgkendall/caffe-segnet)"
ENET = "ENet (TimoSaemann/caffe-enet)"
PSPNET = "PSPNet / DeepLab v2 (hszhao/PSPNet)"
DEEPLAB_V1 = "DeepLab v1 (deeplab-public)"
FASTER_RCNN = "Faster R-CNN (rbgirshick/caffe-fast-rcnn)"
SHUFFLENET = "ShuffleNet (farmingyard/ShuffleNet)"
YOLOV3 = "YOLOv3 ports (ChenYingpeng/caffe-yolov3)"
CEIL_MODE = "ceil_mode pooling (Caffe PR 3057, never merged; DenseNet/ResNeXt ports)"
CRNN = "crnn.caffe"


@dataclass(frozen=True)
class ForkField:
    """`message.name` is field `number` in `fork`'s schema; `layer_types` are the layer types
    (V2 names) that use it, which is how a binary file tells the reading apart."""

    fork: str
    message: str
    name: str
    number: int
    layer_types: tuple[str, ...] = ()


def _fields(fork: str, message: str, numbers: dict[str, int], *layer_types: str) -> list[ForkField]:
    return [ForkField(fork, message, name, number, tuple(layer_types)) for name, number in numbers.items()]


FORK_FIELDS: list[ForkField] = [
    *_fields(SSD, "LayerParameter", {"annotated_data_param": 200}, "AnnotatedData"),
    *_fields(SSD, "LayerParameter", {"multibox_loss_param": 201}, "MultiBoxLoss"),
    *_fields(SSD, "LayerParameter", {"permute_param": 202}, "Permute"),
    *_fields(SSD, "LayerParameter", {"prior_box_param": 203}, "PriorBox"),
    *_fields(SSD, "LayerParameter", {"detection_output_param": 204}, "DetectionOutput"),
    *_fields(SSD, "LayerParameter", {"detection_evaluate_param": 205}, "DetectionEvaluate"),
    *_fields(SSD, "LayerParameter", {"norm_param": 206}, "Normalize"),
    *_fields(SSD, "LayerParameter", {"video_data_param": 207}, "VideoData"),
    *_fields(SSD, "TransformationParameter", {
        "resize_param": 8, "noise_param": 9, "emit_constraint": 10, "crop_h": 11, "crop_w": 12,
        "distort_param": 13, "expand_param": 14}),
    *_fields(MOBILENET_SSD, "LayerParameter", {"relu6_param": 208}, "ReLU6"),
    *_fields(MOBILENET_SSD, "PriorBoxParameter", {"reduce_boxes": 14}, "PriorBox"),
    *_fields(REFINEDET, "DetectionOutputParameter", {"objectness_score": 24}, "DetectionOutput"),
    *_fields(REFINEDET, "MultiBoxLossParameter", {"objectness_score": 24}, "MultiBoxLoss"),
    *_fields(SEGNET, "LayerParameter", {"bn_param": 45}, "BN"),
    *_fields(SEGNET, "LayerParameter", {"upsample_param": 137}, "Upsample"),
    *_fields(SEGNET, "LayerParameter", {"dense_image_data_param": 138}, "DenseImageData"),
    *_fields(SEGNET, "BNParameter", {"scale_filler": 1, "shift_filler": 2, "bn_mode": 3}, "BN"),
    *_fields(SEGNET, "UpsampleParameter", {
        "scale": 1, "scale_h": 2, "scale_w": 3, "pad_out_h": 4, "pad_out_w": 5, "upsample_h": 6,
        "upsample_w": 7}, "Upsample"),
    *_fields(SEGNET, "LossParameter", {"weight_by_label_freqs": 3, "class_weighting": 4}),
    *_fields(SEGNET, "DropoutParameter", {"sample_weights_test": 2}, "Dropout"),
    *_fields(ENET, "LayerParameter", {"bn_param": 45}, "BN"),
    *_fields(ENET, "LayerParameter", {"dense_image_data_param": 46}, "DenseImageData"),
    *_fields(ENET, "LayerParameter", {"upsample_param": 147}, "Upsample"),
    *_fields(ENET, "ImageDataParameter", {"label_divide_factor": 13}, "ImageData"),
    *_fields(ENET, "DenseImageDataParameter", {"label_divide_factor": 13}, "DenseImageData"),
    *_fields(PSPNET, "LayerParameter", {"bn_param": 152}, "BN"),
    *_fields(PSPNET, "LayerParameter", {"interp_param": 143}, "Interp"),
    *_fields(PSPNET, "LayerParameter", {"seg_accuracy_param": 144}, "SegAccuracy"),
    *_fields(PSPNET, "LayerParameter", {"mat_write_param": 145}, "MatWrite"),
    *_fields(PSPNET, "LayerParameter", {"mat_read_param": 151}, "MatRead"),
    *_fields(PSPNET, "BNParameter", {
        "slope_filler": 1, "bias_filler": 2, "momentum": 3, "eps": 4, "frozen": 5, "engine": 6}, "BN"),
    *_fields(PSPNET, "InterpParameter", {
        "height": 1, "width": 2, "zoom_factor": 3, "shrink_factor": 4, "pad_beg": 5, "pad_end": 6}, "Interp"),
    *_fields(PSPNET, "TransformationParameter", {"scale_factors": 8, "crop_width": 9, "crop_height": 10}),
    *_fields(PSPNET, "BatchNormParameter", {"update_global_stats": 4}, "BatchNorm"),
    *_fields(PSPNET, "ImageDataParameter", {"ignore_label": 15, "label_type": 16}, "ImageData"),
    *_fields(DEEPLAB_V1, "V1LayerParameter", {"interp_param": 43}, "Interp"),
    *_fields(DEEPLAB_V1, "V1LayerParameter", {"seg_accuracy_param": 42}, "SegAccuracy"),
    *_fields(DEEPLAB_V1, "V1LayerParameter", {"padding_param": 45}, "Padding"),
    *_fields(DEEPLAB_V1, "V1LayerParameter", {"mat_write_param": 46}, "MatWrite"),
    *_fields(DEEPLAB_V1, "V1LayerParameter", {"mat_read_param": 47}, "MatRead"),
    *_fields(DEEPLAB_V1, "ConvolutionParameter", {"hole": 17, "hole_h": 18, "hole_w": 19}, "Convolution"),
    *_fields(DEEPLAB_V1, "ImageDataParameter", {"has_label": 13, "max_labels": 14}, "ImageSegData"),
    *_fields(FASTER_RCNN, "LayerParameter", {"roi_pooling_param": 8266711}, "ROIPooling"),
    *_fields(FASTER_RCNN, "LayerParameter", {"smooth_l1_loss_param": 8266712}, "SmoothL1Loss"),
    *_fields(FASTER_RCNN, "ROIPoolingParameter", {"pooled_h": 1, "pooled_w": 2, "spatial_scale": 3}, "ROIPooling"),
    *_fields(FASTER_RCNN, "DropoutParameter", {"scale_train": 2}, "Dropout"),
    *_fields(SHUFFLENET, "LayerParameter", {"shuffle_channel_param": 164}, "ShuffleChannel"),
    *_fields(SHUFFLENET, "ShuffleChannelParameter", {"group": 1}, "ShuffleChannel"),
    *_fields(YOLOV3, "LayerParameter", {"upsample_param": 149}, "Upsample"),
    *_fields(YOLOV3, "UpsampleParameter", {"scale": 1}, "Upsample"),
    *_fields(CEIL_MODE, "PoolingParameter", {"ceil_mode": 13}, "Pooling"),
    *_fields(CRNN, "LayerParameter", {"ctc_loss_param": 200}, "CtcLoss"),
    *_fields(CRNN, "LayerParameter", {"continuation_indicator_param": 201}, "ContinuationIndicator"),
]

# V1 layer type enum values the forks added, at the forks' own numbers (DeepLab v1's
# IMAGE_SEG_DATA is 39, BVLC's DECONVOLUTION; the superset gives it 10039).
FORK_V1_TYPES: dict[str, tuple[str, int]] = {
    "IMAGE_SEG_DATA": (DEEPLAB_V1, 39), "SEG_ACCURACY": (DEEPLAB_V1, 40), "INTERP": (DEEPLAB_V1, 41),
    "PADDING": (DEEPLAB_V1, 42), "MAT_WRITE": (DEEPLAB_V1, 43), "MAT_READ": (DEEPLAB_V1, 44),
    "DENSE_CRF": (DEEPLAB_V1, 45),
}

# Each superset number that is not the fork's own is the fork's number plus this.
RELOCATION_OFFSET = 10000
