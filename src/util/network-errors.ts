/** What a failed connection's errno means, in words a person reads. */
const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the server',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed (DNS unavailable?)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_SOCKET: 'the server closed the connection',
  UND_ERR_HEADERS_TIMEOUT: 'no response headers in time',
  UND_ERR_BODY_TIMEOUT: 'the response body stalled',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate',
  CERT_HAS_EXPIRED: 'TLS certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate does not match the host name',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate cannot be verified',
};

/**
 * fetch() only says "fetch failed"; the useful part (ECONNREFUSED, ENOTFOUND, …) is in the cause
 * chain. `codeOf` finds the errno code there.
 */
export function describeFetchFailure(err: unknown, codeOf: (err: unknown) => string | undefined): string {
  const code = codeOf(err);
  if (code) return `${NETWORK_ERRORS[code] ?? deepestMessage(err)} (${code})`;
  return deepestMessage(err);
}

function deepestMessage(err: unknown): string {
  let current: unknown = err;
  for (let i = 0; i < 5 && current instanceof Error && current.cause instanceof Error; i++)
    current = current.cause;
  return current instanceof Error ? current.message : String(current);
}
