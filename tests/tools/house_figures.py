#!/usr/bin/env python3
"""House figures of the C sources: the longest functions and the duplicated code pairs of the
production code (daemon/ clients/ matcher/), and the include circles between daemon modules.
Usage: house_figures.py [repository root]. The request-path figures come from trace_path.py
(house_figures.sh runs both)."""
import itertools
import os
import re
import subprocess
import sys

PRODUCTION = ("daemon", "clients", "matcher")
WINDOW = int(os.environ.get("DUPLICATE_LINES", "6"))  # identical normalised lines that make a duplicate


def sources(root):
    """Every .c file under the production folders, sub-folders included (clients/lib, cli, ...)."""
    for folder in PRODUCTION:
        for here, dirs, names in sorted(os.walk(os.path.join(root, folder))):
            dirs.sort()
            for name in sorted(names):
                if name.endswith(".c"):
                    yield os.path.relpath(os.path.join(here, name), root)


def functions(root):
    """(file, name, first line, last line) of every function definition (universal ctags)."""
    files = list(sources(root))
    out = subprocess.run(["ctags", "--fields=+ne", "--kinds-C=f", "--language-force=C", "-o", "-"] + files,
                         cwd=root, capture_output=True, text=True, check=True).stdout
    result = []
    for line in out.splitlines():
        parts = line.split("\t")
        fields = dict(p.split(":", 1) for p in parts[3:] if ":" in p)
        if "line" in fields and "end" in fields:
            result.append((parts[1], parts[0], int(fields["line"]), int(fields["end"])))
    return result


def normalised_lines(path):
    """(line number, text) without blank lines, comments and whitespace differences."""
    text = open(path, encoding="utf-8", errors="replace").read()
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    result = []
    for number, line in enumerate(text.splitlines(), 1):
        line = re.sub(r"//.*", "", line).strip()
        line = re.sub(r"\s+", " ", line)
        if line and line not in ("{", "}", "};", "} else {", "break;", "return 0;", "return -1;"):
            result.append((number, line))
    return result


def duplicate_pairs(root, funcs):
    """Pairs of functions that share WINDOW identical normalised lines."""
    owner = {}
    for path, name, first, last in funcs:
        owner.setdefault(path, []).append((first, last, name))

    def function_at(path, number):
        for first, last, name in owner.get(path, ()):
            if first <= number <= last:
                return f"{path}:{name}"
        return None

    seen = {}
    for path in sources(root):
        lines = normalised_lines(os.path.join(root, path))
        for i in range(len(lines) - WINDOW + 1):
            key = "\n".join(text for _, text in lines[i:i + WINDOW])
            where = function_at(path, lines[i][0])
            if where:
                seen.setdefault(key, set()).add(where)
    pairs = set()
    for places in seen.values():
        for a, b in itertools.combinations(sorted(places), 2):
            pairs.add((a, b))
    return sorted(pairs)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    funcs = functions(root)
    print("== the 10 longest functions of daemon/ clients/ matcher/ (lines)")
    for path, name, first, last in sorted(funcs, key=lambda f: f[2] - f[3])[:10]:
        print(f"{last - first + 1:5d}  {path}:{first} {name}")
    pairs = duplicate_pairs(root, funcs)
    daemon_pairs = [p for p in pairs if p[0].startswith("daemon/") or p[1].startswith("daemon/")]
    print(f"== duplicate pairs (functions sharing {WINDOW} identical lines): {len(pairs)} in all, "
          f"{len(daemon_pairs)} touching daemon/")
    for a, b in daemon_pairs:
        print(f"  {a}  ~  {b}")
    print("== include circles between daemon modules")
    sys.stdout.flush()
    subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "include_cycles.py"),
                    os.path.join(root, "daemon"), "--list"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
