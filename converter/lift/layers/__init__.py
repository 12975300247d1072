"""The converters from Caffe layers to IR nodes, one function per Caffe layer type, grouped in modules
by kind (activations, shape ops, normalisation, ...); each registers itself with `@converts("Type")`
and `converter.lift` imports every module here."""
