# Network relay of agentic-python-coder's sandbox: `python -I -S -c <this>
# SOCKET PORT COMMAND...`. Runs inside the sandbox's own network namespace,
# listens on 127.0.0.1:PORT (the HTTP_PROXY the sandboxed programs are given)
# and copies each connection to the unix socket SOCKET, where the filtering
# proxy outside the sandbox decides what may pass. It binds before it starts
# COMMAND (so the port is there from the first instruction), runs COMMAND as
# its child and exits with its status (128 + N for a death by signal N).
import os
import signal
import socket
import sys
import threading

path, port, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen(64)
child = os.fork()
if child == 0:
    server.close()
    try:
        os.execvp(argv[0], argv)
    except OSError as error:
        sys.stderr.write(f"cannot start {argv[0]}: {error}\n")
        os._exit(127)


def copy(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(conn):
    up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        up.connect(path)
    except OSError:
        conn.close()
        up.close()
        return
    back = threading.Thread(target=copy, args=(up, conn), daemon=True)
    back.start()
    copy(conn, up)
    back.join()
    conn.close()
    up.close()


def accept():
    while True:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


# SIGINT and SIGTERM go to the command; the relay ends when it does.
signal.signal(signal.SIGINT, signal.SIG_IGN)
threading.Thread(target=accept, daemon=True).start()
while True:
    try:
        _, status = os.waitpid(child, 0)
        break
    except InterruptedError:
        continue
code = os.waitstatus_to_exitcode(status)
os._exit(code if code >= 0 else 128 - code)
