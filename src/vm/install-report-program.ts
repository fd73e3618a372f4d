// The program `vm create` hands an IPv6-only VM in its user-data, as a cloud-init script part:
// on the installed system's first boot it tells vm create that the install is done, by a PUT
// of a small JSON status to a presigned URL for one object in the user's object storage
// (docs/publishing.md, "IPv6-only VMs"). It is Python on purpose: the installed system always
// has python3 (the boot program needs it), not always curl. Standard library only.
//
// cloud-init runs it in cloud-final (scripts_user, once per instance). It schedules itself
// again as a transient unit ordered after cloud-final.service and returns at once, so that the
// status says how cloud-init ended (/run/cloud-init/result.json, written as cloud-final ends);
// the second run waits for that file anyway, in case the ordering is not honoured.
//
// The URL is a secret (whoever holds it may write the object until it expires): it is never
// printed. The VM may have no working DNS (an IPv6-only Vultr VM's DHCP lease names IPv4
// resolvers it cannot reach), so SETTINGS also carries the IPv6 addresses vm create found for
// the URL's host: when the name does not resolve, the program connects to those, with the
// name still in the Host header and TLS's server name.
//
// `--root DIR --ssh HOST:PORT`: read the installed system's files under DIR and probe that SSH
// address, never schedule anything (how the tests and the test fake run it).
export const INSTALL_REPORT_PROGRAM = String.raw`#!/usr/bin/python3
"""vultr-sid-iso install report: tells the vm create run that made this VM that its install is done."""
import argparse
import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse

SETTINGS = json.loads(__SETTINGS__)
UNIT = "vultr-sid-iso-install-report"
# Files of the installed system whose absence the status names.
INSTALL_STATUS = "var/lib/vultr-sid-iso/install-status"
INSTALL_PARTS = ("essentials", "upgrade", "packages", "units", "network")
EXPECTED = {
    "docker": "usr/sbin/dockerd",
    "ndppd": "usr/sbin/ndppd",
    "openssh-server": "usr/sbin/sshd",
    "vultr-sid-ipv6": "usr/local/sbin/vultr-sid-ipv6",
}


def log(message):
    print(f"vultr-sid-iso install report: {message}", flush=True)


def read(root, rel):
    try:
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None


def read_json(root, rel):
    text = read(root, rel)
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def ssh_answers(target):
    """True when the SSH server at target sends its identification line."""
    host, _, port = target.rpartition(":")
    host = host.strip("[]")
    try:
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.settimeout(5)
            seen = b""
            while len(seen) < 8192:
                chunk = sock.recv(1024)
                if not chunk:
                    break
                seen += chunk
                if any(line.startswith((b"SSH-2.0-", b"SSH-1.99-")) for line in seen.split(b"\n")):
                    return True
    except (OSError, ValueError):
        pass
    return False


def status(root, ssh_targets):
    """What this boot found, as vm create reads it (src/vm/install-report.ts checks every field)."""
    state = read_json(root, "run/vultr-sid-ipv6/state.json") or {}
    result = read_json(root, "run/cloud-init/result.json") or {}
    errors = (result.get("v1") or {}).get("errors") or []
    missing = [name for name, rel in EXPECTED.items() if not os.path.exists(os.path.join(root, rel))]
    if not state:
        missing.append("vultr-sid-ipv6 state")
    # The install's own record of its parts (vultr-sid-status prints it; the last line of a
    # part is its outcome): a part not done is missing, whatever files are there.
    recorded = dict(line.split("=", 1) for line in (read(root, INSTALL_STATUS) or "").splitlines() if "=" in line)
    if recorded:
        missing += [f"{part}: {recorded.get(part, 'not done yet')}" for part in INSTALL_PARTS if not recorded.get(part, "").startswith("done")]
    return {
        "version": 1,
        "instanceId": (read(root, "var/lib/cloud/data/instance-id") or "").strip(),
        "containerPrefix": state.get("containerPrefix"),
        "ipv6": bool(state.get("ipv6")),
        "sshd": any(ssh_answers(t) for t in ssh_targets),
        "missing": missing,
        "cloudInitErrors": [str(e)[:200] for e in errors[:10]],
    }


class PinnedHTTP(http.client.HTTPConnection):
    """Connects to a given address; the Host header keeps the URL's name."""

    def __init__(self, host, port, address, **kw):
        super().__init__(host, port, **kw)
        self.address = address

    def connect(self):
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class PinnedHTTPS(http.client.HTTPSConnection):
    """Connects to a given address; TLS checks the certificate against the URL's name."""

    def __init__(self, host, port, address, **kw):
        super().__init__(host, port, context=ssl.create_default_context(), **kw)
        self.address = address

    def connect(self):
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def put_once(url, body):
    """HTTP status of one PUT, trying the URL's host by name, then each address vm create resolved."""
    parts = urllib.parse.urlsplit(url)
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    target = parts.path + ("?" + parts.query if parts.query else "")
    # By name first; then the addresses vm create saw for the name, for a VM whose resolver
    # answers nothing, or only addresses it cannot reach (an A record on an IPv6-only VM).
    connections = [(http.client.HTTPSConnection if https else http.client.HTTPConnection)(parts.hostname, port, timeout=30)]
    connections += [(PinnedHTTPS if https else PinnedHTTP)(parts.hostname, port, a, timeout=30) for a in SETTINGS.get("addresses", [])]
    last = None
    for conn in connections:
        try:
            conn.request("PUT", target, body=body, headers={"Content-Type": "application/json"})
            return conn.getresponse().status
        except OSError as error:
            last = error
        finally:
            conn.close()
    raise OSError(f"no connection to {parts.hostname}: {type(last).__name__ if last else 'no address'}")


def send(root, ssh_targets, deadline):
    # cloud-init writes result.json as cloud-final ends; wait for it (bounded), then report.
    waited = time.monotonic() + 600
    while read(root, "run/cloud-init/result.json") is None and time.monotonic() < waited:
        time.sleep(2)
    body = json.dumps(status(root, ssh_targets)).encode()
    pause = 5
    while True:
        try:
            code = put_once(SETTINGS["url"], body)
            if 200 <= code < 300:
                log("sent")
                return 0
            # 403: the URL expired or was refused; another try cannot help.
            if code == 403 or 400 <= code < 500 and code not in (408, 429):
                log(f"the object storage refused the status (HTTP {code})")
                return 1
            log(f"HTTP {code}; trying again in {pause} s")
        except OSError as error:
            log(f"{error}; trying again in {pause} s")
        if time.monotonic() + pause > deadline:
            log("giving up")
            return 1
        time.sleep(pause)
        pause = min(pause * 2, 60)


def schedule(path):
    """Run again, with --send, once cloud-final has ended; never blocks cloud-final."""
    command = ["systemd-run", "--no-block", f"--unit={UNIT}", "--property=After=cloud-final.service", "--property=Type=oneshot", sys.executable, path, "--send"]
    if subprocess.run(command, check=False).returncode == 0:
        log(f"scheduled as {UNIT}.service")
        return 0
    # No systemd to ask: a detached child of our own (cloud-final keeps it: KillMode=process).
    subprocess.Popen([sys.executable, path, "--send"], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log("sending in the background")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--send", action="store_true", help="gather the status and send it now")
    parser.add_argument("--root", default="/", help="read the installed system under DIR (tests)")
    parser.add_argument("--ssh", action="append", help="HOST:PORT of the SSH server to probe (default ::1 and 127.0.0.1, port 22)")
    parser.add_argument("--give-up-after", type=float, default=1800, help="seconds of failed tries before giving up (default 1800)")
    args = parser.parse_args(argv)
    root = os.path.abspath(args.root)
    if not args.send and root == "/":
        return schedule(os.path.abspath(sys.argv[0]))
    return send(root, args.ssh or ["[::1]:22", "127.0.0.1:22"], time.monotonic() + args.give_up_after)


if __name__ == "__main__":
    sys.exit(main())
`;
