// A package source that fails the way a mirror does, for the lab's installs: an HTTP proxy on
// loopback that apt in the new system goes through (Acquire::http::Proxy, set by
// build-sid-disk.sh while late.sh runs). It forwards every request to the mirror named in it,
// except those its faults catch:
//   failOnce  the first request that matches each pattern gets 404 (a mirror mid-sync, whose
//             index lists a file it has not got yet; apt does not retry a 404 by itself, so
//             only late.sh's own retry can get past it), later ones go through;
//   refuse    every matching request gets 404 (a package the mirror lacks that day; ".*": a
//             mirror with nothing).
// What it did with each request is kept (and appended to a file as it goes, one JSON line
// each), so a test can show that a fault really happened.
import { appendFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AptFaults {
  failOnce?: RegExp[];
  refuse?: RegExp[];
}

export interface ProxiedRequest {
  url: string;
  /** passed: forwarded to the mirror (status: its answer); failed-once, refused: answered 404 here. */
  action: 'passed' | 'failed-once' | 'refused';
  status?: number;
}

export class AptFaultProxy {
  readonly requests: ProxiedRequest[] = [];
  private readonly spent = new Set<number>();

  private constructor(
    private readonly server: Server,
    private readonly faults: AptFaults,
    private readonly record?: string,
  ) {}

  /** Listens on 127.0.0.1, on a port of the system's choosing; `record`: the JSON-lines file. */
  static async start(faults: AptFaults, record?: string): Promise<AptFaultProxy> {
    const server = createServer();
    const proxy = new AptFaultProxy(server, faults, record);
    server.on('request', (req, res) => proxy.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** What apt's Acquire::http::Proxy takes. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '';
    const once = (this.faults.failOnce ?? []).findIndex((p, i) => !this.spent.has(i) && p.test(url));
    if (once >= 0) {
      this.spent.add(once);
      this.notFound(url, res, 'failed-once');
      return;
    }
    if ((this.faults.refuse ?? []).some((p) => p.test(url))) {
      this.notFound(url, res, 'refused');
      return;
    }
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      res.writeHead(400).end('an HTTP proxy takes absolute URLs\n');
      return;
    }
    const { ['proxy-connection']: _hop, ...headers } = { ...req.headers, host: target.host } as Record<string, string | string[] | undefined>;
    const upstream = request(target, { method: req.method, headers }, (answer) => {
      this.note({ url, action: 'passed', status: answer.statusCode });
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', (error) => {
      this.note({ url, action: 'passed', status: 502 });
      if (!res.headersSent) res.writeHead(502).end(`the mirror did not answer: ${error.message}\n`);
      else res.destroy();
    });
    req.pipe(upstream);
  }

  private note(request: ProxiedRequest): void {
    this.requests.push(request);
    if (this.record) appendFileSync(this.record, `${JSON.stringify(request)}\n`);
  }

  private notFound(url: string, res: ServerResponse, action: 'failed-once' | 'refused'): void {
    this.note({ url, action });
    res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found (the lab\'s fault injection)\n');
  }
}
