"""The compiler: a flow's ``async def`` becomes a resumable step machine.

Its parts, each in the module named after it: ``source`` reads and parses a flow,
``checks`` rejects what cannot be resumed, ``callees`` says what a call calls,
``step_ids`` names each step stably, and ``lowering`` turns statements into IR.
See docs/compiler.md.
"""

from __future__ import annotations

from flowkit.compiler.lowering import RESULT, TEST, LateName, Program, compile_function

__all__ = ["RESULT", "TEST", "LateName", "Program", "compile_function"]
