// An account's session on one PDS, for the migration: logged in with the account's
// password, created with the account, or resumed from a saved refresh token. The tokens
// are bound to the client of that PDS (a PdsClient sends credentials only to its own
// origin), registered with it as secrets, and never printed. The access token is renewed
// before it expires (a blob copy can outlast it), and once more when the PDS says it has.
import type { Readable } from 'node:stream'
import { AuthError, XrpcError } from '../errors.js'
import type { PdsClient, RawRequest, RawResponse } from '../pds/xrpcClient.js'

export interface SessionInfo {
  did: string
  handle: string
  email: string | null
  /** False for a deactivated account (the new one until activation, the old one after). */
  active: boolean
}

interface Tokens {
  accessJwt: string
  refreshJwt: string
}

/** Seconds since the epoch at which a JWT expires, read from its payload (our own token: no signature check needed). */
function expiresAt(jwt: string): number | undefined {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown }
    return typeof payload.exp === 'number' ? payload.exp : undefined
  } catch {
    return undefined
  }
}

const RENEW_BEFORE_S = 300

function tokensOf(body: unknown, what: string, client: PdsClient): Tokens & Partial<SessionInfo> {
  const b = body as { accessJwt?: unknown; refreshJwt?: unknown; did?: unknown; handle?: unknown; email?: unknown; active?: unknown }
  if (typeof b?.accessJwt !== 'string' || typeof b.refreshJwt !== 'string') {
    throw new AuthError(`${client.url} answered ${what} without session tokens`)
  }
  client.addSecret(b.accessJwt)
  client.addSecret(b.refreshJwt)
  return {
    accessJwt: b.accessJwt,
    refreshJwt: b.refreshJwt,
    did: typeof b.did === 'string' ? b.did : undefined,
    handle: typeof b.handle === 'string' ? b.handle : undefined,
    email: typeof b.email === 'string' ? b.email : null,
    active: b.active === false ? false : true,
  }
}

export class AccountSession {
  private tokens: Tokens

  private constructor(
    readonly client: PdsClient,
    /** "the old PDS" / "the new PDS", for messages. */
    readonly where: string,
    tokens: Tokens,
    public info: SessionInfo,
    /** Called with each new refresh token (the state file keeps the new account's). */
    private readonly onRefresh?: (refreshJwt: string) => Promise<void>,
  ) {
    this.tokens = tokens
  }

  get did(): string {
    return this.info.did
  }

  get refreshJwt(): string {
    return this.tokens.refreshJwt
  }

  /** createSession with the account's password. A wrong password is exit 3. */
  static async login(client: PdsClient, where: string, did: string, password: string, onRefresh?: (r: string) => Promise<void>): Promise<AccountSession> {
    client.addSecret(password)
    let res: RawResponse
    try {
      res = await client.call({
        method: 'POST',
        path: '/xrpc/com.atproto.server.createSession',
        body: { identifier: did, password },
        name: 'com.atproto.server.createSession',
      })
    } catch (err) {
      if (err instanceof XrpcError && err.xrpcName === 'AuthFactorTokenRequired') {
        throw new AuthError(`${where} (${client.url}) asks for an emailed sign-in code for ${did} (two-factor sign-in is on)`, {
          hint: 'Turn off email two-factor sign-in for the account while it migrates (its app settings), then run the same command again',
        })
      }
      if (err instanceof XrpcError && err.status === 401) {
        throw new AuthError(`${where} (${client.url}) rejected the password of ${did} (${err.xrpcName ?? 'HTTP 401'}${err.xrpcMessage ? `: ${err.xrpcMessage}` : ''})`, {
          hint: "Give the account's own password on that PDS (not an app password, not the admin password)",
        })
      }
      throw err
    }
    const t = tokensOf(res.body, 'com.atproto.server.createSession', client)
    if (t.did !== did) throw new AuthError(`${where} (${client.url}) logged in ${t.did ?? 'no account'} instead of ${did}`)
    return new AccountSession(client, where, t, { did, handle: t.handle ?? did, email: t.email ?? null, active: t.active ?? true }, onRefresh)
  }

  /** The session createAccount answered with. */
  static created(client: PdsClient, where: string, body: unknown, did: string, onRefresh?: (r: string) => Promise<void>): AccountSession {
    const t = tokensOf(body, 'com.atproto.server.createAccount', client)
    if (t.did !== did) throw new AuthError(`${where} (${client.url}) created ${t.did ?? 'no account'} instead of ${did}`)
    return new AccountSession(client, where, t, { did, handle: t.handle ?? did, email: null, active: false }, onRefresh)
  }

  /** A saved refresh token, renewed now; undefined when the PDS no longer takes it. */
  static async resume(client: PdsClient, where: string, did: string, refreshJwt: string, onRefresh?: (r: string) => Promise<void>): Promise<AccountSession | undefined> {
    client.addSecret(refreshJwt)
    const s = new AccountSession(client, where, { accessJwt: '', refreshJwt }, { did, handle: did, email: null, active: false }, onRefresh)
    try {
      await s.refresh()
    } catch (err) {
      if (err instanceof XrpcError && (err.status === 400 || err.status === 401)) return undefined
      throw err
    }
    return s
  }

  /** refreshSession: new tokens (the old refresh token is spent), saved through onRefresh first. */
  async refresh(): Promise<void> {
    const res = await this.client.call({
      method: 'POST',
      path: '/xrpc/com.atproto.server.refreshSession',
      auth: { bearer: this.tokens.refreshJwt },
      name: 'com.atproto.server.refreshSession',
    })
    const t = tokensOf(res.body, 'com.atproto.server.refreshSession', this.client)
    if (t.did !== undefined && t.did !== this.info.did) throw new AuthError(`${this.where} refreshed a session of ${t.did}, not ${this.info.did}`)
    this.tokens = { accessJwt: t.accessJwt, refreshJwt: t.refreshJwt }
    if (t.handle) this.info.handle = t.handle
    await this.onRefresh?.(t.refreshJwt)
  }

  /** The access token as an Auth, renewed first when it expires within five minutes. */
  async auth(): Promise<{ bearer: string }> {
    const exp = expiresAt(this.tokens.accessJwt)
    if (!this.tokens.accessJwt || (exp !== undefined && exp - Date.now() / 1000 < RENEW_BEFORE_S)) await this.refresh()
    return { bearer: this.tokens.accessJwt }
  }

  /** One XRPC call as the account; renewed and retried once when the PDS says the token expired. */
  async call(req: Omit<RawRequest, 'auth'>): Promise<RawResponse> {
    try {
      return await this.client.call({ ...req, auth: await this.auth() })
    } catch (err) {
      if (!(err instanceof XrpcError && err.xrpcName === 'ExpiredToken')) throw err
      await this.refresh()
      return this.client.call({ ...req, auth: { bearer: this.tokens.accessJwt } })
    }
  }

  /** A streamed request as the account (CARs, blobs). No retry: a body can be sent only once. */
  async stream(req: Omit<RawRequest, 'auth'>, opts: { body?: Readable | Buffer; contentLength?: number; signal?: AbortSignal } = {}) {
    return this.client.stream({ ...req, auth: await this.auth() }, opts)
  }

  /** getSession: handle, email and whether the account is active. */
  async describe(): Promise<SessionInfo> {
    const res = await this.call({ method: 'GET', path: '/xrpc/com.atproto.server.getSession', name: 'com.atproto.server.getSession', requires: ['did', 'handle'] })
    const b = res.body as { did: string; handle: string; email?: unknown; active?: unknown }
    if (b.did !== this.info.did) throw new AuthError(`${this.where} answered getSession for ${b.did}, not ${this.info.did}`)
    this.info = { did: b.did, handle: b.handle, email: typeof b.email === 'string' ? b.email : null, active: b.active !== false }
    return this.info
  }
}
