// The blob copy of a migration: every blob the new PDS lists as missing
// (com.atproto.repo.listMissingBlobs, paged) is streamed from the old PDS
// (com.atproto.sync.getBlob) straight into the new one (com.atproto.repo.uploadBlob):
// the body of one request is the body of the other, so no blob is ever held whole in
// memory or on disk, whatever its size. `concurrency` blobs are in flight at once. The new
// PDS hashes what it receives: the CID it answers must be the one it listed, else the copy
// is refused (the old PDS sent other bytes).
//
// Rate limits: a 429 (or 503) that asks for a short wait (Retry-After, else
// RateLimit-Reset) is waited out and the blob tried again; a longer one stops the copy,
// saying how many blobs remain and when the PDS takes more. The new PDS's
// RateLimit-Remaining is watched, so a day's quota that cannot cover the rest is said early.
import { PdsctlError, XrpcError } from '../errors.js'
import { isBlobGone, rateLimitWaitMs, streamBlob } from '../pds/blobStream.js'
import type { PdsClient } from '../pds/xrpcClient.js'
import { retryAfterMs } from '../pds/xrpcClient.js'
import type { AccountSession } from './session.js'

export interface BlobCopyProgress {
  /** Blobs copied in this run, and how many were missing when it began. */
  done: number
  total: number
  bytes: number
  elapsedMs: number
  /** A notable event (a rate-limit wait), when there is one. */
  note?: string
}

export interface BlobCopyResult {
  copied: number
  bytes: number
  /** CIDs the old PDS answered "not found" for: they cannot be copied. */
  unavailable: string[]
  /** Set when a rate limit stopped the copy: blobs left and when to continue. */
  stopped?: { remaining: number; retryAt: Date; by: 'old' | 'new' }
}

export interface BlobCopyOptions {
  did: string
  /** The old PDS, and the account's session there when there is one (getBlob is public for an active account). */
  old: PdsClient
  oldSession?: AccountSession
  newSession: AccountSession
  concurrency: number
  /** How many blobs were missing when the copy began (checkAccountStatus), for progress. */
  total: number
  /** The longest rate-limit wait honoured in place; longer ones stop the copy. */
  maxWaitMs: number
  /** CIDs known to be gone from the old PDS: not asked for again. */
  skip?: Set<string>
  signal?: AbortSignal
  onProgress?: (p: BlobCopyProgress) => void
}

class RateLimitStop extends Error {
  constructor(
    readonly retryAt: Date,
    readonly by: 'old' | 'new',
  ) {
    super('rate limited')
  }
}

const PAGE = 500
const ATTEMPTS = 3

export async function copyMissingBlobs(opts: BlobCopyOptions): Promise<BlobCopyResult> {
  const started = Date.now()
  const result: BlobCopyResult = { copied: 0, bytes: 0, unavailable: [] }
  let lastEmit = 0
  const progress = (note?: string, force = false) => {
    const now = Date.now()
    if (!force && !note && now - lastEmit < 200) return
    lastEmit = now
    opts.onProgress?.({ done: result.copied, total: opts.total, bytes: result.bytes, elapsedMs: now - started, note })
  }
  let stop: RateLimitStop | undefined
  let quotaWarned = false
  const skip = opts.skip ?? new Set<string>()

  const copyOne = async (cid: string): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      if (stop) return
      try {
        await transfer(cid)
        return
      } catch (err) {
        if (opts.signal?.aborted) throw err
        const wait = rateLimitWaitMs(err, attempt)
        if (wait !== undefined) {
          const by = (err as { side?: 'old' | 'new' }).side ?? 'new'
          if (wait > opts.maxWaitMs || attempt >= ATTEMPTS + 2) {
            stop ??= new RateLimitStop(new Date(Date.now() + wait), by)
            return
          }
          progress(`rate limited by the ${by} PDS: waiting ${Math.ceil(wait / 1000)} s as it asks`, true)
          await sleep(wait, opts.signal)
          continue
        }
        if (isBlobGone(err) && (err as { side?: string }).side === 'old') {
          result.unavailable.push(cid)
          skip.add(cid)
          return
        }
        // A dropped connection or a 5xx: the copy is idempotent (an upload of the same bytes
        // gives the same blob), so try again a couple of times.
        const transient = !(err instanceof XrpcError) || err.status >= 500
        if (transient && attempt < ATTEMPTS && !(err instanceof BlobMismatchError)) {
          await sleep(500 * attempt, opts.signal)
          continue
        }
        throw err
      }
    }
  }

  const transfer = async (cid: string): Promise<void> => {
    const auth = opts.oldSession ? await opts.oldSession.auth() : ('none' as const)
    const src = await streamBlob(opts.old, { did: opts.did, cid, auth, signal: opts.signal }).catch((err: unknown) => {
      throw tag(err, 'old')
    })
    const body = src.body
    let sent = 0
    body.on('data', (chunk: Buffer) => {
      sent += chunk.length
      result.bytes += chunk.length
      progress()
    })
    let up
    try {
      up = await opts.newSession.stream(
        { method: 'POST', path: '/xrpc/com.atproto.repo.uploadBlob', contentType: src.mimeType, name: 'com.atproto.repo.uploadBlob' },
        { body, contentLength: src.size, signal: opts.signal },
      )
    } catch (err) {
      body.destroy()
      result.bytes -= sent
      throw tag(err, 'new')
    }
    const text = await readAll(up.body)
    const remaining = Number(first(up.headers['ratelimit-remaining']))
    if (!quotaWarned && Number.isFinite(remaining) && remaining < opts.total - result.copied - 1) {
      quotaWarned = true
      const reset = retryAfterMs(up.headers)
      progress(
        `the new PDS allows ${remaining} more uploads from this address${reset !== undefined ? ` until ${new Date(Date.now() + reset).toISOString()}` : ''}, and ${opts.total - result.copied - 1} blobs are left: the copy will pause there (PDS_RATE_LIMIT_BYPASS_KEY lifts the limit)`,
        true,
      )
    }
    let got: string | undefined
    try {
      got = (JSON.parse(text) as { blob?: { ref?: { $link?: unknown } } }).blob?.ref?.$link as string | undefined
    } catch {
      /* checked below */
    }
    if (got !== cid) {
      throw new BlobMismatchError(`com.atproto.repo.uploadBlob: the new PDS stored ${typeof got === 'string' ? got : 'no blob'} for ${cid}: the old PDS sent other bytes than that CID's`)
    }
    result.copied++
    progress()
  }

  // Pages are read one at a time as the workers need them; each page's CIDs after the
  // previous page's last one (the PDS's cursor), so blobs copied meanwhile do not shift it.
  let cursor: string | undefined
  let queue: string[] = []
  let exhausted = false
  let pulling: Promise<void> | undefined
  const pull = async () => {
    const res = await opts.newSession.call({
      method: 'GET',
      path: '/xrpc/com.atproto.repo.listMissingBlobs',
      query: { limit: PAGE, cursor },
      name: 'com.atproto.repo.listMissingBlobs',
      requires: ['blobs[]', 'blobs[].cid'],
    })
    const body = res.body as { cursor?: unknown; blobs: Array<{ cid: unknown }> }
    const cids = body.blobs.map((b) => b.cid).filter((c): c is string => typeof c === 'string' && /^b[a-z2-7]{20,}$/.test(c))
    queue.push(...cids.filter((c) => !skip.has(c)))
    const next = typeof body.cursor === 'string' && body.cursor && cids.length === PAGE ? body.cursor : undefined
    if (!next || next === cursor) exhausted = true
    cursor = next
  }
  const nextCid = async (): Promise<string | undefined> => {
    for (;;) {
      if (stop) return undefined
      const c = queue.shift()
      if (c) return c
      if (exhausted) return undefined
      pulling ??= pull().finally(() => (pulling = undefined))
      await pulling
    }
  }
  const worker = async () => {
    for (let cid = await nextCid(); cid; cid = await nextCid()) await copyOne(cid)
  }
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency) }, worker))
  queue = []
  progress(undefined, true)
  if (stop) {
    const left = await countMissing(opts.newSession)
    result.stopped = { remaining: Math.max(0, left - skip.size), retryAt: stop.retryAt, by: stop.by }
  }
  return result
}

/** How many blobs the new PDS still lists as missing. */
export async function countMissing(session: AccountSession): Promise<number> {
  let cursor: string | undefined
  let n = 0
  for (let pages = 0; pages < 10_000; pages++) {
    const res = await session.call({
      method: 'GET',
      path: '/xrpc/com.atproto.repo.listMissingBlobs',
      query: { limit: 1000, cursor },
      name: 'com.atproto.repo.listMissingBlobs',
      requires: ['blobs[]'],
    })
    const body = res.body as { cursor?: unknown; blobs: unknown[] }
    n += body.blobs.length
    if (typeof body.cursor !== 'string' || !body.cursor || body.blobs.length < 1000 || body.cursor === cursor) return n
    cursor = body.cursor
  }
  return n
}

class BlobMismatchError extends PdsctlError {}

function tag(err: unknown, side: 'old' | 'new'): unknown {
  if (err instanceof XrpcError) Object.assign(err, { side })
  return err
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v
}

async function readAll(body: NodeJS.ReadableStream): Promise<string> {
  let s = ''
  for await (const c of body) s += (c as Buffer).toString('utf8')
  return s
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(t)
      reject(signal!.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
