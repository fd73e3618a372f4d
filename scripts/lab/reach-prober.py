#!/usr/bin/env python3
"""The router's side of the lab's "every container answers" check, run in the router's
network namespace. Every INTERVAL seconds it sends an ICMPv6 echo request to each address
given, and opens a TCP connection to PORT on each address that answered an echo within the
last second. On SIGTERM it prints one JSON object, {address: {"ping": [t, ...], "port": [t,
...]}}: this host's clock (seconds) at each echo reply and each connection that was accepted.

It starts before the containers do and watches addresses that are still free, so the moment
an address first answers is seen within one INTERVAL, whatever the machine's load does to
the test that reads the result. A port that has answered is tried again only once a second
(each try is a fork of the container's httpd, and twenty containers tried five times a second
slowed the very Docker starts being measured), and at once when its address answers ping again
after a second of silence (a new container on it). The first answer after a second of silence
is also printed as it comes ("ping ADDRESS TIME", "port ADDRESS TIME"). A raw socket sends without MSG_CONFIRM
(unlike iputils ping), so, like traffic a real router forwards, it does not keep the router's
neighbour entries confirmed.

usage: reach-prober.py [--interval SECONDS] [--port PORT] ADDRESS...
"""
import argparse
import errno
import json
import os
import select
import signal
import socket
import struct
import sys
import time

ECHO_REQUEST, ECHO_REPLY = 128, 129


def answered(seen, address, what):
    """Records an answer; the first after a second of silence is also printed ("ping ADDRESS
    TIME"), so that the test can stop waiting as soon as everything it started answers.
    Returns whether it was such a first answer."""
    now = time.time()
    times = seen[address][what]
    first = not times or now - times[-1] > 1
    if first:
        print(f"{what} {address} {now:.3f}", flush=True)
    times.append(now)
    return first


def port_due(seen, address, resumed, now):
    """Whether to try the port now: its address answers ping, and the port has not answered
    since ping came back after silence, or not for a second."""
    pings, ports = seen[address]["ping"], seen[address]["port"]
    if not pings or now - pings[-1] >= 1:
        return False
    return not ports or ports[-1] < resumed.get(address, 0) or now - ports[-1] >= 1


def canonical(address):
    return socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, address.split("%")[0]))


def main():
    parser = argparse.ArgumentParser(prog="reach-prober", description=__doc__.split("\n\n")[0])
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between rounds (default 0.2)")
    parser.add_argument("--port", type=int, default=80, help="TCP port to connect to (default 80)")
    parser.add_argument("addresses", nargs="+")
    args = parser.parse_args()
    icmp = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    ident = os.getpid() & 0xFFFF
    addresses = [canonical(a) for a in args.addresses]
    seen = {a: {"ping": [], "port": []} for a in addresses}
    pending = {}  # socket -> (address, when it was opened), for connections in progress
    resumed = {}  # address -> when it last answered ping after a second of silence
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    print("probing", flush=True)
    seq = 0
    while not stop:
        round_end = time.monotonic() + args.interval
        now = time.time()
        for address in addresses:
            seq = (seq + 1) & 0xFFFF
            try:
                icmp.sendto(struct.pack("!BBHHH", ECHO_REQUEST, 0, 0, ident, seq) + b"vultr-sid-iso", (address, 0))
            except OSError:
                pass  # no route yet, a full queue: the next round tries again
            if port_due(seen, address, resumed, now) and not any(a == address for a, _ in pending.values()):
                tcp = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
                tcp.setblocking(False)
                if tcp.connect_ex((address, args.port)) in (0, errno.EINPROGRESS):
                    pending[tcp] = (address, time.monotonic())
                else:
                    tcp.close()
        while not stop and (left := round_end - time.monotonic()) > 0:
            try:
                readable, writable, _ = select.select([icmp], list(pending), [], left)
            except InterruptedError:
                continue
            for _ in readable:
                data, source = icmp.recvfrom(2048)
                if len(data) >= 8 and data[0] == ECHO_REPLY and struct.unpack("!H", data[4:6])[0] == ident:
                    address = canonical(source[0])
                    if address in seen and answered(seen, address, "ping"):
                        resumed[address] = seen[address]["ping"][-1]
            for tcp in writable:
                address, _ = pending.pop(tcp)
                if tcp.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    answered(seen, address, "port")
                tcp.close()
        # A connection that got nowhere within a second is given up (a new one follows).
        for tcp, (_, opened) in list(pending.items()):
            if time.monotonic() - opened > 1:
                pending.pop(tcp)
                tcp.close()
    json.dump(seen, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
