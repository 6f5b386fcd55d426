# Kernel launcher of agentic-python-coder: `python -c <this> -f FILE`.
# Starts ipykernel_launcher as `python -m ipykernel_launcher -f FILE` would,
# after importing ipykernel and IPython without debugpy and jedi: no tool uses
# the debugger or completions, and those two imports are about a third of a
# kernel's start. User code can still import both.
import logging
import os
import runpy
import sys

if sys.path and sys.path[0] == "":
    sys.path[0] = os.getcwd()  # what `-m` puts first (`-c` puts "")
_skip = [name for name in ("debugpy", "jedi") if name not in sys.modules]
sys.modules.update(dict.fromkeys(_skip))
try:
    import IPython.core.completer  # noqa: F401 (looks for jedi at import)
    import ipykernel.ipkernel  # noqa: F401 (looks for debugpy at import)
except Exception:
    # A version that cannot do without them: start afresh, the usual way.
    os.execv(
        sys.executable,
        [sys.executable, "-m", "ipykernel_launcher", *sys.argv[1:]],
    )
for _name in _skip:
    if sys.modules.get(_name, 0) is None:
        del sys.modules[_name]
# The one line ipykernel logs when it finds no debugger.
logging.getLogger("IPKernelApp").addFilter(
    lambda record: "debugpy_stream" not in record.getMessage()
)
runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
