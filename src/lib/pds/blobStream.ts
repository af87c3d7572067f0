// The blob path `backup` and `account migrate` share: one blob's bytes, as a stream, from
// com.atproto.sync.getBlob, never held whole (backup writes them to a file while hashing,
// migrate sends them straight on to the new PDS's uploadBlob); and how long a rate limit
// asks to wait. Errors are the client's typed ones (a 429/503 carries `retryAfterMs`).
import type { Readable } from 'node:stream'
import { XrpcError } from '../errors.js'
import type { Auth, PdsClient } from './xrpcClient.js'

export interface BlobStream {
  body: Readable
  /** Content-Length when the server sent one. */
  size?: number
  /** The MIME type the server gave (without parameters), or application/octet-stream. */
  mimeType: string
}

/** GET com.atproto.sync.getBlob?did&cid, the body handed over unread (consume or destroy it). */
export async function streamBlob(client: PdsClient, req: { did: string; cid: string; auth?: Auth; signal?: AbortSignal }): Promise<BlobStream> {
  const res = await client.stream(
    { method: 'GET', path: '/xrpc/com.atproto.sync.getBlob', query: { did: req.did, cid: req.cid }, auth: req.auth ?? 'none', name: 'com.atproto.sync.getBlob' },
    { signal: req.signal },
  )
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)
  const length = Number(first(res.headers['content-length']))
  const type = (first(res.headers['content-type']) ?? '').split(';')[0].trim()
  return { body: res.body, size: Number.isSafeInteger(length) && length >= 0 ? length : undefined, mimeType: type || 'application/octet-stream' }
}

/**
 * How long a rate-limited answer asks to wait (Retry-After, else RateLimit-Reset), or a
 * backoff for `attempt` when it says nothing; undefined when the error is no rate limit.
 */
export function rateLimitWaitMs(err: unknown, attempt: number): number | undefined {
  if (!(err instanceof XrpcError) || (err.status !== 429 && err.status !== 503)) return undefined
  return (err as { retryAfterMs?: number }).retryAfterMs ?? 1000 * 2 ** Math.min(attempt, 6)
}

/** The old PDS no longer has the blob: 404 BlobNotFound, or 400 "Blob not found" when its file is gone from the blobstore. */
export function isBlobGone(err: unknown): boolean {
  return err instanceof XrpcError && (err.status === 404 || /NotFound/.test(err.xrpcName ?? '') || /blob not found/i.test(err.xrpcMessage ?? ''))
}
