"""yolo8: a clean-room YOLOv8 object detector in PyTorch. Nothing runs at import."""

__all__ = ["YOLO", "__version__"]


def __getattr__(name: str):
    # Importing torch takes seconds; `yolo8 help` and `import yolo8` should not pay for it.
    if name == "YOLO":
        from yolo8.api import YOLO

        return YOLO
    if name == "__version__":  # from yolo8/version.py, read when asked: `import yolo8.ops.boxes` loads no other module
        from yolo8.version import __version__

        return __version__
    raise AttributeError(f"module 'yolo8' has no attribute '{name}'")
