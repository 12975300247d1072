"""One module per IR op, each registering its PyTorch emitter with `@converts`; imported by pkgutil."""
