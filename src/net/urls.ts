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

/** The file name a URL ends in (its last path segment, decoded): what Vultr names an ISO after. */
export function urlFileName(url: URL): string {
  return decodeURIComponent(url.pathname.split('/').pop() ?? '');
}

/**
 * What of a URL must never be printed: a query string may carry a signature (a presigned
 * URL grants access to whoever holds it), so the whole URL and its query are masked, the
 * whole first (then a file name that keeps the query still shows none of it).
 */
export function secretPartsOf(url: string): string[] {
  const query = URL.canParse(url) ? new URL(url).search.slice(1) : url.split('?').slice(1).join('?');
  return query ? [url, query] : [];
}
