"""yolo8: a clean-room YOLOv8 object detector in PyTorch. Nothing runs at import."""

from yolo8.version import __version__

__all__ = ["YOLO", "__version__"]


def __getattr__(name: str):
    # Importing torch takes seconds; `yolo8 help` and `import yolo8` should not pay for it.
    if name == "YOLO":
        from yolo8.api import YOLO

        return YOLO
    raise AttributeError(f"module 'yolo8' has no attribute '{name}'")
