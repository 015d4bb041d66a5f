"""``@action``: a function a flow awaits as a step that runs at least once.

An action runs inside the engine, never inside the compiled flow. Each execution gets
an idempotency key that is stable across retries of the same step visit; an action that
declares a keyword parameter named ``run`` receives the run context and reads it as
``run.idempotency_key()``.

``@action(templates=("text",))`` declares the parameters whose value is a template (a
text with ``{{ placeholders }}`` the action renders): the compiler then accepts for them
only text written in the flow's source (a literal, or a constant of the module), never
a value computed at run time, so event data never becomes template source.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, overload

import attrs

from flowkit.dsl.primitives import Command
from flowkit.errors import DefinitionError


@attrs.frozen
class ActionCall(Command):
    """One awaited call of an action, with its arguments."""

    action: Action
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = attrs.field(hash=False)
    # `transactional=True` on a message's call: exempt from quiet hours and caps
    transactional: bool = False


@attrs.frozen(eq=False)
class Action:
    """A function made awaitable in flows by ``@action``."""

    name: str
    fn: Callable[..., Any] = attrs.field(repr=False)
    takes_run: bool = attrs.field(repr=False)
    is_async: bool = attrs.field(repr=False)
    signature: inspect.Signature = attrs.field(repr=False)
    positional: tuple[str, ...] = attrs.field(repr=False, default=())
    templates: tuple[str, ...] = attrs.field(repr=False, default=())
    # The channel a message action sends on (email, notification, message): the journey
    # rules (quiet hours, frequency caps) apply to actions that have one.
    channel: str | None = None

    def arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The call's arguments by parameter name (as the ledger records them)."""
        names = self.positional
        if len(args) <= len(names) and not (kwargs.keys() & set(names[:len(args)])):
            return dict(zip(names, args, strict=False)) | kwargs  # the common case, fast
        try:
            return dict(self.signature.bind_partial(*args, **kwargs).arguments)
        except TypeError:
            return {f"arg{i}": a for i, a in enumerate(args)} | kwargs

    def __call__(self, *args: Any, **kwargs: Any) -> ActionCall:
        kwargs.pop("id", None)  # a pinned step id is the compiler's business
        if "run" in kwargs:
            raise DefinitionError(
                f"action {self.name!r} receives `run` from the engine; do not pass it"
            )
        transactional = bool(kwargs.pop("transactional", False)) \
            if self.channel is not None else False
        return ActionCall(action=self, args=args, kwargs=kwargs, transactional=transactional)


@overload
def action(fn: Callable[..., Any], /) -> Action: ...
@overload
def action(*, name: str | None = None, channel: str | None = None,
           templates: tuple[str, ...] = ()) -> Callable[[Callable[..., Any]], Action]: ...


def action(
    fn: Callable[..., Any] | None = None, /, *, name: str | None = None,
    channel: str | None = None,
    templates: tuple[str, ...] = (),
) -> Action | Callable[[Callable[..., Any]], Action]:
    """Turn a function (plain or ``async def``) into an action flows can ``await``.

    ``@action`` or ``@action(name="crm.sync")``. The action runs at least once per step
    visit; make it idempotent on ``run.idempotency_key()`` by declaring a keyword-only
    ``run`` parameter. ``templates`` names the parameters that carry a template (render
    them with ``flowkit.lms.render``): a flow must pass them text written in its source.
    ``channel="email"`` (or ``"notification"``, ``"message"``) makes it a message, which
    quiet hours and frequency caps apply to; a call can pass ``transactional=True`` to
    be exempt.
    """
    if channel is not None and channel not in ("email", "notification", "message"):
        raise DefinitionError(f"@action(channel=...) is 'email', 'notification' or "
                              f"'message', got {channel!r}")

    def decorate(target: Callable[..., Any]) -> Action:
        if isinstance(target, Action):
            raise DefinitionError(f"{target.name!r} is already an action")
        if not callable(target) or inspect.isclass(target):
            raise DefinitionError(f"@action decorates a function, not {target!r}")
        signature = inspect.signature(target)
        params = signature.parameters
        run_param = params.get("run")
        if run_param is not None and run_param.kind not in (
            inspect.Parameter.KEYWORD_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            raise DefinitionError(
                f"action {target.__name__!r}: `run` must be a keyword parameter"
            )
        _check_templates(target, params, templates)
        return Action(
            name=name or target.__name__,
            channel=channel,
            fn=target,
            takes_run=run_param is not None,
            is_async=inspect.iscoroutinefunction(target),
            signature=signature,
            positional=tuple(
                p.name for p in params.values()
                if p.kind in (inspect.Parameter.POSITIONAL_ONLY,
                              inspect.Parameter.POSITIONAL_OR_KEYWORD) and p.name != "run"),
            templates=tuple(templates),
        )

    if fn is not None:
        return decorate(fn)
    return decorate


def _check_templates(target: Callable[..., Any], params: Mapping[str, inspect.Parameter],
                     templates: tuple[str, ...]) -> None:
    if isinstance(templates, str):
        raise DefinitionError(f"action {target.__name__!r}: templates= takes a tuple of "
                              f"parameter names, as in templates=({templates!r},)")
    for name in templates:
        param = params.get(name)
        if name == "run" or param is None or param.kind in (
                inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise DefinitionError(
                f"action {target.__name__!r}: templates= names {name!r}, which is not one "
                "of its parameters; name the parameters that carry a template text")
