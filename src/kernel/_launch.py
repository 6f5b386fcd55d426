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


def _die_with_group(folder):
    # Our owner is gone: remove our private runtime dir (connection file
    # with its HMAC key, ipc sockets), then kill the whole process group
    # (the kernel, its subprocesses and forked children).
    import shutil
    import signal

    if folder:
        shutil.rmtree(folder, ignore_errors=True)
    try:
        os.killpg(os.getpgrp(), signal.SIGKILL)
    finally:
        os._exit(1)


def _watch_owner(owner, first_ppid, folder):
    # ipykernel only notices reparenting to pid 1 (containers and
    # subreapers break that); we also check the owner's pid itself.
    import time

    while True:
        time.sleep(0.25)
        if os.getppid() != first_ppid:
            _die_with_group(folder)
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            _die_with_group(folder)
        except PermissionError:
            pass


def _runtime_dir():
    # "-f FILE": our connection file, in a private "coder-kernel-*" dir.
    try:
        path = sys.argv[sys.argv.index("-f") + 1]
    except (ValueError, IndexError):
        return None
    folder = os.path.dirname(os.path.abspath(path))
    return folder if os.path.basename(folder).startswith("coder-kernel-") else None


_owner = int(os.environ.get("JPY_PARENT_PID", "0") or 0)
if _owner > 1 and os.name == "posix":
    import threading

    import ipykernel.parentpoller

    # ipykernel's own poller would os._exit() the kernel alone when it is
    # reparented, racing the watcher below and leaving the group's other
    # processes and the runtime dir behind: ours does it all, from the start.
    ipykernel.parentpoller.ParentPollerUnix.run = lambda self: None
    threading.Thread(
        target=_watch_owner,
        args=(_owner, os.getppid(), _runtime_dir()),
        name="coder-owner-watch",
        daemon=True,
    ).start()

for _name in _skip:
    if sys.modules.get(_name, 0) is None:
        del sys.modules[_name]
# The one line ipykernel logs when it finds no debugger.
logging.getLogger("IPKernelApp").addFilter(
    lambda record: "debugpy_stream" not in record.getMessage()
)
runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
