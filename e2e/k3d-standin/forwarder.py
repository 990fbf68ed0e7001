"""TCP forwarder of the k3d stand-in (see ./k3d): what stands in for the
k3d-proxy load balancer's port mappings.

Started detached by `k3d cluster create|start`, which binds the listening
sockets itself (so a busy port fails the command, as docker's "port is
already allocated" does) and hands them over as inherited descriptors:

  python3 forwarder.py STATE_FILE TOKEN DEADLINE FD:TARGET_IP:TARGET_PORT...

Each connection accepted on FD is relayed to TARGET_IP:TARGET_PORT (the test
cluster's API server, or a NodePort on its node). Bounded lifetime: checked
every second, the process exits when STATE_FILE is gone, no longer names
TOKEN as its forwarder, or says the cluster is stopped, and in any case at
DEADLINE (seconds since the epoch; the stand-in gives 3 hours).

Targets are checked again here: only loopback or the test bridge
(10.213.0.0/16), the only addresses this workplace allows.
"""
import ipaddress
import json
import os
import socket
import sys
import threading
import time

ALLOWED_TARGETS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("10.213.0.0/16"))
CONNECT_TIMEOUT = 10


def log(msg):
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} forwarder {os.getpid()}: {msg}", flush=True)


def still_wanted(state_file, token):
    try:
        with open(state_file, encoding="utf-8") as f:
            state = json.load(f)
    except FileNotFoundError:
        return False, "its cluster's state file is gone"
    except (OSError, ValueError):
        # Written by rename, so a partial file is never seen; any other
        # failure to read it counts as "gone".
        return False, "its cluster's state file cannot be read"
    fwd = state.get("forwarder") or {}
    if fwd.get("token") != token:
        return False, "the cluster has another forwarder now"
    if not state.get("running"):
        return False, "the cluster is stopped"
    return True, ""


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def relay(client, target):
    try:
        upstream = socket.create_connection(target, timeout=CONNECT_TIMEOUT)
    except OSError as e:
        log(f"cannot reach {target[0]}:{target[1]}: {e}")
        client.close()
        return
    upstream.settimeout(None)
    back = threading.Thread(target=pump, args=(upstream, client), daemon=True)
    back.start()
    pump(client, upstream)
    back.join()
    client.close()
    upstream.close()


def serve(listener, target):
    while True:
        try:
            client, _ = listener.accept()
        except OSError as e:
            log(f"accept failed: {e}")
            time.sleep(0.5)
            continue
        threading.Thread(target=relay, args=(client, target), daemon=True).start()


def main(argv):
    if len(argv) < 4:
        print("usage: forwarder.py STATE_FILE TOKEN DEADLINE FD:TARGET_IP:TARGET_PORT...", file=sys.stderr)
        return 2
    state_file, token, deadline = argv[0], argv[1], float(argv[2])
    listeners = []
    for spec in argv[3:]:
        fd, ip, port = spec.split(":")
        if not any(ipaddress.ip_address(ip) in net for net in ALLOWED_TARGETS):
            print(f"refusing target {ip}: only loopback and the test bridge 10.213.0.0/16", file=sys.stderr)
            return 2
        sock = socket.socket(fileno=int(fd))
        listeners.append((sock, (ip, int(port))))
    for sock, target in listeners:
        host, port = sock.getsockname()[:2]
        log(f"{host}:{port} -> {target[0]}:{target[1]}")
        threading.Thread(target=serve, args=(sock, target), daemon=True).start()
    while True:
        wanted, why = still_wanted(state_file, token)
        if not wanted:
            log(f"exiting: {why}")
            break
        if time.time() >= deadline:
            log("exiting: lifetime over (the stand-in gives forwarders 3 hours)")
            break
        time.sleep(1)
    # Daemon threads and open connections end with the process.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
