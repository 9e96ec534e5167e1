"""First process of an execution environment (PID 2, under bubblewrap's init).

Started as ``python -I -S /var/runtime/launcher.py FD``.  It reads its configuration as JSON from
the inherited descriptor FD (so no secret ever shows in an argv or in bwrap's environment), lowers
the resource limits, forks the relay that joins 127.0.0.1 ports of this network namespace to the
Unix sockets bind-mounted from the host, and then becomes the language runtime: the Python
bootstrap in this very interpreter (one interpreter start-up per cold start), or an ``execve`` of
node or of the function's own ``bootstrap``.  Standard library only; runs on every Python we host.
"""

import json
import os
import resource
import socket
import sys

RUNTIME_DIR = "/var/runtime"


def main():
    with os.fdopen(int(sys.argv[1]), "rb") as stream:
        config = json.loads(stream.read())
    # Whatever else bwrap handed down (its info pipe, for one) is not for the function.
    os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    for name, value in config["limits"].items():
        limit = getattr(resource, "RLIMIT_" + name)
        hard = resource.getrlimit(limit)[1]
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(limit, (value, value))

    listeners = []
    for port, path in config["relays"]:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen(64)
        listeners.append((server, path))
    if os.fork() == 0:
        try:
            relay(listeners)
        finally:
            os._exit(0)
    for server, _ in listeners:
        server.close()

    env = config["env"]
    os.chdir(env["LAMBDA_TASK_ROOT"])
    kind = config["kind"]
    if kind == "python":
        os.environ.clear()
        os.environ.update(env)
        sys.path[:0] = [RUNTIME_DIR]
        import bootstrap

        sys.path[:] = config["python_path"]
        bootstrap.main()
    elif kind == "node":
        os.execve(config["argv"][0], config["argv"], env)
    else:
        run_custom_bootstrap(env)


def run_custom_bootstrap(env):
    """``provided`` runtimes: exec the function's bootstrap, or report it missing as AWS does."""
    candidates = [os.path.join(env["LAMBDA_TASK_ROOT"], "bootstrap"), "/opt/bootstrap"]
    for path in candidates:
        if os.path.isfile(path):
            try:
                os.execve(path, [path], env)
            except OSError as exc:
                post_init_error(env, "Runtime.InvalidEntrypoint", f"{path}: {exc.strerror}")
                sys.exit(1)
    post_init_error(
        env,
        "Runtime.InvalidEntrypoint",
        f"Couldn't find valid bootstrap(s): [{' '.join(candidates)}]",
    )
    sys.exit(1)


def post_init_error(env, error_type, message):
    print(f"{error_type}: {message}", flush=True)
    body = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
    host, port = env["AWS_LAMBDA_RUNTIME_API"].rsplit(":", 1)
    request = (
        f"POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Lambda-Runtime-Function-Error-Type: {error_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as conn:
        conn.connect((host, int(port)))
        conn.sendall(request)
        conn.recv(4096)


def relay(listeners):
    """Accept on each 127.0.0.1 listener and splice every connection to its host Unix socket."""
    import selectors

    sys.path[:0] = [RUNTIME_DIR]
    from relay import Splice

    selector = selectors.DefaultSelector()
    splice = Splice(selector)
    for server, path in listeners:
        server.setblocking(False)
        selector.register(server, selectors.EVENT_READ, path)
    while True:
        for key, mask in selector.select():
            if splice.owns(key.data):
                splice.handle(key.data, mask)
                continue
            try:
                client, _ = key.fileobj.accept()
            except (BlockingIOError, InterruptedError):
                continue
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(key.data)
            except OSError:
                client.close()
                upstream.close()
                continue
            splice.join(client, upstream)


if __name__ == "__main__":
    main()
