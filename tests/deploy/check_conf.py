#!/usr/bin/env python3
"""check_conf.py LEERPLEKD CONF: deploy/leerplekd.conf against the daemon's options table.

The conf file is written by hand (its comments explain each option at more length than the
table's one line), so nothing but this test keeps it in step with daemon/lp_config.c. The
table is read from `leerplekd --help`, which prints every option with its section and default
straight from it. Fails when an option is missing from the file, sits in another section, has
another default there, appears twice, or when the file names an option the daemon lacks.
"""
import re
import subprocess
import sys


def options_from_help(leerplekd):
    """{name: (section, default)} from the [section] blocks of `leerplekd --help`."""
    text = subprocess.run([leerplekd, "--help"], check=True, capture_output=True, text=True).stdout
    options, section = {}, None
    for line in text.splitlines():
        header = re.fullmatch(r"  \[(\w+)\]", line)
        if header:
            section = header.group(1)
            continue
        option = re.fullmatch(r"  --(\w+) .*\(default: (.*)\)", line)
        if option and section:
            name, default = option.groups()
            options[name] = (section, "" if default == '""' else default)
    return options


def options_from_conf(path):
    """({name: (section, value)}, [problems]) from an INI file: `key = value` under [section]."""
    options, problems, section = {}, [], None
    with open(path, encoding="utf-8") as conf:
        for number, line in enumerate(conf, 1):
            line = line.strip()
            if not line or line.startswith((";", "#")):
                continue
            header = re.fullmatch(r"\[(\w+)\]", line)
            if header:
                section = header.group(1)
                continue
            pair = re.fullmatch(r"(\w+)\s*=\s*(.*)", line)
            if not pair:
                problems.append(f"{path}:{number}: not a [section] or key = value line: {line}")
                continue
            name, value = pair.groups()
            if name in options:
                problems.append(f"{path}:{number}: {name} appears a second time")
            options[name] = (section, value.strip())
    return options, problems


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: check_conf.py LEERPLEKD CONF")
    leerplekd, conf_path = sys.argv[1:]
    table = options_from_help(leerplekd)
    # A --help whose format changed would otherwise make every comparison below vacuous.
    if len(table) < 10:
        sys.exit(f"check_conf: read only {len(table)} options from `leerplekd --help`; has its format changed?")
    conf, problems = options_from_conf(conf_path)
    for name, (section, default) in table.items():
        if name not in conf:
            problems.append(f"{conf_path}: lacks {name} (in [{section}], default {default!r})")
            continue
        conf_section, value = conf[name]
        if conf_section != section:
            problems.append(f"{conf_path}: {name} is under [{conf_section}]; the daemon reads it from [{section}]")
        if value != default:
            problems.append(f"{conf_path}: {name} = {value!r}; the daemon's default is {default!r}")
    for name, (section, _) in conf.items():
        if name not in table:
            problems.append(f"{conf_path}: [{section}] {name} is no option of leerplekd")
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"check_conf: {len(table)} options in the daemon's table, {len(conf)} in {conf_path}, "
          f"{len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
