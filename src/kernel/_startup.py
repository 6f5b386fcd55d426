# Start-up code for kernels started by agentic-python-coder.
# Executed once after the kernel is ready, inside its own module namespace
# (registered as sys.modules["_coder_tools"]), so nothing leaks into the
# user's variables. The kernel layer calls the functions below with silent
# executions.
import json
import os
import sys
import threading
import time
import warnings

warnings.filterwarnings("ignore", message=".*pkg_resources.*")
warnings.filterwarnings("ignore", category=DeprecationWarning, module="pkg_resources")

_ip = get_ipython()  # noqa: F821 (provided by IPython)
_ip.ast_node_interactivity = "last_expr"


def _no_input(*_args, **_kwargs):
    raise RuntimeError("Interactive input() not supported")


# ipykernel swaps builtins.input for kernel.raw_input on every execution, so
# replace the kernel's methods rather than the builtin.
_ip.kernel.raw_input = _no_input
_ip.kernel.getpass = _no_input

# PNG for matplotlib figures (lazy: matplotlib is not imported here), and open
# pyplot figures shown after each cell, as the inline backend would.
_png = _ip.display_formatter.formatters["image/png"]


def _figure_png(fig):
    from IPython.core.pylabtools import print_figure

    return print_figure(fig, "png")


_png.for_type_by_name("matplotlib.figure", "Figure", _figure_png)


def _flush_figures(*_args):
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return
    try:
        from IPython.display import display

        for num in plt.get_fignums():
            display(plt.figure(num))
        plt.close("all")
    except Exception:  # never break the user's cell for a plot
        pass


_ip.events.register("post_run_cell", _flush_figures)


def _runtime_dir():
    # The private dir holding our connection file (and its HMAC key).
    try:
        from ipykernel.kernelapp import IPKernelApp

        path = IPKernelApp.instance().abs_connection_file
    except Exception:
        return None
    folder = os.path.dirname(path)
    return folder if os.path.basename(folder).startswith("coder-kernel-") else None


def _die_with_group():
    # Our owner is gone: remove the connection file, then kill the whole
    # process group (the kernel, its subprocesses and forked children).
    import shutil
    import signal

    folder = _runtime_dir()
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
    try:
        os.killpg(os.getpgrp(), signal.SIGKILL)
    finally:
        os._exit(1)


def _watch_parent(parent_pid, first_ppid):
    # ipykernel only exits when reparented to pid 1; containers and
    # subreapers break that, so also exit when our owner is gone.
    while True:
        time.sleep(0.5)
        if os.getppid() != first_ppid:
            _die_with_group()
        try:
            os.kill(parent_pid, 0)
        except ProcessLookupError:
            _die_with_group()
        except PermissionError:
            pass


_parent = int(os.environ.get("JPY_PARENT_PID", "0") or 0)
# Our launcher (_launch.py) watches from the process start; this watcher
# serves kernels started otherwise (its `-m ipykernel_launcher` fallback).
_watching = any(t.name == "coder-owner-watch" for t in threading.enumerate())
if _parent > 1 and os.name == "posix" and not _watching:
    threading.Thread(
        target=_watch_parent, args=(_parent, os.getppid()), daemon=True
    ).start()

_HIDDEN = {"In", "Out", "exit", "quit", "get_ipython"}


class _Json:
    # Returned to user_expressions: its text/plain form is the JSON itself,
    # so tooling data never passes through stdout.
    def __init__(self, value):
        self._text = json.dumps(value)

    def __repr__(self):
        return self._text

    def _repr_pretty_(self, p, cycle):
        p.text(self._text)


def identity():
    return _Json({"pid": os.getpid(), "python": sys.executable, "cwd": os.getcwd()})


# Set by the remote kernel's package install (see installCode).
last_install = None


def install_result():
    return _Json(last_install)


def state():
    from importlib import metadata

    packages = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name and name.lower() not in packages:
            packages[name.lower()] = {"name": name, "version": dist.version}
    hidden = _ip.user_ns_hidden
    variables = sorted(
        k
        for k in _ip.user_ns
        if not k.startswith("_") and k not in _HIDDEN and k not in hidden
    )
    return _Json(
        {
            "pythonVersion": ".".join(str(p) for p in sys.version_info[:3]),
            "packages": sorted(packages.values(), key=lambda p: p["name"].lower()),
            "variables": variables,
        }
    )


def versions(names):
    from importlib import metadata
    import importlib

    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
            continue
        except Exception:
            pass
        try:
            module = importlib.import_module(name.replace("-", "_"))
            out[name] = str(getattr(module, "__version__", "installed"))
        except Exception:
            out[name] = None
    return _Json(out)
