"""The SSD fork's detection layers: PriorBox (shapes alone decide it: a Constant) and DetectionOutput."""

from converter.caffe.layers import detection_output, prior_box
from converter.caffe.net import CaffeLayer
from converter.ir import Constant, DetectionOutput
from converter.lift.registry import converts


@converts("PriorBox")
def prior_box_(layer: CaffeLayer) -> Constant:
    image_hw = layer.bottom_shapes[1][2:4] if len(layer.bottom_shapes) > 1 else (0, 0)
    value = prior_box.priors(prior_box.settings(layer), tuple(layer.bottom_shapes[0][2:4]), tuple(image_hw))
    return Constant(name=layer.name, inputs=[], outputs=list(layer.tops), value=value)


@converts("DetectionOutput")
def detection_output_(layer: CaffeLayer) -> DetectionOutput:
    s = detection_output.settings(layer)
    shapes = list(layer.bottom_shapes)
    arm = detection_output.arm_bottoms(layer, shapes, detection_output.num_priors(layer, shapes))
    return DetectionOutput(name=layer.name, inputs=list(layer.bottoms[:3 + arm]), outputs=list(layer.tops),
                           num_classes=s.num_classes, share_location=s.share_location,
                           background_label_id=s.background_label_id, code_type=s.code_type,  # type: ignore[arg-type]
                           variance_encoded_in_target=s.variance_encoded_in_target,
                           confidence_threshold=s.confidence_threshold, nms_threshold=s.nms_threshold, eta=s.eta,
                           top_k=s.top_k, keep_top_k=s.keep_top_k,
                           objectness_score=s.objectness_score)
