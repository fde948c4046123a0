"""`yolo8 [TASK] MODE key=value ...`: the command line YOLOv8 users already type, mapped onto the Python API."""

from __future__ import annotations

import pickle
import sys
import warnings
from typing import Sequence

from yolo8.config import MODES, Config, ConfigError, format_help

USAGE = """\
Usage: yolo8 [TASK] MODE [key=value ...]

  TASK  detect (default), segment or classify
  MODE  train, val, predict, track, export or benchmark
        export model=best.pt format=onnx|openvino|torchscript [dynamic] [nms] [int8 data=...]
        benchmark model=best.pt [data=...] [imgsz=...]   size, accuracy and speed of every format
        convert model=old.pt [out=new.pt]   Ultralytics checkpoint -> yolo8 checkpoint
        convert coco instances.json [images=DIR] [out=DIR] [copy=True] [segments=False]
                        COCO annotations -> YOLO labels + data.yaml
        help            this text and every setting with its default
        MODE help       the settings MODE reads
        version         the installed version

Examples:
  yolo8 train                                   # yolov8n on the built-in dataset
  yolo8 train model=yolov8s.yaml data=coco8.yaml epochs=50 imgsz=640
  yolo8 val model=runs/detect/train/weights/best.pt
  yolo8 predict model=best.pt source=images/ conf=0.4
  yolo8 track model=best.pt source=video.mp4 tracker=bytetrack.yaml   # no source: the built-in demo, scored
  yolo8 predict model=best.pt source=big.jpg slice=640 slice_overlap=0.2   # sliced inference for small objects
"""


HELP_WORDS = ("help", "--help", "-h")
# Problems with the user's files or settings: reported as one line naming the file, not as a traceback.
# (A refused checkpoint raises pickle.UnpicklingError, naming the file and the global it asked for.)
USER_ERRORS = (ValueError, OSError, pickle.UnpicklingError)


def task_names() -> tuple[str, ...]:
    """The tasks of :data:`yolo8.tasks.TASKS`; imported only when a command names one (it loads torch)."""
    from yolo8.tasks import TASKS

    return tuple(TASKS)


class CommandLineError(ValueError):
    """The command line could not be understood."""


def parse_arguments(argv: Sequence[str]) -> tuple[str | None, str | None, dict[str, str]]:
    """Split argv into (task, mode, {key: raw value}); raises CommandLineError with a hint."""
    task = mode = None
    overrides: dict[str, str] = {}
    for token in argv:
        if "=" in token:
            key, _, value = token.partition("=")
            key = key.strip().lstrip("-")
            if not key:
                raise CommandLineError(f"'{token}' has no key before '='.")
            overrides[key] = value.strip()
        elif token in MODES and mode is None:
            mode = token
        elif token in HELP_WORDS:
            continue
        elif token in ("version", "--version") and mode is None:
            mode = "version"
        elif token in task_names() and task is None and mode is None:
            task = token
        else:
            raise CommandLineError(
                f"'{token}' is not a task, a mode or a key=value pair. "
                f"Tasks: {', '.join(task_names())}; modes: {', '.join(MODES)}; settings look like epochs=10."
            )
    return task, mode, overrides


CONVERT_KEYS = ("model", "out")
CONVERT_COCO_KEYS = ("images", "out", "copy", "segments")
CONVERT_COCO_USAGE = "Usage: yolo8 convert coco instances.json [images=DIR] [out=DIR] [copy=True] [segments=False]"


def run_convert_coco(argv: Sequence[str]) -> int:
    """`yolo8 convert coco instances.json [images=DIR] [out=DIR] [copy=…] [segments=…]`: COCO -> YOLO dataset."""
    from yolo8.config import closest_key

    arguments = dict(token.partition("=")[::2] for token in argv if "=" in token)
    files = [token for token in argv if "=" not in token]
    unknown = [key for key in arguments if key not in CONVERT_COCO_KEYS]
    flags = {key: arguments[key].lower() for key in ("copy", "segments") if key in arguments}
    not_bool = [f"{key}={value}" for key, value in flags.items() if value not in ("true", "false")]
    if unknown or not_bool or len(files) != 1:
        hint = closest_key(unknown[0], CONVERT_COCO_KEYS) if unknown else None
        problem = (f"'{unknown[0]}' is not understood. " if unknown else
                   f"'{not_bool[0]}': use True or False. " if not_bool else
                   f"give exactly one annotations JSON, got {len(files)}. ")
        print(f"yolo8: error: {problem}{f'Did you mean {hint!r}? ' if hint else ''}{CONVERT_COCO_USAGE}",
              file=sys.stderr)
        return 2
    from yolo8.data.coco import convert_coco_split

    try:
        result = convert_coco_split(files[0], arguments.get("images") or None, arguments.get("out") or None,
                                    copy_images=flags.get("copy") == "true", segments=flags.get("segments") != "false")
    except (OSError, ValueError) as error:
        print(f"yolo8: error: {error}", file=sys.stderr)
        return 1
    print(result.summary())
    return 0


def run_convert(argv: Sequence[str]) -> int:
    """`yolo8 convert model=old.pt [out=new.pt]`: write a native checkpoint from an Ultralytics one;
    `yolo8 convert coco …`: see :func:`run_convert_coco`."""
    from yolo8.config import closest_key

    if argv and argv[0] == "coco":
        return run_convert_coco(argv[1:])
    arguments = dict(token.partition("=")[::2] for token in argv if "=" in token)
    stray = [token for token in argv if "=" not in token]
    unknown = [key for key in arguments if key not in CONVERT_KEYS]
    if stray or unknown or "model" not in arguments:
        problem = f"'{(stray or unknown)[0]}' is not understood. " if stray or unknown else ""
        hint = closest_key(unknown[0], CONVERT_KEYS) if unknown else None
        print(f"yolo8: error: {problem}{f'Did you mean {hint!r}? ' if hint else ''}"
              "Usage: yolo8 convert model=old.pt [out=new.pt]", file=sys.stderr)
        return 2
    from yolo8.checkpoints.convert import convert_ultralytics_checkpoint

    try:
        written = convert_ultralytics_checkpoint(arguments["model"], arguments.get("out") or None)
    except USER_ERRORS as error:
        print(f"yolo8: error: {error}", file=sys.stderr)
        return 1
    print(f"Converted {arguments['model']} -> {written} (loads with torch.load(weights_only=True))")
    return 0


def run(argv: Sequence[str]) -> int:
    """Execute one command line; returns the process exit code."""
    if argv and argv[0] == "convert":
        return run_convert(argv[1:])
    try:
        task, mode, raw_overrides = parse_arguments(argv)
    except CommandLineError as error:
        print(f"yolo8: error: {error}", file=sys.stderr)
        return 2
    wants_help = any(word in argv for word in HELP_WORDS)
    if mode is None and (wants_help or not raw_overrides):
        print(USAGE + "\nSettings (key, default, meaning):\n" + format_help())
        return 0
    if mode == "version":
        from yolo8.version import __version__

        print(__version__)
        return 0
    if wants_help:
        print(f"Usage: yolo8 [TASK] {mode} [key=value ...]\n\nSettings for {mode} (key, default, meaning):")
        print(format_help(mode))
        return 0
    if mode is None:
        print(f"yolo8: error: no mode given; choose one of {', '.join(MODES)}.", file=sys.stderr)
        return 2
    try:
        config = Config(raw_overrides, mode=mode, **({"task": task} if task else {}))
        if "task" in raw_overrides:
            from yolo8.tasks import task_spec

            task_spec(config.task)  # task=segmnt: an error that names the tasks
    except (ConfigError, ValueError) as error:
        print(f"yolo8: error: {error}", file=sys.stderr)
        return 2

    from yolo8.api import run_mode
    from yolo8.runtime.console import enable_console_logging

    enable_console_logging()  # the command line owns its process: its console prints yolo8's messages
    previous_format, warnings.formatwarning = warnings.formatwarning, one_line_warning
    try:
        run_mode(config)
    except USER_ERRORS as error:
        print(f"yolo8: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as interrupt:  # Ctrl-C: one line (training says how to resume), not a traceback
        print(f"yolo8: {str(interrupt) or 'interrupted'}", file=sys.stderr)
        return 130
    finally:
        warnings.formatwarning = previous_format  # run() is also called in-process (tests, scripts)
    return 0


def one_line_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings on the command line as one line each, ``yolo8: warning: <message> (<category>)``, without the
    Python source line the default format adds."""
    return f"yolo8: warning: {message} ({category.__name__})\n"


def main() -> None:
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
