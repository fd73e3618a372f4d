// A loopback HTTP server standing in for a Debian mirror, with faults on demand.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { onTestFinished } from 'vitest';

export interface Served {
  body: Buffer;
  etag?: string;
  lastModified?: string;
}

export interface Faults {
  /** Close the connection after sending this many bytes of a full (200) body, once per count. */
  dropAfterBytes?: number;
  dropTimes?: number;
  ignoreRange?: boolean;
  /** Send headers, then nothing. */
  stall?: boolean;
  /** path → redirect target path */
  redirects?: Record<string, string>;
}

export interface MirrorServer {
  url: string;
  files: Map<string, Served>;
  faults: Faults;
  requests: { method: string; path: string; range?: string; status: number }[];
  bytesSent: number;
}

export async function mirrorServer(): Promise<MirrorServer> {
  const state: MirrorServer = { url: '', files: new Map(), faults: {}, requests: [], bytesSent: 0 };
  // Sends body, or drops the connection after faults.dropAfterBytes (dropTimes times).
  const send = (res: ServerResponse, body: Buffer) => {
    const drop = state.faults.dropAfterBytes;
    if (drop !== undefined && (state.faults.dropTimes ?? 1) > 0 && body.length > drop) {
      state.faults.dropTimes = (state.faults.dropTimes ?? 1) - 1;
      state.bytesSent += drop;
      res.write(body.subarray(0, drop), () => res.destroy());
      return;
    }
    state.bytesSent += body.length;
    res.end(body);
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const log = (status: number) => state.requests.push({ method: req.method ?? 'GET', path, range: req.headers.range, status });
    const target = state.faults.redirects?.[path];
    if (target) {
      log(302);
      res.writeHead(302, { Location: target }).end();
      return;
    }
    const file = state.files.get(path);
    if (!file) {
      log(404);
      res.writeHead(404).end('not found');
      return;
    }
    const etag = file.etag ?? `"${createHash('sha1').update(file.body).digest('hex')}"`;
    const headers: Record<string, string | number> = { ETag: etag, 'Accept-Ranges': 'bytes' };
    if (file.lastModified) headers['Last-Modified'] = file.lastModified;
    if (req.headers['if-none-match'] === etag) {
      log(304);
      res.writeHead(304, headers).end();
      return;
    }
    if (state.faults.stall) {
      log(200);
      res.writeHead(200, { ...headers, 'Content-Length': file.body.length });
      res.write(file.body.subarray(0, 1024));
      return; // never finishes
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    if (range && !state.faults.ignoreRange && (!ifRange || ifRange === etag)) {
      const start = Number(range[1]);
      if (start >= file.body.length) {
        log(416);
        res.writeHead(416, { 'Content-Range': `bytes */${file.body.length}` }).end();
        return;
      }
      log(206);
      const part = file.body.subarray(start);
      res.writeHead(206, { ...headers, 'Content-Length': part.length, 'Content-Range': `bytes ${start}-${file.body.length - 1}/${file.body.length}` });
      send(res, part);
      return;
    }
    log(200);
    res.writeHead(200, { ...headers, 'Content-Length': file.body.length });
    send(res, file.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  onTestFinished(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return state;
}
