/**
 * A header value HTTP/1.1 cannot carry as sluice sends it: a control character other than
 * tab, or one past U+00FF (node's client refuses it with ERR_INVALID_CHAR; sluice's own
 * connections, functions/adapters/http1-pool.ts, refuse it the same way).
 */
export const UNSENDABLE_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
