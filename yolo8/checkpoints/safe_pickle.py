"""A restricted unpickler for reading foreign ``torch.save`` checkpoints without running their code.

A pickle is a small program: every ``GLOBAL``/``STACK_GLOBAL``/``INST``/``OBJ``/``EXT*`` opcode asks
``Unpickler.find_class(module, name)`` for a callable, and ``REDUCE``/``NEWOBJ``/``BUILD`` then call it
with arguments taken from the file. Controlling ``find_class`` therefore controls everything a
checkpoint can run. Here it resolves a global in exactly one of three ways:

1. an explicit allow-list of data-only callables (containers, tensor rebuilders, dtypes, ...), most of
   them wrapped so that they check their arguments;
2. an *inert placeholder* class for any ``ultralytics.*`` or ``torch.nn.modules.*`` global: building
   one records the constructor arguments and the ``__setstate__`` state, and runs nothing else;
3. anything else raises :class:`UnsafeCheckpointError`, naming the file and the global.

Use it through ``torch.load(path, map_location="cpu", weights_only=False,
pickle_module=RestrictedPickleModule(path))``; torch then supplies ``persistent_load`` (storages)
and resolves its own storage type names (``torch.HalfStorage`` ...) to inert dtype markers.
"""

from __future__ import annotations

import builtins
import collections
import pickle
from typing import Any, Callable, ClassVar

import torch

PLACEHOLDER_MODULE_PREFIXES = ("ultralytics.", "torch.nn.modules.")

# Old pickles (protocol < 3) spell some modules the Python 2 way.
_PY2_MODULE_NAMES = {"__builtin__": "builtins", "copy_reg": "copyreg"}


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint referenced a global that is not on the allow-list; nothing from it was run."""


class PlaceholderObject:
    """Inert stand-in for a class from a checkpoint (``qualified_name`` says which).

    Constructing one records the arguments, ``__setstate__`` records the state, ``append`` /
    ``__setitem__`` record list and dict items. No attribute of the original class exists here,
    and ``__slots__`` keeps the file from setting any attribute of its own choosing.
    """

    __slots__ = ("construct_args", "construct_kwargs", "state", "list_items", "dict_items")
    qualified_name: ClassVar[str] = "<placeholder>"
    dump_patches: ClassVar[bool] = False  # read by torch's legacy-format loader; never write patch files

    def __new__(cls, *args: Any, **kwargs: Any) -> "PlaceholderObject":
        obj = object.__new__(cls)
        obj.construct_args = args
        obj.construct_kwargs = kwargs
        obj.state = None
        obj.list_items = []
        obj.dict_items = {}
        return obj

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def append(self, item: Any) -> None:
        self.list_items.append(item)

    def extend(self, items: Any) -> None:
        self.list_items.extend(items)

    def __setitem__(self, key: Any, value: Any) -> None:
        self.dict_items[key] = value

    @property
    def attributes(self) -> dict:
        """The recorded instance ``__dict__`` (plus slot state), ``{}`` if the file gave none."""
        state = self.state
        if isinstance(state, tuple) and len(state) == 2:  # (dict_state, slots_state)
            merged = dict(state[0] or {})
            merged.update(state[1] or {})
            return merged
        return dict(state) if isinstance(state, dict) else {}

    def __repr__(self) -> str:
        return f"<placeholder {self.qualified_name}>"


def is_placeholder(obj: Any) -> bool:
    return isinstance(obj, PlaceholderObject)


# ---------------------------------------------------------------- checked data-only callables


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise UnsafeCheckpointError(message)


def _check_tensor_layout(storage: Any, storage_offset: Any, size: Any, stride: Any, hooks: Any) -> None:
    _require(isinstance(storage, (torch.storage.TypedStorage, torch.UntypedStorage)),
             f"tensor rebuilder got {type(storage).__name__} instead of a storage")
    _require(isinstance(storage_offset, int), "tensor storage offset is not an int")
    _require(isinstance(size, tuple) and all(isinstance(s, int) for s in size), "tensor size is not a tuple of ints")
    _require(isinstance(stride, tuple) and all(isinstance(s, int) for s in stride), "tensor stride is not ints")
    _require(not hooks, "tensor carries backward hooks (callables); refusing them")


def _rebuild_tensor(storage, storage_offset, size, stride):
    _check_tensor_layout(storage, storage_offset, size, stride, None)
    return torch._utils._rebuild_tensor(storage, storage_offset, size, stride)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None):
    _check_tensor_layout(storage, storage_offset, size, stride, backward_hooks)
    tensor = torch._utils._rebuild_tensor(storage, storage_offset, size, stride)
    tensor.requires_grad = bool(requires_grad)  # metadata (tensor flags set by name) is dropped
    return tensor


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype, metadata=None):
    _check_tensor_layout(storage, storage_offset, size, stride, backward_hooks)
    _require(isinstance(dtype, torch.dtype), "tensor dtype is not a torch.dtype")
    untyped = storage._untyped_storage if isinstance(storage, torch.storage.TypedStorage) else storage
    tensor = torch.empty((0,), dtype=dtype, device=untyped.device)
    tensor.set_(untyped, storage_offset, size, stride)
    tensor.requires_grad = bool(requires_grad)
    return tensor


def _rebuild_parameter(data, requires_grad, backward_hooks, state=None):
    _require(isinstance(data, torch.Tensor), "parameter data is not a tensor")
    _require(not backward_hooks, "parameter carries backward hooks (callables); refusing them")
    return torch.nn.Parameter(data, bool(requires_grad))  # python attributes in `state` are dropped


def _reconstructor(cls, base, state):
    """``copyreg._reconstructor`` restricted to placeholder classes built on ``object``."""
    _require(isinstance(cls, type) and issubclass(cls, PlaceholderObject) and base is object and state is None,
             "copyreg._reconstructor is only allowed for placeholder classes based on object")
    return cls.__new__(cls)


def _codecs_encode(text, encoding="utf-8", errors="strict"):
    """Protocol-2 pickles store ``bytes`` as ``_codecs.encode(str, 'latin1')``; allow only that."""
    _require(isinstance(text, str) and encoding in ("latin1", "latin-1") and errors == "strict",
             "_codecs.encode is only allowed as encode(str, 'latin1')")
    return text.encode("latin1")


def _path_as_string(*parts):
    _require(all(isinstance(p, str) for p in parts), "a pickled path has non-string parts")
    return "/".join(parts) if parts else "."


def _numpy_functions() -> dict[tuple[str, str], Callable]:
    import numpy

    def reconstruct(subtype, shape, dtype):
        _require(subtype is numpy.ndarray, "numpy _reconstruct is only allowed for numpy.ndarray")
        return numpy.ndarray.__new__(numpy.ndarray, shape, dtype)

    def scalar(dtype, data=None):
        _require(isinstance(dtype, numpy.dtype) and not dtype.hasobject, "numpy scalar of an object dtype")
        _require(isinstance(data, bytes), "numpy scalar data is not bytes")
        return numpy.frombuffer(data, dtype=dtype, count=1)[0]

    table = {}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        table[(module, "_reconstruct")] = reconstruct
        table[(module, "scalar")] = scalar
    return table


class _DataCallable:
    """An allow-listed Python function as the pickle sees it.

    A pickle may ``BUILD`` on any object it holds, which for a plain function would set its
    ``__defaults__`` or ``__dict__``; this wrapper refuses that, so a file cannot patch our checks.
    """

    __slots__ = ("function",)

    def __init__(self, function: Callable) -> None:
        self.function = function

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)

    def __setstate__(self, state: Any) -> None:
        raise UnsafeCheckpointError(f"the checkpoint tried to set attributes on {self.function.__name__}")


def _allowed_globals() -> dict[tuple[str, str], Callable]:
    functions = {
        ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
        ("copyreg", "_reconstructor"): _reconstructor,
        ("_codecs", "encode"): _codecs_encode,
    }
    for cls in ("Path", "PosixPath", "WindowsPath", "PurePath", "PurePosixPath", "PureWindowsPath"):
        functions[("pathlib", cls)] = _path_as_string
    functions.update(_numpy_functions())
    # Types are immutable C types (BUILD on them fails); functions are wrapped, fresh for every load.
    table: dict[tuple[str, str], Callable] = {key: _DataCallable(f) for key, f in functions.items()}
    table[("collections", "OrderedDict")] = collections.OrderedDict
    table[("torch", "Size")] = torch.Size
    table[("torch", "device")] = torch.device
    for name in ("set", "frozenset", "list", "dict", "tuple", "slice", "complex", "bytearray",
                 "int", "float", "str", "bool", "object", "range"):
        table[("builtins", name)] = getattr(builtins, name)
    import numpy

    table[("numpy", "dtype")] = numpy.dtype
    table[("numpy", "ndarray")] = numpy.ndarray
    return table


def _torch_constant(name: str) -> Any:
    """``torch.float16``, ``torch.contiguous_format``, ``torch.strided``: plain enum-like values only."""
    value = getattr(torch, name, None) if name.isidentifier() and not name.startswith("_") else None
    return value if isinstance(value, (torch.dtype, torch.memory_format, torch.layout)) else None


class RestrictedPickleModule:
    """Module-like object for ``torch.load(..., pickle_module=RestrictedPickleModule(source))``.

    ``source`` (the file name) is used in error messages. ``placeholders`` maps each qualified class
    name met so far to its placeholder class, so one name always gives the same class.
    """

    __name__ = "yolo8.checkpoints.safe_pickle"

    def __init__(self, source: str) -> None:
        self.source = str(source)
        self.placeholders: dict[str, type] = {}
        self._allowed = _allowed_globals()
        owner = self

        class Unpickler(pickle.Unpickler):
            def find_class(self, module_name: str, name: str) -> Any:
                return owner.resolve_global(module_name, name)

        self.Unpickler = Unpickler

    def load(self, file: Any, **kwargs: Any) -> Any:
        return self.Unpickler(file, **kwargs).load()

    def resolve_global(self, module_name: str, name: str) -> Any:
        """The object standing for ``module_name.name``: allow-listed, a placeholder, or refused."""
        module_name = _PY2_MODULE_NAMES.get(module_name, module_name)
        allowed = self._allowed.get((module_name, name))
        if allowed is not None:
            return allowed
        if module_name == "torch" and _torch_constant(name) is not None:
            return _torch_constant(name)
        if module_name.startswith(PLACEHOLDER_MODULE_PREFIXES) and name.isidentifier():
            return self.placeholder_class(f"{module_name}.{name}")
        raise UnsafeCheckpointError(
            f"{self.source} tried to load '{module_name}.{name}', which yolo8 does not allow in a checkpoint; "
            "nothing from the file was run. Only tensors, plain data and inert stand-ins for "
            "ultralytics.* / torch.nn.modules.* classes are accepted. If you trust this file, convert it to a "
            "plain state_dict in an environment that can load it."
        )

    def placeholder_class(self, qualified_name: str) -> type:
        cls = self.placeholders.get(qualified_name)
        if cls is None:
            short_name = qualified_name.rsplit(".", 1)[-1]
            cls = type(short_name, (PlaceholderObject,), {"__slots__": (), "qualified_name": qualified_name})
            self.placeholders[qualified_name] = cls
        return cls
