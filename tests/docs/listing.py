"""``python tests/docs/listing.py MODULE FLOW``: a flow's IR, condensed as docs/compiler.md
shows it (node index, node, step id), for the collector's ``ir`` blocks."""

from __future__ import annotations

import importlib
import sys

from flowkit import compile_flow
from flowkit.ir import End, Exec, Jump, JumpIf, Step


def listing(module: str, name: str) -> str:
    ir = compile_flow(getattr(importlib.import_module(module), name))
    lines = [f"locals: {list(ir.locals)}"]
    for i, node in enumerate(ir.nodes):
        if isinstance(node, Exec):
            first, *rest = node.code.splitlines()
            lines += [f"{i:>2}  exec     {first}", *(f"             {line}" for line in rest)]
        elif isinstance(node, Step):
            call = f"{node.target} = {node.call}" if node.target else node.call
            lines.append(f"{i:>2}  step     {call}    [id {node.id}]")
        elif isinstance(node, JumpIf):
            lines.append(f"{i:>2}  jump_if  {node.test} ? {node.then} : {node.orelse}")
        elif isinstance(node, Jump):
            lines.append(f"{i:>2}  jump     {node.to}")
        elif isinstance(node, End):
            lines.append(f"{i:>2}  end      {node.value}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(listing(sys.argv[1], sys.argv[2]), end="")
