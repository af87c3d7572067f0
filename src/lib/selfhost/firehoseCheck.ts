// The doctor's firehose check: does a new event reach com.atproto.sync.subscribeRepos, as
// relays read it through the public URL, within seconds of a write?
//
// The write is chosen to change nothing lasting: com.atproto.admin.updateSubjectStatus for an
// existing account with neither `takedown` nor `deactivated`. Both PDS lines answer it by
// sequencing the account's current status as an #account event (0.5: "this endpoint
// historically has always sequenced the account status"; 0.4 sequences it after any
// updateSubjectStatus on an account): no row, session, token or PLC operation changes, and a
// relay that reads the event learns what it already knew (the account's status). The other
// candidates each leave something behind: a throwaway account puts a DID in the PLC
// directory for good; a handle update to the same handle signs a new PLC operation; a
// deactivate/activate or takedown/untakedown pair shows the account as gone for a moment,
// and a takedown revokes its sessions.
import { PdsctlError } from '../errors.js'
import { readFrame } from '../federation/firehoseSeq.js'
import { monotonicMs, type PdsClient } from '../pds/xrpcClient.js'
import type { Check } from './doctor.js'
import { PdsctlWebSocket } from '../pds/webSocket.js'

export interface FirehoseCheckInput {
  /** The PDS's public URL: where relays subscribe. */
  publicUrl: string
  /** A client that may use the admin password (null: none is available without a prompt). */
  admin: PdsClient | null
  /** Pass when the event arrives within this (default 5 s); warn up to deadlineMs; fail after. */
  passMs?: number
  deadlineMs?: number
  /** --debug: the WebSocket's lines (its URL, the proxy it goes through, how it opened). */
  debug?: (line: string) => void
}

const ID = 'firehose-event'

export async function checkFirehoseEvent(input: FirehoseCheckInput): Promise<Check> {
  const passMs = input.passMs ?? 5000
  const deadlineMs = input.deadlineMs ?? 15_000
  if (!input.admin) {
    return {
      id: ID,
      status: 'warn',
      message: 'did not check that a new event reaches the firehose: the test event needs the admin password',
      fix: 'Pass --env-file /pds/pds.env, set PDS_ADMIN_PASSWORD, or --kube-secret',
    }
  }
  const admin = input.admin
  let did: string | undefined
  try {
    const page = await admin.query('com.atproto.sync.listRepos', { limit: 1 }, 'none')
    did = Array.isArray(page?.repos) && typeof page.repos[0]?.did === 'string' ? page.repos[0].did : undefined
  } catch (err) {
    return { id: ID, status: 'warn', message: `did not check the firehose: listing an account failed (${errLine(err)})`, fix: 'Check the PDS logs' }
  }
  if (!did) return { id: ID, status: 'warn', message: 'did not check that a new event reaches the firehose: the PDS has no account yet to send one for', fix: 'Run the doctor again once an account exists' }

  const url = input.publicUrl.replace(/^http/, 'ws').replace(/\/$/, '') + '/xrpc/com.atproto.sync.subscribeRepos'
  let ws: PdsctlWebSocket
  // Events sequenced before the write may still be on their way (the PDS's outbox passes its
  // sequencer's rows on a moment later): the write waits for a quiet moment, and only an
  // event numbered above every one seen before it counts.
  let lastSeq = -1
  let lastFrameAt = monotonicMs()
  let writeSent = false
  let openedResolve!: () => void
  const opened = new Promise<void>((r) => (openedResolve = r))
  const seen = new Promise<{ ok: true; seq: number | null; at: number } | { ok: false; why: string }>((resolve) => {
    let opened = false
    ws = new PdsctlWebSocket(url, { debug: input.debug })
    const timer = setTimeout(() => resolve({ ok: false, why: opened ? 'no event' : 'the WebSocket did not open' }), deadlineMs)
    const done = (v: Parameters<typeof resolve>[0]) => {
      clearTimeout(timer)
      resolve(v)
    }
    ws.addEventListener('open', () => {
      opened = true
      openedResolve()
    })
    ws.addEventListener('message', (ev) => {
      try {
        const frame = readFrame(new Uint8Array(ev.data as ArrayBuffer))
        if (frame.header.op === -1) return done({ ok: false, why: `the firehose answered ${String(frame.body.error)}` })
        const seq = typeof frame.body.seq === 'number' ? frame.body.seq : null
        lastFrameAt = monotonicMs()
        if (!writeSent) {
          if (seq !== null) lastSeq = Math.max(lastSeq, seq)
          return
        }
        if (frame.header.t === '#account' && frame.body.did === did && (seq === null || seq > lastSeq)) done({ ok: true, seq, at: monotonicMs() })
      } catch (err) {
        done({ ok: false, why: `an unreadable frame (${errLine(err)})` })
      }
    })
    ws.addEventListener('error', () => done({ ok: false, why: opened ? 'the WebSocket failed' : 'the WebSocket did not open' }))
    ws.addEventListener('close', (ev) => done({ ok: false, why: `the WebSocket closed (code ${(ev as CloseEvent).code})` }))
  })
  try {
    const first = await Promise.race([opened.then(() => null), seen])
    if (first && !first.ok) {
      return { id: ID, status: 'warn', message: `did not check the firehose: ${first.why} at ${url}`, fix: 'See the websocket check' }
    }
    // A quiet moment first (300 ms without a frame; at most 3 s on a busy PDS).
    const quietBy = monotonicMs() + 3000
    while (monotonicMs() - lastFrameAt < 300 && monotonicMs() < quietBy) await new Promise((r) => setTimeout(r, 100))
    writeSent = true
    const sent = monotonicMs()
    try {
      await admin.call({
        method: 'POST',
        path: '/xrpc/com.atproto.admin.updateSubjectStatus',
        body: { subject: { $type: 'com.atproto.admin.defs#repoRef', did } },
        auth: 'admin',
        name: 'com.atproto.admin.updateSubjectStatus',
      })
    } catch (err) {
      return { id: ID, status: 'warn', message: `did not check the firehose: the test event (updateSubjectStatus for ${did}, no change) failed: ${errLine(err)}`, fix: 'Check the admin password' }
    }
    const got = await seen
    const what = `an #account event for ${did} (updateSubjectStatus with no change: the account's status restated)`
    if (!got.ok) {
      return {
        id: ID,
        status: 'fail',
        message: `${what} did not reach the firehose at the public URL within ${deadlineMs / 1000} s (${got.why}): relays would not see new posts`,
        fix: 'Check the PDS logs (sequencer errors) and whatever sits between the public URL and the PDS (a proxy buffering WebSocket frames)',
      }
    }
    const ms = Math.round(got.at - sent)
    const seq = got.seq === null ? '' : ` as seq ${got.seq}`
    return ms <= passMs
      ? { id: ID, status: 'pass', message: `${what} reached the firehose at the public URL${seq} ${ms} ms after the write` }
      : { id: ID, status: 'warn', message: `${what} reached the firehose at the public URL${seq} only ${(ms / 1000).toFixed(1)} s after the write`, fix: 'Something delays the event stream (a busy PDS, or a proxy buffering WebSocket frames)' }
  } finally {
    ws!.close()
  }
}

function errLine(err: unknown): string {
  return err instanceof PdsctlError ? err.line : err instanceof Error ? err.message : String(err)
}
