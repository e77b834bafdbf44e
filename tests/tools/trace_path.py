# gdb script (gdb -p PID -batch -x trace_path.py): logs every entry into a function of daemon/
# (its file and its caller's file) until gdb is interrupted, for the request-path figures of
# house_figures.sh. Needs a -O0 build with debug info, so that no static function is inlined.
import os

import gdb

log = open(os.environ["TRACE_LOG"], "w", buffering=1)


class Entry(gdb.Breakpoint):
    def stop(self):
        frame = gdb.newest_frame()
        caller = frame.older()
        here = frame.find_sal().symtab
        there = caller.find_sal().symtab if caller else None
        log.write("%s %s %s %s\n" % (gdb.selected_thread().num, os.path.basename(here.filename) if here else "?",
                                      frame.name(), os.path.basename(there.filename) if there else "?"))
        return False


gdb.execute("set pagination off")
gdb.execute("set breakpoint pending off")
count = 0
# TRACE_FUNCTIONS: "file.c function" lines (ctags), every function of daemon/.
for line in open(os.environ["TRACE_FUNCTIONS"], encoding="utf-8"):
    path, function = line.split()
    try:
        Entry("%s:%s" % (os.path.basename(path), function), internal=True)
        count += 1
    except gdb.error:
        pass
log.write("# breakpoints %d\n" % count)
open(os.environ["TRACE_READY"], "w").close()
gdb.execute("continue")
