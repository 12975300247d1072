"""One module per IR op, each registering its converter with `@converts`; imported by pkgutil."""
