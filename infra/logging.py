"""Structured logs on stdout: one JSON object per line off a terminal, readable colours on one.

structlog and the standard library (temporalio's `workflow.logger` and `activity.logger`,
asyncpg, uvicorn) share one renderer, so every line of a process has the same shape.
"""

import logging
import sys
from collections.abc import Mapping

import structlog
import temporalio.activity
import temporalio.workflow
from structlog.typing import EventDict, Processor, WrappedLogger

from infra.tracing import add_trace_ids

_HANDLER_NAME = "parcours"
_TEMPORAL_EXTRA = ("temporal_workflow", "temporal_activity")
_RENAMED = {"workflow_run_id": "run_id"}

# Like `structlog.processors.dict_tracebacks`, without frame locals: they may hold personal data.
_dict_tracebacks = structlog.processors.ExceptionRenderer(
    structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
)


def _flatten_temporal_extra(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Lift the `temporal_workflow` / `temporal_activity` dicts of temporalio to top-level keys."""
    for key in _TEMPORAL_EXTRA:
        details = event_dict.pop(key, None)
        if isinstance(details, Mapping):
            for name, value in details.items():
                event_dict.setdefault(_RENAMED.get(str(name), str(name)), value)
    return event_dict


def configure_logging(level: str = "INFO") -> None:
    """Route structlog and stdlib logging to stdout through one formatter; safe to call twice."""
    annotate: list[Processor] = [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_trace_ids,
    ]
    renderer: list[Processor]
    if sys.stdout.isatty():
        renderer = [
            structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
        ]
    else:
        renderer = [_dict_tracebacks, structlog.processors.JSONRenderer()]

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            *annotate,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            *annotate,
            structlog.stdlib.ExtraAdder(),
            _flatten_temporal_extra,
        ],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    for existing in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())

    # The workflow and activity details arrive as fields; no need to repeat them in the message.
    temporalio.workflow.logger.workflow_info_on_message = False
    temporalio.activity.logger.activity_info_on_message = False
