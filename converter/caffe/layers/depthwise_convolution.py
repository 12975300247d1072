"""DepthwiseConvolution (yonghenglh6/DepthwiseConvolution, merged into many MobileNet Caffe ports):
Convolution under another type name.

The fork's DepthwiseConvolutionLayer derives from BaseConvolutionLayer and its Forward_cpu is
Convolution's (im2col and one GEMM per group, then the bias): it reads all of
`convolution_param` as Convolution does, `num_output` and `group` included, and its weights are
(num_output, channels / group, kh, kw). MobileNet prototxts give group = num_output = channels,
where this is one filter per channel. (Its CUDA kernel assumes exactly that case; for other groups
the CPU path, followed here, is the layer's definition.) The farmingyard fork's
`ConvolutionDepthwise`, which ignores num_output and group, is another layer
(convolution_depthwise.py).
"""

from __future__ import annotations

from converter.caffe.layers import register
from converter.caffe.layers.convolution import blob_shapes, forward, output_shapes

register("DepthwiseConvolution", output_shapes=output_shapes, forward=forward, blob_shapes=blob_shapes)
