#!/usr/bin/env python3
"""Checks that each program's man page lists the same options as its --help.

    man_vs_help.py BINDIR MANDIR PROGRAM...

For every PROGRAM: MANDIR/PROGRAM.1 or .1.gz must exist, and the set of long options
(--name) in it must equal the set in `BINDIR/PROGRAM --help`. Prints one TAP-like line
per program and exits 1 when any differs.
"""
import gzip
import os
import re
import subprocess
import sys

OPT = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def help_options(bindir, prog):
    out = subprocess.run([os.path.join(bindir, prog), "--help"], capture_output=True, text=True,
                         timeout=30, check=False, env=dict(os.environ, LC_ALL="C.UTF-8"))
    return set(OPT.findall(out.stdout + out.stderr))


def man_options(mandir, prog):
    for name in (f"{prog}.1", f"{prog}.1.gz"):
        path = os.path.join(mandir, name)
        if os.path.exists(path):
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8") as f:
                roff = f.read()
            roff = roff.replace("\\-", "-")
            roff = re.sub(r"\\f[BIRP]|\\f\(..|\\&|\\%", "", roff)
            return set(OPT.findall(roff))
    return None


def main(argv):
    if len(argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    bindir, mandir, progs = argv[1], argv[2], argv[3:]
    bad = 0
    for prog in progs:
        have = man_options(mandir, prog)
        want = help_options(bindir, prog)
        if have is None:
            print(f"not ok - {prog}: no man page in {mandir}")
            bad += 1
        elif not want:
            print(f"not ok - {prog}: --help lists no options")
            bad += 1
        elif have != want:
            print(f"not ok - {prog}: man page and --help differ: only in the man page "
                  f"{sorted(have - want)}, only in --help {sorted(want - have)}")
            bad += 1
        else:
            print(f"ok - {prog}: man page and --help list the same {len(want)} options")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
