"""The built-in dataset: synthetic shapes on textured backgrounds, in the YOLO dataset format.

``builtin_dataset()`` returns the path of a data.yaml (generating the images on first use);
``sample_images()`` returns the shipped sample images for prediction.
"""

from yolo8.data.synthetic.builtin import builtin_dataset, cache_home, default_root
from yolo8.data.synthetic.samples import found_sample_objects, sample_images, sample_scene
from yolo8.data.synthetic.scene import Scene, SceneObject, render_scene
from yolo8.data.synthetic.shapes import CLASS_NAMES

__all__ = [
    "CLASS_NAMES",
    "Scene",
    "SceneObject",
    "builtin_dataset",
    "cache_home",
    "default_root",
    "found_sample_objects",
    "render_scene",
    "sample_images",
    "sample_scene",
]
