"""One module per IR op, each registering its ONNX emitter with `@converts`; imported by pkgutil."""
