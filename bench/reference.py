"""Reference numbers from jupyter_client for bench/main.ts.

Run with an interpreter that has jupyter_client and ipykernel:

    python3 bench/reference.py --starts 3 --n 1000

Prints one JSON object on stdout:
  {"ok": true, "jupyter_client": "7.4.9", "ipykernel": "6.17.0",
   "python": "/usr/bin/python3", "start_ms": [...],
   "reply_ms": [...], "idle_ms": [...]}
or {"ok": false, "error": "..."} when jupyter_client cannot be imported.

start_ms: KernelManager.start_kernel() + client start_channels() +
wait_for_ready(), per start. reply_ms: BlockingKernelClient.execute("1+1")
until its execute_reply on shell. idle_ms: the same until the reply and the
iopub status idle of the request (what a client needs to have all output).
Every kernel is shut down before the script exits.
"""

import argparse
import json
import sys
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    try:
        import jupyter_client
        from jupyter_client import KernelManager
        import ipykernel
    except Exception as error:  # noqa: BLE001 (report any import failure)
        print(json.dumps({"ok": False, "error": f"{type(error).__name__}: {error}"}))
        return 0

    out = {
        "ok": True,
        "jupyter_client": jupyter_client.__version__,
        "ipykernel": ipykernel.__version__,
        "python": sys.executable,
        "start_ms": [],
        "reply_ms": [],
        "idle_ms": [],
    }
    km = None
    kc = None
    try:
        for i in range(max(args.starts, 1)):
            t0 = time.perf_counter()
            km = KernelManager(kernel_name="python3")
            km.start_kernel()
            kc = km.client()
            kc.start_channels()
            kc.wait_for_ready(timeout=60)
            out["start_ms"].append((time.perf_counter() - t0) * 1000)
            if i < max(args.starts, 1) - 1:
                kc.stop_channels()
                km.shutdown_kernel(now=True)
                km = kc = None

        def reply_only():
            msg_id = kc.execute("1+1")
            while True:
                msg = kc.get_shell_msg(timeout=30)
                if msg["parent_header"].get("msg_id") == msg_id:
                    return msg_id

        def drain_until_idle(msg_id):
            while True:
                msg = kc.get_iopub_msg(timeout=30)
                if (
                    msg["parent_header"].get("msg_id") == msg_id
                    and msg["msg_type"] == "status"
                    and msg["content"]["execution_state"] == "idle"
                ):
                    return

        def reply_and_idle():
            msg_id = reply_only()
            drain_until_idle(msg_id)

        for _ in range(args.warmup):
            reply_and_idle()
        for _ in range(args.n):
            t0 = time.perf_counter()
            msg_id = reply_only()
            out["reply_ms"].append((time.perf_counter() - t0) * 1000)
            drain_until_idle(msg_id)  # not timed: keeps iopub empty
        for _ in range(args.n):
            t0 = time.perf_counter()
            reply_and_idle()
            out["idle_ms"].append((time.perf_counter() - t0) * 1000)
    finally:
        if kc is not None:
            kc.stop_channels()
        if km is not None:
            km.shutdown_kernel(now=True)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
