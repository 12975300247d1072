"""One module per Caffe layer type, each registering its converter."""
