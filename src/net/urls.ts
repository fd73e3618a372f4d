// Rules for the URLs this tool is given (environment, config, flags): no credentials inside
// them (they would be printed in logs, job summaries and the manifest), and plain http only
// where nothing crosses a network (loopback) unless the user says otherwise.

/** user:password@ (or just user@) in a URL. */
export function hasCredentials(url: URL): boolean {
  return url.username !== '' || url.password !== '';
}

/** localhost, 127.0.0.0/8 or [::1]. */
export function isLoopbackHost(hostname: string): boolean {
  return /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i.test(hostname);
}
