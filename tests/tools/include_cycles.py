#!/usr/bin/env python3
"""Include circles between daemon modules: fails (exit 1) on any, printing each circle.

A module is foo.c + foo.h in daemon/ (lp_ prefix dropped); handlers_*.c and lp_check.c
belong to the handlers module (lp_handlers.h). Module A depends on B when a file of A
includes B's header. Usage: include_cycles.py [daemon dir] [--list] [--allow A:B ...]
(--list prints every edge and every circle, and exits 0; --allow A:B leaves the edge A -> B out,
for an edge another change is to remove: say why where it is passed)."""
import os
import re
import sys


def module_of(name):
    base = os.path.splitext(name)[0]
    if base.startswith("handlers_") or base == "lp_check":
        return "handlers"
    return base[3:] if base.startswith("lp_") else base


def graph(daemon_dir):
    files = [f for f in os.listdir(daemon_dir) if f.endswith((".c", ".h"))]
    headers = {f for f in files if f.endswith(".h")}
    edges = {}
    include = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
    for name in files:
        source = module_of(name)
        edges.setdefault(source, set())
        with open(os.path.join(daemon_dir, name), encoding="utf-8") as text:
            for line in text:
                found = include.match(line)
                if found and found.group(1) in headers:
                    target = module_of(found.group(1))
                    if target != source:
                        edges[source].add(target)
    return edges


def circles(edges):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, result = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(edges.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    sys.setrecursionlimit(10000)
    for node in sorted(edges):
        if node not in index:
            visit(node)
    return result


def main():
    argv, args, allowed = sys.argv[1:], [], []
    while argv:
        arg = argv.pop(0)
        if arg == "--allow":
            allowed.append(tuple(argv.pop(0).split(":")))
        elif not arg.startswith("--"):
            args.append(arg)
    daemon_dir = args[0] if args else os.path.join(os.path.dirname(__file__), "..", "..", "daemon")
    edges = graph(daemon_dir)
    for source, target in allowed:
        if target not in edges.get(source, ()):
            print(f"--allow {source}:{target}: there is no such edge any more; drop the --allow")
            return 1
        edges[source].discard(target)
        print(f"(edge {source} -> {target} left out, as asked)")
    found = circles(edges)
    if "--list" in sys.argv:
        for source in sorted(edges):
            print(f"{source} -> {' '.join(sorted(edges[source]))}")
    for component in found:
        # One concrete circle inside the component, for the reader.
        members = set(component)
        path, node = [component[0]], component[0]
        while True:
            node = sorted(t for t in edges[node] if t in members)[0]
            if node in path:
                path = path[path.index(node):] + [node]
                break
            path.append(node)
        print(f"include circle among {{{', '.join(component)}}}: {' -> '.join(path)}")
    print(f"{len(found)} include circle(s) between daemon modules")
    if "--list" in sys.argv:
        return 0
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
