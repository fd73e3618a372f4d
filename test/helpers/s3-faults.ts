// Faults on the object storage calls `vm create --ipv6-only` makes (issue 31): a proxy on
// [::1] in front of s3rver that passes every request through but one, which it cuts before
// it reaches the store, answers with HTTP 500 instead of passing it, or holds while it sends
// Ctrl-C to the CLI (as fake-faults.ts does for Vultr's API). The calls are told apart by
// method and object: HEAD of the bucket (the check before anything is made), HEAD and GET of
// the install report (the polls), DELETE of it. The VM's own PUT passes untouched.
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { onTestFinished } from 'vitest';

export type S3FaultKind = 'drop' | 'refused-500' | 'sigint';
export const S3_FAULTS: S3FaultKind[] = ['drop', 'refused-500', 'sigint'];
/** The CLI's object storage calls, in the order a run makes them. */
export const S3_CALLS = ['HEAD bucket', 'HEAD report', 'GET report', 'DELETE report'] as const;
export type S3Call = (typeof S3_CALLS)[number];

function callOf(req: IncomingMessage): string {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  return `${req.method} ${path.includes('/install-reports/') ? 'report' : /^\/[^/]+\/?$/.test(path) ? 'bucket' : 'other'}`;
}

export interface S3FaultProxy {
  endpoint: string;
  /** The calls seen, in order. */
  calls: string[];
  /** The fault found its call. */
  landed: boolean;
}

/** A proxy to `upstream` (http://[::1]:port) that puts `fault` on the first `call` it sees; `pid` gets the Ctrl-C. */
export async function s3FaultProxy(upstream: string, fault?: { call: S3Call; kind: S3FaultKind }, pid?: () => number | undefined): Promise<S3FaultProxy> {
  const target = new URL(upstream);
  const state: S3FaultProxy = { endpoint: '', calls: [], landed: false };
  const server = createServer((req, res) => {
    const call = callOf(req);
    state.calls.push(call);
    if (fault && !state.landed && call === fault.call) {
      state.landed = true;
      if (fault.kind === 'drop') return req.socket.destroy();
      if (fault.kind === 'refused-500') {
        res.writeHead(500, { 'Content-Type': 'application/xml' });
        return res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>');
      }
      const p = pid?.();
      if (p !== undefined) process.kill(p, 'SIGINT');
      // Held until the client gives it up.
      return;
    }
    const upstreamReq = request({ host: target.hostname.replace(/^\[|\]$/g, ''), port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstreamReq.on('error', () => req.socket.destroy());
    req.pipe(upstreamReq);
  });
  await new Promise<void>((r) => server.listen(0, '::1', r));
  onTestFinished(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  state.endpoint = `http://[::1]:${(server.address() as AddressInfo).port}`;
  return state;
}
