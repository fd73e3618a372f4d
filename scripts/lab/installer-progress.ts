// What the serial console says about a d-i install in progress: done (late.sh's marker), or
// stopped, and on what. d-i draws its dialogs on the serial line as text between cursor moves
// and colours, so the escapes are dropped before matching.
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

function plain(serial: string): string {
  // eslint-disable-next-line no-control-regex -- terminal escapes are what is being removed
  return serial.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ' ').replace(/\x1b[()][0-9A-Za-z]/g, '').replace(/[ \t]+/g, ' ');
}

export function installerStop(serial: string): string | undefined {
  const text = plain(serial);
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

