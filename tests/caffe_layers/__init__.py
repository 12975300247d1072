"""Tests of Caffe's layer semantics (converter/caffe/layers) against real Caffe and OpenCV.

A package so its test modules get unique names (caffe_layers.test_<type>) beside other test folders.
"""
