"""How an activity's error reaches Temporal: retried or not, and without personal data.

An error that retrying cannot clear (data PostgreSQL will never store, a payload the model
refuses) fails at once, so the workflow hands the trajectory to a case manager instead of
retrying forever. Everything else is retried within the workflow's bounds. Either way the
message names the error's class and SQLSTATE or fields, never a value: exception messages
(asyncpg's quote the refused input, pydantic's every `input_value`) are logged by the SDK at
each attempt.
"""

from typing import Any

import asyncpg
import structlog
from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from infra.conversion import PayloadRefused, without_values

log = structlog.stdlib.get_logger(__name__)

UNPROCESSABLE = "Unprocessable"
"""Error type of an activity whose input can never be processed; not retried."""
_NEVER_CLEARS: tuple[type[BaseException], ...] = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    ValidationError,
    PayloadRefused,
)
"""Errors that come back the same on every attempt with the same input."""


def classified(error: Exception) -> ApplicationError:
    """`error` as Temporal should see it: retryable or not, and described without values."""
    if isinstance(error, ApplicationError):
        return error
    if isinstance(error, ValidationError):
        description = without_values(error)
    elif isinstance(error, asyncpg.PostgresError):
        description = f"{type(error).__name__} (SQLSTATE {error.sqlstate})"
    else:
        description = type(error).__name__
    never_clears = isinstance(error, _NEVER_CLEARS)
    return ApplicationError(
        description,
        type=UNPROCESSABLE if never_clears else type(error).__name__,
        non_retryable=never_clears,
    )


class _Classifying(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await self.next.execute_activity(input)
        except Exception as error:
            failure = classified(error)
            if failure is error:
                raise
            info = activity.info()
            log.warning(
                "activity_failed",
                activity=info.activity_type,
                attempt=info.attempt,
                workflow_id=info.workflow_id,
                run_id=info.workflow_run_id,
                error=str(failure),
                retried=not failure.non_retryable,
            )
            raise failure from None


class ClassifiedFailures(Interceptor):
    """Worker interceptor: every activity error leaves classified and free of personal data."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Classifying(next)
