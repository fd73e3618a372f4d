// What the serial console says about a d-i install in progress: done (late.sh's marker), or
// stopped, and on what. The installer draws its dialogs on the screen, the main console
// (src/iso/boot-menus.ts); the serial line carries our own lines and the installer's log,
// which early.sh copies there (test/fixtures/installer-serial holds a real one). A dialog drawn
// on the serial line (an installer started with the serial line as its main console) is read
// too: its escapes are dropped before matching.
export const INSTALL_DONE = 'vultr-sid-iso: install complete';
/** What d-i shows when it stops; the first group names what it was loading, where it says. */
const INSTALLER_STOPS: RegExp[] = [
  /Loading (\S+) failed for unknown reasons/,
  /Failed to load installer component/,
  /Bad archive mirror/,
  /Debootstrap Error/,
  /Failed getting Release file \S+/,
  /Couldn't retrieve \S+/,
  /Installation step failed/,
  /Failed to run preseeded command/,
  /refusing to overwrite the existing installation/,
];
/** Our late command's own ends other than complete (templates/installer/late.sh.hbs). */
const LATE_ENDS: [RegExp, string][] = [
  [/vultr-sid-iso: install failed: ([^\r\n]+)/, 'the install failed'],
  [/vultr-sid-iso: install finished with parts missing: ([^\r\n]+)/, 'the install finished with parts missing'],
];

function plain(serial: string): string {
  // eslint-disable-next-line no-control-regex -- terminal escapes are what is being removed
  return serial.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ' ').replace(/\x1b[()][0-9A-Za-z]/g, '').replace(/[ \t]+/g, ' ');
}

export function installerStop(serial: string): string | undefined {
  const text = plain(serial);
  for (const [pattern, what] of LATE_ENDS) {
    const m = pattern.exec(text);
    if (m) return `${what}: ${m[1]!.trim()}`;
  }
  // The installer's log: anna names the component it was retrieving, then says the retrieval failed.
  const retrieval = /anna\[\d+\]: WARNING \*\*: package retrieval failed/.exec(text);
  if (retrieval) {
    const before = text.slice(0, retrieval.index);
    const component = [...before.matchAll(/anna\[\d+\]: DEBUG: retrieving (\S+)/g)].at(-1)?.[1];
    const error = [...before.matchAll(/anna\[\d+\]: \S+ \S+ (ERROR \d+: [^\r\n]*?)\.?\r?$/gm)].at(-1)?.[1];
    return `the installer could not download ${component ?? 'a component'} from the mirror (anna: "package retrieval failed"${error ? `, ${error}` : ''})`;
  }
  // net-retriever's error names no file; the progress line before it did ("Retrieving X").
  const failedDownload = text.indexOf('Downloading a file failed');
  if (failedDownload >= 0) {
    const retrieving = [...text.slice(0, failedDownload).matchAll(/Retrieving (\S+)/g)].at(-1)?.[1];
    return `the installer could not download ${retrieving ?? 'a file'} from the mirror ("Downloading a file failed")`;
  }
  for (const pattern of INSTALLER_STOPS) {
    const m = pattern.exec(text);
    if (m) return m[1] ? `the installer could not load ${m[1]} ("${m[0]}")` : `the installer stopped: "${m[0].trim()}"`;
  }
  return undefined;
}
