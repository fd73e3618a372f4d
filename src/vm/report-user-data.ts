// The user-data `vm create` sends for a VM that reports its own install (IPv6-only VMs): the
// user's own user-data, untouched, and the report program (install-report-program.ts) as a
// second part of a MIME multipart message, which cloud-init splits and handles part by part
// (cloud-init docs, "User-data formats": MIME multi-part archive). The user's part keeps its
// meaning: a MIME message stays one (cloud-init walks nested multiparts), anything else is
// sent as text/x-not-multipart, which cloud-init types from its first line (#cloud-config,
// #!, #include …) exactly as it would have alone; gzip is unpacked first, since cloud-init
// only unpacks a gzipped whole. Base64 transfer encoding keeps any bytes intact.
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { INSTALL_REPORT_PROGRAM } from './install-report-program.js';

/** The part's file name: cloud-init writes it to /var/lib/cloud/instance/scripts/ under this name. */
export const REPORT_PART_FILENAME = 'vultr-sid-iso-install-report';

export interface ReportOptions {
  /**
   * IPv6 addresses of the report URL's host, for a VM whose DNS does not work (the program
   * connects to them, the name kept for Host and TLS). Default: none.
   */
  addresses?: string[];
  /** The MIME boundary (default: random); a test may fix it. */
  boundary?: string;
}

/** The report program with its settings filled in. */
export function reportProgram(reportUrl: string, addresses: string[] = []): string {
  const settings = JSON.stringify({ url: reportUrl, addresses });
  // A JSON string literal is a Python string literal too.
  // A function: a replacement string would read $& and $' in the settings as patterns.
  return INSTALL_REPORT_PROGRAM.replace('__SETTINGS__', () => JSON.stringify(settings));
}

const base64Lines = (data: Buffer) => (data.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');

/** A whole MIME message (headers first), which cloud-init would take as a multipart. */
function isMime(text: string): boolean {
  return /^(Content-Type|MIME-Version)\s*:/i.test(text);
}

/**
 * Exactly the user-data `vm create` sends to a VM that reports its install: the user's own
 * (`userData`, the bytes of --user-data FILE, if any) and the report program that PUTs the
 * VM's status to `reportUrl` at the end of its first boot. Returns the raw bytes (Vultr's API
 * wants them base64-encoded in user_data).
 */
export function reportUserData(userData: Buffer | undefined, reportUrl: string, options: ReportOptions = {}): Buffer {
  const boundary = options.boundary ?? `vultr-sid-iso-${randomBytes(12).toString('hex')}`;
  let own = userData && userData.length > 0 ? userData : undefined;
  if (own && own[0] === 0x1f && own[1] === 0x8b) own = gunzipSync(own);
  const parts: string[] = [];
  if (own) {
    const text = own.toString('latin1');
    if (isMime(text)) {
      // The user's message is a body part as it stands (its headers, a blank line, its body),
      // line endings and all: a part's payload keeps them, and a script must not gain CRs.
      if (text.includes(boundary)) throw new Error('the MIME boundary occurs in the user-data');
      parts.push(text.replace(/(\r?\n)+$/, ''));
    } else {
      parts.push(['Content-Type: text/x-not-multipart', 'Content-Transfer-Encoding: base64', 'Content-Disposition: attachment; filename="user-data"', '', base64Lines(own)].join('\r\n'));
    }
  }
  parts.push(
    [
      'Content-Type: text/x-shellscript; charset="utf-8"',
      'Content-Transfer-Encoding: base64',
      `Content-Disposition: attachment; filename="${REPORT_PART_FILENAME}"`,
      '',
      base64Lines(Buffer.from(reportProgram(reportUrl, options.addresses))),
    ].join('\r\n'),
  );
  const head = ['Content-Type: multipart/mixed; boundary="' + boundary + '"', 'MIME-Version: 1.0', '', ''].join('\r\n');
  return Buffer.from(`${head}${parts.map((p) => `--${boundary}\r\n${p}\r\n`).join('')}--${boundary}--\r\n`, 'latin1');
}
