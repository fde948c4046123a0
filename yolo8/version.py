"""The yolo8 version: one place that the package, its metadata and the files it writes read."""

__version__ = "0.1.0"
