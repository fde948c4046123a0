"""Export: a model wrapped for inference (decode included, never reconfigured) written as ONNX, OpenVINO or
TorchScript with its metadata inside; :func:`yolo8.export.exporter.export_model` is the entry point."""
