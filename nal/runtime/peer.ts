/**
 * The peer address of a socket in libnal syntax, from what a runtime says
 * about it.
 *
 * @module
 */

/**
 * `IP:host:port` or `IPv6:[host]:port` for a TCP peer, `UNIX:path` for a
 * named UNIX one, `""` for anything else.
 */
export function formatPeer(
  host: string | undefined | null,
  port: number | undefined | null,
  unixPath?: string | null,
): string {
  if (unixPath) return `UNIX:${unixPath}`;
  if (!host || port === undefined || port === null) return "";
  return host.includes(":") ? `IPv6:[${host}]:${port}` : `IP:${host}:${port}`;
}
