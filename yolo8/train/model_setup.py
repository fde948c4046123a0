"""Making a model ready to train on a dataset: class count, weight transfer, names and frozen layers."""

from __future__ import annotations

import logging

from torch import nn

from yolo8.config import Config

LOGGER = logging.getLogger("yolo8")


def prepare_model(model: nn.Module | None, source: str, data, config: Config, resume_checkpoint: dict | None):
    """The model to train: from the resume checkpoint, the given model, or ``source``; fitted to ``data``.

    When the dataset's class count differs from the model's, the architecture is rebuilt for the dataset and
    every weight whose name and shape still fit is transferred (unless ``pretrained=False``); then the
    ``pretrained`` setting applies (see :func:`apply_pretrained`).
    """
    from yolo8.checkpoints.load import is_model_yaml, load_model
    from yolo8.checkpoints.native import model_from_checkpoint
    from yolo8.nn.model import build_model
    from yolo8.tasks import task_of

    if resume_checkpoint is not None:
        model = model_from_checkpoint(resume_checkpoint)
    elif model is None:
        model, _ = load_model(source)
    if task_of(model).build_loss is None:
        from yolo8.tasks import TASKS

        trainable = [spec for spec in TASKS.values() if spec.build_loss is not None]
        raise ValueError(f"training a '{model.task}' model is not available yet in yolo8; train "
                         + " or ".join(f"a {spec.name} model (e.g. {spec.default_model})" for spec in trainable) + ".")
    if model.num_classes != data.num_classes:
        fitted = build_model(model.yaml, num_classes=data.num_classes)
        if config.pretrained is not False and not is_model_yaml(source):
            transfer_weights(model, fitted)
        model = fitted
    if resume_checkpoint is None:  # after the class fit: a pretrained= path fills the head's class rows too
        model = apply_pretrained(model, source, config.pretrained)
    model.names = dict(data.names)
    model.yaml["nc"] = data.num_classes
    set_dropout(model, config.dropout)
    model.float().train()
    freeze_layers(model, config.freeze)
    return model


def apply_pretrained(model: nn.Module, source: str, pretrained) -> nn.Module:
    """The ``pretrained`` setting, as YOLOv8 reads it: True keeps the weights ``model`` came with (none for a
    model YAML); False trains the same architecture from freshly initialised weights; a path transfers every
    weight whose name and shape fit from that checkpoint into ``model``."""
    from yolo8.checkpoints.load import is_model_yaml, load_model
    from yolo8.nn.model import build_model

    if pretrained is False:
        if is_model_yaml(source):
            return model
        fresh = build_model(model.yaml, num_classes=model.num_classes)
        fresh.names = dict(model.names)
        LOGGER.info("pretrained=False: training the architecture of %s from scratch (its weights are not used)",
                    source)
        return fresh
    if pretrained is True or pretrained is None or pretrained == "":
        return model
    try:
        weights, _ = load_model(str(pretrained))
    except (FileNotFoundError, ValueError) as error:
        raise ValueError(f"pretrained={pretrained}: {error}") from error
    # another task's weights are a valid start, as in YOLOv8: a detector's backbone, neck and box head fit a
    # segmenter of the same scale; only what matches by name and shape is copied
    LOGGER.info("pretrained=%s: starting from its weights%s", pretrained,
                f" (a '{weights.task}' model: its layers that fit this '{model.task}' model)"
                if weights.task != model.task else "")
    if transfer_weights(weights, model) == 0:
        raise ValueError(f"pretrained={pretrained}: none of its weights fit {source} (no layer of the same name and "
                         "shape); give weights of this architecture, or pretrained=True / False.")
    return model


def transfer_weights(source: nn.Module, target: nn.Module) -> int:
    """Copy every tensor whose name and shape exist in both models; returns how many were copied."""
    target_state = target.state_dict()
    matching = {name: tensor for name, tensor in source.state_dict().items()
                if name in target_state and target_state[name].shape == tensor.shape}
    target.load_state_dict(matching, strict=False)
    LOGGER.info("Transferred %d/%d items from pretrained weights", len(matching), len(target_state))
    return len(matching)


def freeze_layers(model: nn.Module, freeze: list[int] | None) -> list[str]:
    """Stop gradients for the layers ``freeze`` names: [n] = the first n layers, [i, j, ...] = those indices.

    The DFL integral's fixed weights are never trained. Returns the frozen parameter names.
    """
    indices: list[int] = []
    if freeze:
        indices = list(range(freeze[0])) if len(freeze) == 1 else list(freeze)
    prefixes = tuple(f"model.{index}." for index in indices)
    frozen = []
    for name, parameter in model.named_parameters():
        trainable = not name.startswith(prefixes) and ".dfl." not in name
        parameter.requires_grad_(trainable)
        if not trainable:
            frozen.append(name)
    if indices:
        LOGGER.info("Freezing layers %s (%d tensors)", indices, len(frozen))
    return frozen


def set_dropout(model: nn.Module, probability: float) -> int:
    """The ``dropout`` setting on every Dropout layer of ``model`` (a classifier's before its linear layer;
    detection models have none); returns how many layers it set."""
    layers = [module for module in model.modules() if isinstance(module, nn.Dropout)]
    for layer in layers:
        layer.p = float(probability)
    return len(layers)
