// The PLC directory (https://plc.directory, or PDS_DID_PLC_URL): a DID's current data
// (`GET /DID/data`), its audit log (`GET /DID/log/audit`), and new operations (`POST /DID`).
// Reached through pdsctl's one HTTP client as an anonymous client: no credential ever goes
// to the directory. Requests are bounded (a pool of `concurrency` in flight) and a 429
// pauses every request to the directory for as long as its Retry-After asks (up to
// `maxRateLimitWaitMs`, `maxRateLimitRetries` times), so a check of many accounts slows
// down instead of failing or hammering the directory.
import { BadResponseError, NotFoundError, PdsctlError, XrpcError } from '../errors.js'
import { Pool } from '../admin/accounts.js'
import { retryAfterMs, sleepUnlessInterrupted, type PdsClient, type RawRequest, type RawResponse } from '../pds/xrpcClient.js'
import { parseAuditLog, parseDataResponse, type AnyPlcOperation, type AuditEntry, type PlcData } from './plcOperation.js'

export interface PlcDirectoryOptions {
  /** Requests in flight at once (default 4). */
  concurrency?: number
  /** A 429 asking for longer than this fails (default 120 s). */
  maxRateLimitWaitMs?: number
  /** 429s in a row for one request before it fails (default 5). */
  maxRateLimitRetries?: number
  /** Wait when a 429 names no Retry-After (default 5 s). */
  defaultRateLimitWaitMs?: number
  /** Aborts waits (the command's interruption). */
  signal?: AbortSignal
}

export class PlcDirectory {
  private readonly pool: Pool
  private pausedUntil = 0
  /** How many 429s were answered (each honoured by a pause). */
  rateLimited = 0

  constructor(
    /** An anonymous client whose target is the directory's URL. */
    readonly client: PdsClient,
    private readonly opts: PlcDirectoryOptions = {},
  ) {
    this.pool = new Pool(opts.concurrency ?? 4)
  }

  get url(): string {
    return this.client.url
  }

  /** The DID's current state. NotFoundError when the directory does not know it (or it is tombstoned). */
  async data(did: string): Promise<PlcData> {
    const res = await this.request({ method: 'GET', path: `/${did}/data`, name: `the PLC data of ${did}` }, did)
    return parseDataResponse(did, res.body)
  }

  /** Every operation of the DID, nullified ones included, oldest first. */
  auditLog(did: string): Promise<AuditEntry[]> {
    return this.request({ method: 'GET', path: `/${did}/log/audit`, name: `the PLC audit log of ${did}` }, did).then((res) => {
      const log = parseAuditLog(did, res.body)
      if (log.length === 0) throw new NotFoundError(`the PLC directory (${this.url}) has no operations for ${did}`)
      return log
    })
  }

  /** Send a signed operation. The directory's refusal (its `message`) is the error. */
  async submit(did: string, op: AnyPlcOperation): Promise<void> {
    await this.request({ method: 'POST', path: `/${did}`, name: `the PLC operation for ${did}`, body: op, anyBody: true, emptyOk: true }, did)
  }

  private async gate(): Promise<void> {
    for (;;) {
      const wait = this.pausedUntil - Date.now()
      if (wait <= 0) return
      await sleepUnlessInterrupted(wait, this.opts.signal)
    }
  }

  private async request(req: RawRequest, did: string): Promise<RawResponse> {
    const maxRetries = this.opts.maxRateLimitRetries ?? 5
    const maxWait = this.opts.maxRateLimitWaitMs ?? 120_000
    for (let attempt = 0; ; attempt++) {
      // Awaited only while paused: an await is a promise and a suspended frame more for
      // every request (identity check asks the directory once per account).
      if (this.pausedUntil > Date.now()) await this.gate()
      // The pool's slot held here, not through pool.run(): a frame less per request.
      const slot = this.pool.acquire()
      if (slot) await slot
      let res: RawResponse
      try {
        // Another request may have been told to wait while this one queued.
        if (this.pausedUntil > Date.now()) await this.gate()
        res = await this.client.send(req)
      } finally {
        this.pool.release()
      }
      if (res.status === 429) {
        this.rateLimited++
        const wait = retryAfterMs(res.headers) ?? this.opts.defaultRateLimitWaitMs ?? 5_000
        if (attempt >= maxRetries || wait > maxWait) {
          throw new XrpcError(req.name ?? req.path, 429, undefined, undefined, {
            summary: `the PLC directory (${this.url}) is rate limiting pdsctl`,
            hint: `Retry ${wait > 0 ? `in ${Math.ceil(wait / 1000)} s` : 'later'}, or lower --concurrency`,
          })
        }
        this.pausedUntil = Math.max(this.pausedUntil, Date.now() + wait)
        continue
      }
      if (res.status >= 200 && res.status < 300) {
        if (req.method === 'GET' && !res.json) {
          throw new BadResponseError(`${req.name}: ${this.url} answered HTTP ${res.status} with something that is not JSON (${res.contentType || 'no content type'})`, {
            hint: 'Check --plc-url: it should be a PLC directory (https://plc.directory)',
          })
        }
        return res
      }
      throw this.refusal(req, res, did)
    }
  }

  /** The directory's errors are `{message}`: kept as the XRPC message so the one error line shows it. */
  private refusal(req: RawRequest, res: RawResponse, did: string): PdsctlError {
    const message = typeof res.body === 'object' && res.body !== null && typeof (res.body as { message?: unknown }).message === 'string' ? (res.body as { message: string }).message : undefined
    if (req.method === 'GET' && (res.status === 404 || res.status === 410)) {
      return new NotFoundError(`the PLC directory (${this.url}) has no DID ${did}${res.status === 410 ? ' (tombstoned)' : message ? ` (${message})` : ''}`, {
        hint: 'Check the DID, and --plc-url (the directory the PDS uses is PDS_DID_PLC_URL)',
      })
    }
    if (message !== undefined && res.status >= 400 && res.status < 500) {
      const said = message.length > 300 ? `${message.slice(0, 300)}…` : message
      return new PdsctlError(`the PLC directory refused ${req.name} (HTTP ${res.status}: ${said})`)
    }
    return this.client.errorFor(req, res)
  }
}
