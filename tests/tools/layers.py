#!/usr/bin/env python3
"""Checks the include layers of alts (docs/internals/layers.md).

Reads every #include "..." line of the C sources and fails when
  - a folder includes a folder it may not (the table below), or
  - files include each other in a cycle (a header, its _int.h and its .c
    count as one module).
Usage: layers.py [source-dir]. Prints each violation; exits 1 if any.
"""
import os
import re
import sys

# folder -> folders it may include besides itself. Top to bottom.
ALLOWED = {
    "cli": {"client", "scheduler", "worker", "farm", "engine", "checks", "reporters",
            "reporters/stores", "runners", "framework"},
    "client": {"engine", "reporters", "framework"},
    "scheduler": {"farm", "engine", "runners", "reporters/stores", "framework"},
    "worker": {"farm", "engine", "reporters", "reporters/stores", "runners", "framework"},
    "farm": {"engine", "runners", "reporters/stores", "framework"},
    "engine": {"checks", "reporters", "runners", "framework"},
    "checks": {"runners", "framework"},
    "reporters": {"framework"},
    "reporters/stores": {"framework"},
    "runners": {"framework"},
    "framework": set(),
}
SOURCE_DIRS = list(ALLOWED)
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def folder_of(path):
    parts = path.split("/")
    if len(parts) > 2 and "/".join(parts[:2]) in ALLOWED:
        return "/".join(parts[:2])
    return parts[0]


def module_of(path):
    base = path.rsplit(".", 1)[0]
    return base[:-4] if base.endswith("_int") else base


def main():
    src = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../.."))
    edges = {}
    bad = []
    for top in SOURCE_DIRS:
        for dirpath, _, files in os.walk(os.path.join(src, top)):
            for name in sorted(files):
                if not name.endswith((".c", ".h")):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, name), src)
                if folder_of(rel) != top:
                    continue
                with open(os.path.join(src, rel), encoding="utf-8", errors="replace") as f:
                    for lineno, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        inc = m.group(1)
                        if "/" not in inc:
                            continue
                        dst = folder_of(inc)
                        if dst != top and dst not in ALLOWED[top]:
                            bad.append(f"{rel}:{lineno}: {top}/ may not include {inc}")
                        a, b = module_of(rel), module_of(inc)
                        if a != b:
                            edges.setdefault(a, set()).add(b)
    # File-level cycles: Tarjan's strongly connected components.
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    for comp in sccs:
        bad.append("include cycle between modules: " + " <-> ".join(comp))
    for line in bad:
        print(line)
    modules = len(set(edges) | {b for s in edges.values() for b in s})
    print(f"layers: {modules} modules, {sum(len(s) for s in edges.values())} include edges, {len(bad)} violations")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
