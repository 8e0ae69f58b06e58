"""Size checks on what a template expression is about to build, so `"x" * 10**9`, `"%900000000d" % 1` or
`"{:>900000000}".format(1)` fail at once with a precise message instead of exhausting the worker's memory.

Each check estimates the size of the result from its inputs before the operation runs and raises
RenderLimitError past the bound; the worker's rlimits remain the backstop for what is not checked here.
"""

from __future__ import annotations

import math
import re
import string
import types
from collections.abc import Callable, Mapping, Sequence, Sized
from typing import Any

from jinja2 import pass_eval_context

from rudder.render.limits import RenderLimitError, RenderLimits

# printf conversions: flags, width, precision (either may be `*`, taken from the arguments).
_PRINTF = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")
_DIGITS = re.compile(r"\d+")
# str methods whose result can be far larger than their inputs, by an integer argument.
_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _refuse(what: str, size: int, limit: int, unit: str) -> RenderLimitError:
    return RenderLimitError(f"{what} would make {size} {unit} (limit {limit})")


def check_size(value: Any, limits: RenderLimits, what: str) -> None:
    """Refuse a string or list already over the bound (e.g. a filter's input)."""
    if isinstance(value, str) and len(value) > limits.max_string:
        raise _refuse(what, len(value), limits.max_string, "characters")
    if isinstance(value, list | tuple) and len(value) > limits.max_items:
        raise _refuse(what, len(value), limits.max_items, "items")


def check_width(width: Any, limits: RenderLimits, what: str) -> None:
    """Refuse a padding/indent width that alone exceeds the string bound."""
    if _is_int(width) and width > limits.max_string:
        raise _refuse(what, width, limits.max_string, "characters")


def _check_repeat(sequence: Any, times: int, limits: RenderLimits) -> None:
    if isinstance(sequence, str):
        size, limit, unit = len(sequence) * max(times, 0), limits.max_string, "characters"
    elif isinstance(sequence, list | tuple):
        size, limit, unit = len(sequence) * max(times, 0), limits.max_items, "items"
    else:
        return
    if size > limit:
        raise _refuse("repetition with *", size, limit, unit)


def _check_power(base: Any, exponent: Any, limits: RenderLimits) -> None:
    if not (_is_int(base) and _is_int(exponent)) or exponent <= 0 or abs(base) <= 1:
        return
    bits = exponent * math.log2(abs(base))
    if bits > limits.max_int_bits:
        raise _refuse("the power with **", math.ceil(bits), limits.max_int_bits, "bits")


def check_binop(operator: str, left: Any, right: Any, limits: RenderLimits) -> None:
    """Check `left <operator> right` for the operators the sandbox intercepts."""
    if operator == "*":
        if _is_int(left) and _is_int(right):
            bits = left.bit_length() + right.bit_length()
            if bits > limits.max_int_bits:
                raise _refuse("the product with *", bits, limits.max_int_bits, "bits")
        elif _is_int(right):
            _check_repeat(left, right, limits)
        elif _is_int(left):
            _check_repeat(right, left, limits)
    elif operator == "**":
        _check_power(left, right, limits)
    elif operator == "%" and isinstance(left, str):
        check_printf(left, right, limits)
    elif operator == "+" and isinstance(left, Sized) and isinstance(right, Sized) and not isinstance(left, Mapping):
        total = len(left) + len(right)
        if isinstance(left, str) and total > limits.max_string:
            raise _refuse("concatenation with +", total, limits.max_string, "characters")
        if isinstance(left, list | tuple) and total > limits.max_items:
            raise _refuse("concatenation with +", total, limits.max_items, "items")


def check_printf(fmt: str, args: Any, limits: RenderLimits) -> None:
    """Refuse `%`-formatting whose width or precision (literal or `*`) exceeds the string bound."""
    star = False
    for match in _PRINTF.finditer(fmt):
        for part in match.groups():
            if part == "*":
                star = True
            elif part is not None and int(part) > limits.max_string:
                raise _refuse("the % format", int(part), limits.max_string, "characters")
    if star:
        for arg in args if isinstance(args, tuple) else (args,):
            check_width(arg, limits, "the % format")


def check_format(fmt: str, args: Sequence[Any], kwargs: Mapping[str, Any], limits: RenderLimits) -> None:
    """Refuse `str.format` whose format specs ask for more than the string bound."""
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError:
        return  # a malformed format string fails in str.format itself, with its own message
    nested = False
    for _, _, spec, _ in fields:
        if not spec:
            continue
        nested = nested or "{" in spec
        for digits in _DIGITS.findall(spec):
            if int(digits) > limits.max_string:
                raise _refuse("str.format", int(digits), limits.max_string, "characters")
    if nested:
        for value in (*args, *kwargs.values()):
            check_width(value, limits, "str.format")


def check_method_call(method: Any, args: Sequence[Any], kwargs: Mapping[str, Any], limits: RenderLimits) -> None:
    """Check calls of str methods whose output can outgrow their inputs (`"x".ljust(10**9)`)."""
    if not isinstance(method, types.BuiltinMethodType | types.MethodType):
        return
    owner, name = getattr(method, "__self__", None), getattr(method, "__name__", "")
    if not isinstance(owner, str):
        return
    if name in _WIDTH_METHODS and args:
        check_width(args[0], limits, f"str.{name}")
    elif name == "expandtabs":
        size = (args[0] if args and _is_int(args[0]) else 8) * owner.count("\t") + len(owner)
        if size > limits.max_string:
            raise _refuse("str.expandtabs", size, limits.max_string, "characters")
    elif name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        count = len(owner) + 1 if args[0] == "" else owner.count(args[0])
        size = len(owner) + count * (len(args[1]) - len(args[0]))
        if size > limits.max_string:
            raise _refuse("str.replace", size, limits.max_string, "characters")
    elif name == "join" and args and isinstance(args[0], Sized):
        size = len(owner) * len(args[0])
        if size > limits.max_string:
            raise _refuse("str.join", size, limits.max_string, "characters")


def guard_filters(filters: Mapping[str, Callable[..., Any]], limits: RenderLimits) -> dict[str, Callable[..., Any]]:
    """Jinja2's built-in filters that take a size or a width, wrapped with the same checks."""
    center, fmt, batch, slice_ = filters["center"], filters["format"], filters["batch"], filters["slice"]
    replace, join = filters["replace"], filters["join"]

    def checked_center(value: Any, width: int = 80) -> Any:
        check_width(width, limits, "the center filter")
        return center(value, width)

    def checked_format(value: Any, *args: Any, **kwargs: Any) -> Any:
        check_printf(str(value), tuple(kwargs.values()) or args, limits)
        return fmt(value, *args, **kwargs)

    def checked_batch(value: Any, linecount: int, fill_with: Any = None) -> Any:
        if fill_with is not None:
            check_width(linecount, limits, "the batch filter")
        return batch(value, linecount, fill_with)

    def checked_slice(value: Any, slices: int, fill_with: Any = None) -> Any:
        if _is_int(slices) and slices > limits.max_items:
            raise _refuse("the slice filter", slices, limits.max_items, "items")
        return slice_(value, slices, fill_with)

    @pass_eval_context
    def checked_replace(eval_ctx: Any, value: Any, old: Any, new: Any, count: Any = None) -> Any:
        if isinstance(value, str) and isinstance(old, str) and isinstance(new, str):
            check_method_call(value.replace, (old, new), {}, limits)
        return replace(eval_ctx, value, old, new, count)

    @pass_eval_context
    def checked_join(eval_ctx: Any, value: Any, d: Any = "", attribute: Any = None) -> Any:
        if isinstance(d, str) and isinstance(value, Sized) and len(d) * len(value) > limits.max_string:
            raise _refuse("the join filter", len(d) * len(value), limits.max_string, "characters")
        result = join(eval_ctx, value, d, attribute)
        check_size(result, limits, "the join filter")
        return result

    return {
        "center": checked_center, "format": checked_format, "batch": checked_batch, "slice": checked_slice,
        "replace": checked_replace, "join": checked_join,
    }


def bounded_lipsum(lipsum: Callable[..., str], limits: RenderLimits) -> Callable[..., str]:
    """`lipsum(n, html, min, max)` with at most 100 paragraphs of at most 1000 words."""

    def checked(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
        if not all(_is_int(v) for v in (n, min, max)) or n > 100 or max > 1000:
            raise RenderLimitError("lipsum: at most 100 paragraphs of at most 1000 words")
        return lipsum(n, html, min, max)

    return checked
