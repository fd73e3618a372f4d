// The installed system's SSH server, seen from outside: the one sign that an install has
// finished which does not depend on what Vultr's API reports (a guest power-off may never
// show there: docs/publishing.md, "How Vultr really behaves"). The installer runs no SSH
// server, so a banner means the installed system is up.
import { Socket } from 'node:net';

/** The server's identification line ("SSH-2.0-OpenSSH_10.6 Debian-1"), or why there is none. */
export async function sshBanner(host: string, port: number, timeoutMs = 5000): Promise<{ banner?: string; error?: string }> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let received = '';
    const done = (result: { banner?: string; error?: string }) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done({ error: 'no answer' }));
    socket.on('error', (error: NodeJS.ErrnoException) => done({ error: error.code ?? error.message }));
    socket.on('close', () => done({ error: received ? 'closed before a full line' : 'closed' }));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      // RFC 4253 §4.2: the server may send other lines before "SSH-2.0-...".
      for (const line of received.split(/\r?\n/).slice(0, -1)) {
        if (/^SSH-(2\.0|1\.99)-/.test(line)) return done({ banner: line });
      }
      if (received.length > 8192) done({ error: 'no SSH identification line' });
    });
    socket.connect({ host, port });
  });
}

/** True when the address can be dialled at all (an empty or unset one cannot). */
export const dialable = (address: string | undefined): address is string => Boolean(address) && address !== '0.0.0.0' && address !== '::';

/**
 * Probes the SSH port of a few addresses in the background, each on its own schedule, so a
 * slow one (an address that does not route from here takes seconds to fail) never holds up
 * the others or the caller. `banner` is what the latest probes saw.
 */
export class BannerWatch {
  private readonly latest = new Map<string, { banner?: string; error?: string }>();
  private readonly running = new Set<string>();
  private stopped = false;

  constructor(
    private readonly port: number,
    private readonly everyMs: number,
    /** Told each time an address's answer changes (for --trace). */
    private readonly onChange?: (host: string, result: { banner?: string; error?: string }) => void,
  ) {}

  /** Starts watching any of these addresses not yet watched. */
  watch(addresses: (string | undefined)[]): void {
    for (const host of addresses.filter(dialable)) {
      if (this.running.has(host) || this.stopped) continue;
      this.running.add(host);
      void this.loop(host);
    }
  }

  private async loop(host: string): Promise<void> {
    while (!this.stopped) {
      const result = await sshBanner(host, this.port, 3000);
      const before = this.latest.get(host);
      if (before?.banner !== result.banner || before?.error !== result.error) this.onChange?.(host, result);
      this.latest.set(host, result);
      await new Promise((r) => setTimeout(r, this.everyMs).unref());
    }
  }

  /** The banner of an address whose latest probe got one. */
  get banner(): string | undefined {
    return [...this.latest.values()].find((r) => r.banner)?.banner;
  }

  /** No address shows a banner, and at least one probe found none (a slow address need not have answered yet). */
  get down(): boolean {
    return this.banner === undefined && [...this.latest.values()].some((r) => !r.banner);
  }

  stop(): void {
    this.stopped = true;
  }
}
