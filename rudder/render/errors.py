"""Render failures as data: the file, the line and what went wrong."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RenderError:
    """Why a chart could not be turned into objects.

    `template` is the chart file (a template, `values.yaml`, `Chart.yaml`, or a spec field such as
    `spec.valuesFrom[0]`); `line` is 1-based within that file, or within the rendered output of the template
    for invalid YAML; both are None when they do not apply. Messages never quote values, so secret material
    from valuesFrom cannot leak into status or events.
    """

    template: str | None
    line: int | None
    message: str

    def __str__(self) -> str:
        if self.template is None:
            return self.message
        where = self.template if self.line is None else f"{self.template}:{self.line}"
        return f"{where}: {self.message}"


class RenderFailed(Exception):
    """Internal carrier of a RenderError through nested helpers; public entry points return the error."""

    def __init__(self, error: RenderError) -> None:
        super().__init__(str(error))
        self.error = error
