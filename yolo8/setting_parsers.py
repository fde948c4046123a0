"""How each setting's value is read: the parsers and range checks the settings table (:mod:`yolo8.config`)
names for every key. Each takes a value as typed on the command line or passed from Python and returns it
parsed, or raises TypeError / ValueError saying what was expected (the table adds the key and its default)."""

from __future__ import annotations

import os
from typing import Any, Callable


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false", "1", "0", "yes", "no"}:
        return value.lower() in {"true", "1", "yes"}
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise TypeError("expected true or false")


def parse_int(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError("expected an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise TypeError("expected an integer")


def parse_float(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError("expected a number")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise TypeError("expected a number")


def parse_positive_float(value: Any) -> float:
    number = parse_float(value)
    if not number > 0:  # also refuses NaN
        raise TypeError("expected a number greater than 0")
    return number


class Range:
    """A numeric range check: ``low``/``high`` bounds (None: open), each inclusive or not; text for messages."""

    def __init__(self, low: float | None = None, high: float | None = None,
                 low_inclusive: bool = True, high_inclusive: bool = True):
        self.low, self.high, self.low_inclusive, self.high_inclusive = low, high, low_inclusive, high_inclusive

    def contains(self, number: float) -> bool:
        if number != number:  # NaN is in no range
            return False
        if self.low is not None and not (number >= self.low if self.low_inclusive else number > self.low):
            return False
        return self.high is None or (number <= self.high if self.high_inclusive else number < self.high)

    def __str__(self) -> str:
        if self.high is None:
            return f"{'>=' if self.low_inclusive else '>'} {self.low:g}"
        if self.low is None:
            return f"{'<=' if self.high_inclusive else '<'} {self.high:g}"
        return (f"{'[' if self.low_inclusive else '('}{self.low:g}, {self.high:g}{']' if self.high_inclusive else ')'}")


def ranged(parser: Callable[[Any], Any], valid: Range) -> Callable[[Any], Any]:
    """``parser`` followed by a range check; every element is checked when it returns a list."""

    def parse(value: Any) -> Any:
        parsed = parser(value)
        for number in parsed if isinstance(parsed, list) else [parsed]:
            if not valid.contains(number):
                raise ValueError(f"{number!r} is out of range; valid: {valid}")
        return parsed

    parse.__name__ = f"ranged_{parser.__name__}"
    return parse


def int_at_least(low: int) -> Callable[[Any], int]:
    return ranged(parse_int, Range(low))


def float_in(low: float | None = None, high: float | None = None,
              low_inclusive: bool = True, high_inclusive: bool = True) -> Callable[[Any], float]:
    return ranged(parse_float, Range(low, high, low_inclusive, high_inclusive))


PROBABILITY = float_in(0, 1)


def parse_batch(value: Any) -> int:
    """Images per batch, >= 1. YOLOv8's -1 (and fractions) pick a batch from GPU memory; yolo8 does not."""
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            number = float(value)
        except ValueError:
            number = None
        if number is not None and (number == -1 or 0 < number < 1):
            raise ValueError(f"{value!r} asks for YOLOv8's auto-batch, which yolo8 does not have; "
                             "give a number of images, e.g. batch=16")
    return int_at_least(1)(value)


def parse_save_period(value: Any) -> int:
    period = parse_int(value)
    if period == -1 or period >= 1:
        return period
    raise ValueError(f"{period!r} is out of range; valid: -1 (off) or >= 1")


def parse_multi_scale(value: Any) -> float:
    """YOLOv8 before 8.3 took a bool (true: sizes within +/-50% of imgsz); later versions the fraction."""
    if isinstance(value, bool) or (isinstance(value, str) and value.lower() in {"true", "false", "yes", "no"}):
        return 0.5 if parse_bool(value) else 0.0
    fraction = parse_float(value)
    if not 0 <= fraction < 1:
        raise TypeError("expected a fraction of imgsz in [0, 1), e.g. 0.5 for sizes from 0.5 to 1.5 x imgsz")
    return fraction


def parse_str(value: Any) -> str:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    if hasattr(value, "__fspath__"):
        return str(value)
    raise TypeError("expected text")


def parse_int_list(value: Any) -> list[int]:
    if isinstance(value, str):
        value = [item for item in value.strip("[]() ").split(",") if item.strip()]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value]
    if isinstance(value, (list, tuple)):
        return [parse_int(item.strip() if isinstance(item, str) else item) for item in value]
    raise TypeError("expected an integer or a comma-separated list of integers")


def parse_image_size(value: Any) -> int | list[int]:
    sizes = parse_int_list(value)
    if len(sizes) == 1:
        return sizes[0]
    if len(sizes) == 2:
        return sizes
    raise TypeError("expected one integer or [height, width]")


def parse_cache(value: Any) -> bool | str:
    if isinstance(value, str) and value.lower() in {"ram", "disk"}:
        return value.lower()
    return "ram" if parse_bool(value) else False


def parse_bool_or_path(value: Any) -> bool | str:
    """true / false (any spelling parse_bool takes), else a file path (``pretrained=runs/x/weights/best.pt``)."""
    try:
        return parse_bool(value)
    except TypeError:
        pass
    if isinstance(value, (str, os.PathLike)) and str(value).strip():
        return str(value)
    raise TypeError("expected true, false or the path of a checkpoint")


def parse_any(value: Any) -> Any:
    return value


def nullable(parser: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        if value is None or (isinstance(value, str) and value.lower() in {"none", "null", ""}):
            return None
        return parser(value)

    parse.__name__ = f"optional_{parser.__name__}"
    return parse


def choice(*choices: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = parse_str(value)
        matched = [c for c in choices if c.lower() == text.lower()]
        if not matched:
            raise TypeError(f"expected one of {', '.join(choices)}")
        return matched[0]

    return parse
