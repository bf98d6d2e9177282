"""Freezes the Python modules one workload needs into a C file.

    python3 freeze.py --stdlib <wasi-python>/lib/python3.11 \
        --module blueprint=blueprint.py --module workload=counter/counter.py \
        --output frozen.c

CPython runs frozen modules from marshalled code objects, so the module needs
no file system: the codecs CPython cannot start without (``encodings``), the
given modules and whatever they import from the standard library (found with
``modulefinder`` in the WASI build's own stdlib). Marshalled code is specific
to the minor version, so this must run on the same CPython minor version as
the one in the module (3.11).
"""

import argparse
import marshal
import modulefinder
import os
import sys

PYTHON = (3, 11)
# What CPython's start-up imports that 3.11 does not freeze itself.
STARTUP = ["encodings", "encodings.aliases", "encodings.utf_8"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stdlib", required=True, help="the WASI build's lib/python3.11")
    parser.add_argument("--module", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    if sys.version_info[:2] != PYTHON:
        sys.exit(f"freeze.py must run on Python {PYTHON[0]}.{PYTHON[1]} (marshal format), not {sys.version.split()[0]}")

    frozen = {}  # name -> (path, is_package)
    for name in STARTUP:
        frozen[name] = stdlib_source(args.stdlib, name)
    given = {}
    for spec in args.module:
        name, sep, path = spec.partition("=")
        if not sep or not name or not os.path.isfile(path):
            sys.exit(f"--module {spec!r}: expected NAME=PATH to an existing .py file")
        given[name] = os.path.abspath(path)
        frozen[name] = (given[name], False)

    # Standard-library imports of the given modules, resolved in the WASI stdlib.
    finder = modulefinder.ModuleFinder(path=[args.stdlib], excludes=list(given))
    for path in given.values():
        finder.run_script(path)
    for name, module in finder.modules.items():
        if name == "__main__" or module.__file__ is None or not module.__file__.endswith(".py"):
            continue
        frozen.setdefault(name, (module.__file__, module.__path__ is not None))

    with open(args.output, "w") as out:
        out.write("/* Written by freeze.py: marshalled CPython 3.11 code objects. */\n#include <Python.h>\n\n")
        entries = []
        for index, (name, (path, is_package)) in enumerate(sorted(frozen.items())):
            with open(path, "rb") as f:
                source = f.read()
            code = compile(source, f"<frozen {name}>", "exec", dont_inherit=True)
            data = marshal.dumps(code)
            out.write(f"static const unsigned char module_{index}[] = {{\n")
            for start in range(0, len(data), 32):
                out.write(",".join(str(b) for b in data[start : start + 32]) + ",\n")
            out.write("};\n")
            entries.append(f'    {{"{name}", module_{index}, {len(data)}, {int(is_package)}, NULL}},\n')
        out.write("\nconst struct _frozen bb_frozen_modules[] = {\n")
        out.writelines(entries)
        out.write("    {NULL, NULL, 0, 0, NULL},\n};\n")


def stdlib_source(stdlib, name):
    base = os.path.join(stdlib, *name.split("."))
    if os.path.isfile(os.path.join(base, "__init__.py")):
        return os.path.join(base, "__init__.py"), True
    if os.path.isfile(base + ".py"):
        return base + ".py", False
    sys.exit(f"{name} is not in {stdlib}")


if __name__ == "__main__":
    main()
