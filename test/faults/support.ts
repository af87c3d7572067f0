// The fault suite's table: every network command, the call each fault is aimed at, the
// exit code the README documents for a broken answer, and how to check afterwards on the
// real PDS that nothing was claimed that did not happen. The test files (reads, writes,
// hangs, signals) run slices of it against their own test bed, so node runs them in parallel.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import assert from 'node:assert/strict'
import { crc32 } from 'node:zlib'
import { Worker } from 'node:worker_threads'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { after, before, describe, test } from 'node:test'
import { startTestBed, xrpc, type PdsLine, type SeededAccount, type TestBed } from '../bed/pds.js'
import { startFaultServer, type FaultMode, type FaultServer } from '../bed/faults.js'
import { startRelay, type RelayStandIn } from '../bed/relay.js'
import type { Recorder } from '../helpers/recorder.js'
import { BIN, CLI_NODE, ROOT, cleanEnv, endStdin } from '../helpers/cli.js'
import { tableChooser, type TableChooser } from '../helpers/tablePart.js'

/** Modes every command meets on the call it depends on. */
export const ANSWER_MODES: FaultMode[] = [
  'refused',
  'html-502',
  'text-500',
  'json-invalid',
  'html-200',
  'truncated',
  'reset-mid-body',
  'redirect',
  'html-401',
  'retry-after-short',
  'retry-after-long',
  'oversized',
  'missing-fields',
  'null-fields',
  'tls-self-signed',
]
/** Modes where the server says nothing (or almost): the per-request deadline must end them. */
export const HANG_MODES: FaultMode[] = ['no-answer', 'slow-headers', 'slow-body']
/** Modes of paginated listings. */
export const LISTING_MODES: FaultMode[] = ['endless-cursor', 'page2-fails']

/** `--timeout` given to every hang case, in seconds: the deadline those cases wait for. */
export const TIMEOUT_S = 2
/**
 * `--timeout` given to the cases of every other mode: their faults answer at once, so no case
 * waits for it, but the requests the fault server passes through go to the test-bed PDS, which
 * shares this thread's event loop (synchronous SQLite) and was measured late by more than 2 s
 * on a busy machine: a 2 s deadline there failed health and email status [retry-after-short]
 * in a CI run at load 10-15 for want of an answer the PDS was still working on.
 */
export const ANSWER_TIMEOUT_S = 15
/**
 * A hang case whose hung request never reached the fault server did not test its deadline: a
 * request before it, passed through to the busy test-bed PDS (or not yet read by this thread's
 * event loop), was not answered within TIMEOUT_S. It runs again, up to this many times, and
 * the runs it took are reported (a pdsctl that never sends the request fails every run).
 */
export const HANG_CASE_RUNS = 3
/**
 * Hard kill: a case still running after this needed SIGKILL, which is a failure. Generous,
 * because start-up on a loaded machine takes seconds; the deadline itself is measured from
 * the request's arrival at the fault server (DEADLINE_SLACK_MS).
 */
export const KILL_AFTER_MS = { answer: 25_000, hang: 25_000 }
/** A stuck request must end within --timeout plus this, counted from its arrival at the fault server. */
export const DEADLINE_SLACK_MS = 3000

export interface World {
  bed: TestBed
  relay: Recorder
  admin: string
  /** Accounts made for the suite, by role. */
  acct: Record<string, SeededAccount>
  postUri: string
  blobCid: string
  blobOwner: SeededAccount
  inviteCode: string
  bodyFile: string
  tmp: string
  /** A fresh account, for cases that may really change something (the short 429 on a write). */
  fresh(prefix: string): Promise<SeededAccount>
}

export interface Subject {
  args: string[]
  /** True when the write happened on the PDS (or the relay). */
  changed?: () => Promise<boolean>
}

export interface CommandSpec {
  name: string
  /** The NSID whose answers the fault replaces (the call the command depends on). */
  key: string
  /** A different NSID for the field modes (e.g. health: _health may rightly be `{}`). */
  fieldsKey?: string
  write?: boolean
  /** The fault sits in front of the relay, not the PDS. */
  relay?: boolean
  /** Listing commands also meet the pagination modes. */
  listing?: boolean
  /** A procedure without output (the PDS answers 200 with no body): the field modes do not apply. */
  noOutput?: boolean
  subject(w: World, mode: FaultMode): Promise<Subject>
  /** Exit codes accepted for a broken answer in this mode (default: the table below). */
  expect?: (mode: FaultMode) => number[]
  /** stderr lines that are status, not errors (doctor's "Checking …"). */
  statusLines?: RegExp
}

/**
 * Modes in which a write may really reach the PDS (the retry after a short 429; TLS that a
 * broken client failed to verify): their cases get a subject of their own, so a write that
 * happened cannot spoil the shared subjects of the other cases.
 */
export const forwards = (m: FaultMode) => m === 'retry-after-short' || m === 'tls-self-signed'

const adminAuth = (w: World) => 'Basic ' + Buffer.from(`admin:${w.admin}`).toString('base64')
async function get(w: World, nsid: string, params: Record<string, string>): Promise<{ status: number; body: any }> {
  const res = await fetch(`${w.bed.url}/xrpc/${nsid}?${new URLSearchParams(params)}`, { headers: { authorization: adminAuth(w) } })
  return { status: res.status, body: await res.json().catch(() => null) }
}
const takendown = async (w: World, did: string) => (await get(w, 'com.atproto.admin.getSubjectStatus', { did })).body?.takedown?.applied === true
const repoActive = async (w: World, did: string) => (await get(w, 'com.atproto.sync.getRepoStatus', { did })).body?.active === true
const accountInfo = async (w: World, did: string) => (await get(w, 'com.atproto.admin.getAccountInfo', { did })).body

/** The default documented exit code of a broken answer. */
export function defaultExpect(spec: CommandSpec, mode: FaultMode): number[] {
  if (spec.name === 'health' || spec.name === 'doctor') return mode === 'retry-after-short' ? [0] : [6]
  if (mode === 'retry-after-short') return spec.write ? [0, 1] : [0]
  if (mode === 'html-401') return spec.relay ? [1, 3] : [3]
  return [1]
}

/** What `relay accounts` says on stderr besides its one error line: progress, the summary, each state's fix. */
const RELAY_ACCOUNTS_STATUS = /^(Checking every account of |http\S+: \d+ accounts?(: |$)|(behind|ahead|throttled|unknown|inactive|error) \(\d+( at most, at one relay)?\): |Warning: stopped asking |\S+ asked pdsctl to slow down \(429\)|The throttled accounts' DIDs)/

export const COMMANDS: CommandSpec[] = [
  { name: 'health', key: '_health', fieldsKey: 'com.atproto.server.describeServer', subject: async () => ({ args: ['health'] }) },
  {
    name: 'doctor',
    key: '_health',
    fieldsKey: 'com.atproto.server.describeServer',
    statusLines: /^Checking /,
    subject: async () => ({ args: ['doctor', '--no-relays'] }),
  },
  { name: 'account list', key: 'com.atproto.sync.listRepos', fieldsKey: 'com.atproto.admin.getAccountInfos', listing: true, subject: async () => ({ args: ['account', 'list'] }) },
  { name: 'account info', key: 'com.atproto.admin.getAccountInfo', subject: async (w) => ({ args: ['account', 'info', w.acct.reader.did] }) },
  {
    name: 'account info (unknown handle: the fallback scan)',
    key: 'com.atproto.sync.listRepos',
    listing: true,
    subject: async () => ({ args: ['account', 'info', 'nobody-here.test'] }),
    expect: (m) => (m === 'retry-after-short' ? [4] : m === 'html-401' ? [3] : [1]),
  },
  { name: 'email status', key: 'com.atproto.admin.getAccountInfo', subject: async (w) => ({ args: ['email', 'status', w.acct.reader.did] }) },
  { name: 'invite list', key: 'com.atproto.admin.getInviteCodes', listing: true, subject: async () => ({ args: ['invite', 'list'] }) },
  { name: 'invite tree', key: 'com.atproto.admin.getInviteCodes', listing: true, subject: async () => ({ args: ['invite', 'tree'] }) },
  { name: 'stats', key: 'com.atproto.sync.listRepos', fieldsKey: 'com.atproto.admin.getAccountInfos', listing: true, subject: async () => ({ args: ['stats'] }) },
  {
    name: 'xrpc',
    key: 'com.atproto.admin.getAccountInfo',
    subject: async (w) => ({ args: ['xrpc', 'com.atproto.admin.getAccountInfo', `did=${w.acct.reader.did}`] }),
    // The client checks the fields of every call it knows, under xrpc too: a getAccountInfo
    // answer without did is a broken answer whoever asked (exit 1, naming the field).
  },
  {
    name: 'relay status',
    key: 'com.atproto.sync.getHostStatus',
    relay: true,
    statusLines: /^Asking \d+ relays? about /,
    subject: async () => ({ args: ['relay', 'status', '--relay', 'RELAY', '--hostname', 'pds.example.com', '--no-pds'] }),
  },
  {
    // Every account against a relay whose getRepoStatus is broken: each lookup fails, the
    // relay is given up on after 10 failures in a row, and "no relay answered" is the one error.
    name: 'relay accounts',
    key: 'com.atproto.sync.getRepoStatus',
    relay: true,
    statusLines: RELAY_ACCOUNTS_STATUS,
    subject: async () => ({ args: ['relay', 'accounts', '--relay', 'RELAY'] }),
    // The short 429 is waited out, and the stand-in relay has every account in sync.
    expect: (m) => (m === 'retry-after-short' ? [0] : m === 'html-401' ? [1, 3] : [1]),
  },
  {
    // The same command with the PDS's listing broken (the relay stand-in answers).
    name: "relay accounts (the PDS's listing)",
    key: 'com.atproto.sync.listRepos',
    listing: true,
    statusLines: RELAY_ACCOUNTS_STATUS,
    subject: async (w) => ({ args: ['relay', 'accounts', '--relay', w.relay.url] }),
    expect: (m) => (m === 'retry-after-short' ? [0] : m === 'html-401' ? [3] : [1]),
  },
  {
    name: 'request-crawl',
    statusLines: /: attempt \d+ failed \(.*\); retrying in [\d.]+ s/,
    noOutput: true,
    key: 'com.atproto.sync.requestCrawl',
    relay: true,
    write: true,
    subject: async (w, m) => {
      // A hostname of its own: cases run side by side against the same relay stand-in.
      const hostname = `crawl-${m}-${Math.random().toString(36).slice(2, 8)}.example.com`
      const crawled = () => w.relay.requests.some((r) => r.url.endsWith('/com.atproto.sync.requestCrawl') && r.body.includes(`"${hostname}"`))
      // Two attempts: the retry is exercised, and a case stays short.
      return { args: ['request-crawl', 'RELAY', '--hostname', hostname, '--attempts', '2'], changed: async () => crawled() }
    },
  },
  {
    name: 'account takedown',
    key: 'com.atproto.admin.updateSubjectStatus',
    write: true,
    subject: async (w, m) => {
      const a = forwards(m) ? await w.fresh('tdn') : w.acct.takedown
      return { args: ['account', 'takedown', a.did, '--yes'], changed: () => takendown(w, a.did) }
    },
  },
  {
    name: 'account untakedown',
    key: 'com.atproto.admin.updateSubjectStatus',
    write: true,
    subject: async (w, m) => {
      let a = w.acct.untakedown
      if (forwards(m)) {
        a = await w.fresh('utd')
        await xrpc(w.bed.url, 'com.atproto.admin.updateSubjectStatus', { subject: { $type: 'com.atproto.admin.defs#repoRef', did: a.did }, takedown: { applied: true } }, w.admin)
      }
      return { args: ['account', 'untakedown', a.did, '--yes'], changed: async () => !(await takendown(w, a.did)) }
    },
  },
  {
    name: 'account deactivate',
    key: 'com.atproto.admin.updateSubjectStatus',
    write: true,
    subject: async (w, m) => {
      const a = forwards(m) ? await w.fresh('dea') : w.acct.deactivate
      return { args: ['account', 'deactivate', a.did, '--yes'], changed: async () => !(await repoActive(w, a.did)) }
    },
  },
  {
    name: 'account activate',
    key: 'com.atproto.admin.updateSubjectStatus',
    write: true,
    subject: async (w, m) => {
      let a = w.acct.activate
      if (forwards(m)) {
        a = await w.fresh('act')
        await xrpc(w.bed.url, 'com.atproto.admin.updateSubjectStatus', { subject: { $type: 'com.atproto.admin.defs#repoRef', did: a.did }, deactivated: { applied: true } }, w.admin)
      }
      return { args: ['account', 'activate', a.did, '--yes'], changed: () => repoActive(w, a.did) }
    },
  },
  {
    name: 'account delete',
    noOutput: true,
    key: 'com.atproto.admin.deleteAccount',
    write: true,
    subject: async (w, m) => {
      const a = forwards(m) ? await w.fresh('del') : w.acct.delete
      return { args: ['account', 'delete', a.did, '--yes'], changed: async () => (await get(w, 'com.atproto.admin.getAccountInfo', { did: a.did })).status !== 200 }
    },
  },
  {
    name: 'account reset-password',
    noOutput: true,
    key: 'com.atproto.admin.updateAccountPassword',
    write: true,
    subject: async (w, m) => {
      const a = forwards(m) ? await w.fresh('rpw') : w.acct.password
      return {
        args: ['account', 'reset-password', a.did, '--yes'],
        changed: async () => {
          const res = await fetch(`${w.bed.url}/xrpc/com.atproto.server.createSession`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ identifier: a.did, password: a.password }),
          })
          return res.status !== 200
        },
      }
    },
  },
  {
    name: 'account update',
    noOutput: true,
    key: 'com.atproto.admin.updateAccountEmail',
    write: true,
    subject: async (w, m) => {
      const a = forwards(m) ? await w.fresh('upd') : w.acct.update
      const email = `changed-${m}@example.com`
      return { args: ['account', 'update', a.did, '--email', email], changed: async () => (await accountInfo(w, a.did))?.email === email }
    },
  },
  {
    name: 'account create',
    key: 'com.atproto.server.createAccount',
    write: true,
    subject: async (w, m) => {
      const handle = `new${Math.random().toString(36).slice(2, 9)}.test`
      return {
        args: ['account', 'create', '--handle', handle, '--email', `${handle.split('.')[0]}@example.com`],
        changed: async () => (await fetch(`${w.bed.url}/xrpc/com.atproto.identity.resolveHandle?handle=${handle}`)).status === 200,
      }
    },
  },
  {
    name: 'account invites disable',
    noOutput: true,
    key: 'com.atproto.admin.disableAccountInvites',
    write: true,
    subject: async (w, m) => {
      const a = forwards(m) ? await w.fresh('ind') : w.acct.invitesOn
      return { args: ['account', 'invites', 'disable', a.did, '--yes'], changed: async () => (await accountInfo(w, a.did))?.invitesDisabled === true }
    },
  },
  {
    name: 'account invites enable',
    noOutput: true,
    key: 'com.atproto.admin.enableAccountInvites',
    write: true,
    subject: async (w, m) => {
      let a = w.acct.invitesOff
      if (forwards(m)) {
        a = await w.fresh('ine')
        await xrpc(w.bed.url, 'com.atproto.admin.disableAccountInvites', { account: a.did }, w.admin)
      }
      return { args: ['account', 'invites', 'enable', a.did, '--yes'], changed: async () => (await accountInfo(w, a.did))?.invitesDisabled !== true }
    },
  },
  {
    name: 'invite create',
    key: 'com.atproto.server.createInviteCodes',
    write: true,
    subject: async (w, m) => {
      const a = forwards(m) ? await w.fresh('ivc') : w.acct.inviteFor
      const count = async () => ((await get(w, 'com.atproto.admin.getInviteCodes', { limit: '500' })).body?.codes ?? []).filter((c: any) => c.forAccount === a.did).length
      const before = await count()
      return { args: ['invite', 'create', '--for', a.did], changed: async () => (await count()) > before }
    },
  },
  {
    name: 'invite disable',
    noOutput: true,
    key: 'com.atproto.admin.disableInviteCodes',
    write: true,
    subject: async (w, m) => {
      const code = forwards(m) ? (await xrpc(w.bed.url, 'com.atproto.server.createInviteCode', { useCount: 1 }, w.admin)).code : w.inviteCode
      return {
        args: ['invite', 'disable', code, '--yes'],
        changed: async () => ((await get(w, 'com.atproto.admin.getInviteCodes', { limit: '500' })).body?.codes ?? []).some((c: any) => c.code === code && c.disabled),
      }
    },
  },
  {
    name: 'email send',
    key: 'com.atproto.admin.sendEmail',
    write: true,
    subject: async (w, m) => {
      const a = forwards(m) ? await w.fresh('eml') : w.acct.mail
      const subject = `faults ${m} ${Math.random().toString(36).slice(2)}`
      return {
        args: ['email', 'send', a.did, '--subject', subject, '--body-file', w.bodyFile],
        changed: async () => w.bed.mail.messages.some((msg: { subject?: string }) => msg.subject === subject),
      }
    },
  },
  {
    name: 'record takedown',
    key: 'com.atproto.admin.updateSubjectStatus',
    write: true,
    subject: async (w, m) => {
      const uri = forwards(m) ? await makePost(w, await w.fresh('rec')) : w.postUri
      return {
        args: ['record', 'takedown', uri, '--yes'],
        changed: async () => (await get(w, 'com.atproto.admin.getSubjectStatus', { uri })).body?.takedown?.applied === true,
      }
    },
  },
  {
    name: 'blob takedown',
    key: 'com.atproto.admin.updateSubjectStatus',
    write: true,
    subject: async (w, m) => {
      const { did, cid } = forwards(m) ? await makeBlob(w, await w.fresh('blb')) : { did: w.blobOwner.did, cid: w.blobCid }
      return {
        args: ['blob', 'takedown', did, cid, '--yes'],
        changed: async () => (await get(w, 'com.atproto.admin.getSubjectStatus', { did, blob: cid })).body?.takedown?.applied === true,
      }
    },
  },
]

async function session(w: World, a: SeededAccount): Promise<Record<string, string>> {
  const s = await xrpc(w.bed.url, 'com.atproto.server.createSession', { identifier: a.did, password: a.password })
  return { authorization: `Bearer ${s.accessJwt}` }
}

async function makePost(w: World, a: SeededAccount): Promise<string> {
  const auth = await session(w, a)
  const res = await fetch(`${w.bed.url}/xrpc/com.atproto.repo.createRecord`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ repo: a.did, collection: 'app.bsky.feed.post', record: { $type: 'app.bsky.feed.post', text: 'faults', createdAt: new Date().toISOString() } }),
  })
  return ((await res.json()) as { uri: string }).uri
}

/**
 * A whole 1x1 PNG made unique by a tEXt chunk (each blob a new CID). PDS 0.4.x reads the
 * image it is given (its uploadBlob answered 500 to a PNG cut after its header); 0.5.x
 * takes either.
 */
function uniquePng(): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
    const head = Buffer.alloc(4)
    head.writeUInt32BE(data.length)
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(body))
    return Buffer.concat([head, body, crc])
  }
  const png = Buffer.from(
    '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000a49444154789c63000100000500010d0a2db40000000049454e44ae426082',
    'hex',
  )
  // After the signature (8 bytes) and IHDR (25): a text chunk, then IDAT and IEND.
  return Buffer.concat([png.subarray(0, 33), chunk('tEXt', Buffer.from(`Comment\0fault suite ${Math.random().toString(36).slice(2)}`, 'latin1')), png.subarray(33)])
}

async function makeBlob(w: World, a: SeededAccount): Promise<{ did: string; cid: string }> {
  const auth = await session(w, a)
  const png = uniquePng()
  const blob = (await fetch(`${w.bed.url}/xrpc/com.atproto.repo.uploadBlob`, { method: 'POST', headers: { ...auth, 'content-type': 'image/png' }, body: png }).then((r) => r.json())) as {
    blob: { ref: { $link: string } }
  }
  await fetch(`${w.bed.url}/xrpc/com.atproto.repo.putRecord`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ repo: a.did, collection: 'app.bsky.actor.profile', rkey: 'self', record: { $type: 'app.bsky.actor.profile', avatar: blob.blob } }),
  })
  return { did: a.did, cid: blob.blob.ref.$link }
}

/** One test bed (PDS 0.5.x unless another line is asked for) with everything the table needs. */
export async function startWorld(line: PdsLine = '0.5'): Promise<World> {
  const bed = await startTestBed({ line })
  let relay: RelayStandIn | undefined
  try {
    relay = await startRelay({ knownHosts: { 'pds.example.com': { status: 'active', accountCount: 3 } } })
    return await seedWorld(bed, relay)
  } catch (err) {
    // A set-up that failed (a seed refused on a very busy machine) fails the file: its
    // servers must not keep the test process alive after it.
    await relay?.close()
    await bed.close()
    throw err
  }
}

async function seedWorld(bed: TestBed, relay: RelayStandIn): Promise<World> {
  const roles = ['reader', 'takedown', 'untakedown', 'deactivate', 'activate', 'delete', 'password', 'update', 'invitesOn', 'invitesOff', 'inviteFor', 'mail', 'poster', 'blob']
  const seeded = await bed.seed(roles.length, 'fault')
  const acct = Object.fromEntries(roles.map((r, i) => [r, seeded[i]])) as Record<string, SeededAccount>
  const admin = bed.adminPassword
  const repoRef = (did: string) => ({ $type: 'com.atproto.admin.defs#repoRef', did })
  await xrpc(bed.url, 'com.atproto.admin.updateSubjectStatus', { subject: repoRef(acct.untakedown.did), takedown: { applied: true } }, admin)
  await xrpc(bed.url, 'com.atproto.admin.updateSubjectStatus', { subject: repoRef(acct.activate.did), deactivated: { applied: true } }, admin)
  await xrpc(bed.url, 'com.atproto.admin.disableAccountInvites', { account: acct.invitesOff.did }, admin)
  const inviteCode = (await xrpc(bed.url, 'com.atproto.server.createInviteCode', { useCount: 1 }, admin)).code as string
  const tmp = mkdtempSync(path.join(tmpdir(), 'pdsctl-faults-'))
  const bodyFile = path.join(tmp, 'body.txt')
  writeFileSync(bodyFile, 'A notice from the fault suite.\n')
  let n = 0
  const w: World = {
    bed,
    relay,
    admin,
    acct,
    postUri: '',
    blobCid: '',
    blobOwner: acct.blob,
    inviteCode,
    bodyFile,
    tmp,
    fresh: async (prefix) => bed.createAccount(`${prefix}${n++}x${Math.random().toString(36).slice(2, 6)}.test`),
  }
  w.postUri = await makePost(w, acct.poster)
  w.blobCid = (await makeBlob(w, acct.blob)).cid
  // The relay knows every account, in sync (what `relay accounts` expects when nothing is broken).
  const listed = (await (await fetch(`${bed.url}/xrpc/com.atproto.sync.listRepos?limit=1000`)).json()) as { repos: Array<{ did: string; rev: string; active: boolean; status?: string }> }
  for (const r of listed.repos) relay.repos[r.did] = r.active ? { active: true, rev: r.rev } : { active: false, status: r.status }
  return w
}

export async function stopWorld(w: World | undefined): Promise<void> {
  if (!w) return
  await w.relay.close()
  await w.bed.close()
  rmSync(w.tmp, { recursive: true, force: true })
}

export interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** Killed by the hard timer (SIGKILL): a failure whatever else happened. */
  killed: boolean
  ms: number
  /** Date.now() when it ended. */
  endedAt: number
}

/** Spawn bin/run.js with a hard SIGKILL timer; `started` lets a caller signal the child. */
export function spawnCli(args: string[], env: Record<string, string | undefined>, killAfterMs: number, started?: (child: ChildProcess) => void): Promise<Run> {
  const fullEnv = cleanEnv(env)
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn(CLI_NODE, [BIN, ...args], { cwd: ROOT, env: fullEnv, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let killed = false
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
    const timer = setTimeout(() => {
      killed = true
      child.kill('SIGKILL')
    }, killAfterMs)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      rmSync(fullEnv.HOME, { recursive: true, force: true })
      resolve({ code, signal, stdout, stderr, killed, ms: Math.round(performance.now() - t0), endedAt: Date.now() })
    })
    endStdin(child, '')
    started?.(child)
  })
}

/** Set up the fault server for one case: the fault on the command's key call, the rest passing through. */
export async function faultFor(w: World, spec: CommandSpec, mode: FaultMode): Promise<FaultServer> {
  const upstream = spec.relay ? w.relay.url : w.bed.url
  const key = (mode === 'missing-fields' || mode === 'null-fields') && spec.fieldsKey ? spec.fieldsKey : spec.key
  if (mode === 'refused' || mode === 'tls-self-signed') return startFaultServer({ upstream, mode })
  return startFaultServer({ upstream, paths: { [key]: mode } })
}

export function caseArgs(w: World, spec: CommandSpec, subject: Subject, fault: FaultServer, json: boolean, mode: FaultMode): { args: string[]; env: Record<string, string> } {
  const args = subject.args.map((a) => (a === 'RELAY' ? fault.url : a))
  const env: Record<string, string> = { PDS_URL: spec.relay ? w.bed.url : fault.url, PDS_ADMIN_PASSWORD: w.admin }
  // Whatever this variable says, pdsctl verifies TLS (README).
  if (fault.url.startsWith('https:')) env.NODE_TLS_REJECT_UNAUTHORIZED = '0'
  const timeout = HANG_MODES.includes(mode) ? TIMEOUT_S : ANSWER_TIMEOUT_S
  return { args: [...args, '--timeout', String(timeout), ...(json ? ['--json'] : [])], env }
}

const BAD_OUTPUT = [
  { re: /\bundefined\b/, what: '"undefined"' },
  { re: /\[object Object\]/, what: '"[object Object]"' },
  { re: /internal error/i, what: '"internal error"' },
  { re: /^\s+at .+[:(]\d+:\d+\)?$/m, what: 'a stack trace' },
  { re: /\bNaN\b/, what: '"NaN"' },
]

/** The assertions every failing case must pass. */
export function assertCleanFailure(spec: CommandSpec, mode: FaultMode, run: Run, json: boolean, expected: number[]): void {
  const label = `${spec.name} [${mode}]${json ? ' --json' : ''}`
  const detail = `\n--- exit ${run.code} signal ${run.signal} in ${run.ms} ms\n--- stderr:\n${run.stderr}\n--- stdout:\n${run.stdout.slice(0, 800)}`
  assert.equal(run.killed, false, `${label}: still running after its deadline, needed SIGKILL${detail}`)
  assert.ok(expected.includes(run.code ?? -1), `${label}: exit ${run.code}, documented ${expected.join(' or ')}${detail}`)
  for (const bad of BAD_OUTPUT) {
    assert.ok(!bad.re.test(run.stderr) && !bad.re.test(run.stdout), `${label}: output contains ${bad.what}${detail}`)
  }
  if (json) {
    if (run.stdout.trim() !== '') {
      assert.doesNotThrow(() => JSON.parse(run.stdout), `${label}: --json stdout is not one JSON document${detail}`)
    }
  }
  if (run.code !== 0) {
    // The documented warning when NODE_TLS_REJECT_UNAUTHORIZED is set (the TLS cases set it) is not an error line.
    const warning = /^Warning: NODE_TLS_REJECT_UNAUTHORIZED=0 is ignored/
    const lines = run.stderr.split('\n').filter((l) => l.trim() !== '' && !(spec.statusLines?.test(l) ?? false) && !(mode === 'tls-self-signed' && warning.test(l)))
    assert.equal(lines.length, 1, `${label}: wanted exactly one stderr line naming the problem${detail}`)
    assert.match(lines[0], /^Error: \S.{10,}/, `${label}: the stderr line does not name the problem${detail}`)
    if (mode === 'retry-after-long' || (mode === 'retry-after-short' && spec.write)) {
      // A check command (health, doctor) says it in its report; the others in the error line.
      const where = spec.name === 'health' || spec.name === 'doctor' ? run.stdout + run.stderr : lines[0]
      assert.match(where, /retry|try again|rate.?limit/i, `${label}: a 429 must say to retry later${detail}`)
    }
  }
}

export interface Tally {
  file: string
  run: number
  passed: number
  failed: string[]
  gapsStillFailing: string[]
  gapsNowPassing: string[]
  /** Hang cases that passed on a later run (HANG_CASE_RUNS). */
  rerun: string[]
  /** A table that may run a part of its cases (test/helpers/tablePart.ts): which cases this run takes. */
  chooser?: TableChooser
}

export function newTally(file: string, chooser?: TableChooser): Tally {
  return { file, run: 0, passed: 0, failed: [], gapsStillFailing: [], gapsNowPassing: [], rerun: [], chooser }
}

/** The summary line the lead quotes. */
export function printTally(t: Tally): void {
  const line = `fault suite (${t.file}): ${t.run} cases run, ${t.passed} passed, ${t.run - t.passed} failing (${t.gapsStillFailing.length} of them known gaps marked todo, ${t.failed.length} unexpected); ${t.gapsNowPassing.length} known gaps now pass${t.chooser?.label ?? ''}${t.rerun.length ? `; ${t.rerun.length} hang case(s) passed on a later run, their hung request not reached before (${t.rerun.join(' | ')})` : ''}`
  process.stdout.write(`# ${line}\n`)
  if (t.gapsNowPassing.length) process.stdout.write(`# now passing, remove from EXPECTED_GAPS: ${t.gapsNowPassing.join(' | ')}\n`)
}

/**
 * Register one case as a node:test test. A case listed in `gaps` is a real, failing
 * assertion waiting for a fix elsewhere: it runs as `todo` (reported, not failing the run).
 */
export function faultCase(tally: Tally, gaps: Map<string, string>, id: string, body: (note: (line: string) => void) => Promise<void>): void {
  if (tally.chooser && !tally.chooser.take()) return
  const gap = gaps.get(id)
  test(id, gap ? { todo: gap } : {}, async (t) => {
    tally.run++
    try {
      await body((line) => {
        tally.rerun.push(id)
        t.diagnostic(line)
      })
      tally.passed++
      if (gap) tally.gapsNowPassing.push(id)
    } catch (err) {
      if (gap) tally.gapsStillFailing.push(id)
      else tally.failed.push(id)
      throw err
    }
  })
}

/** The modes a command meets. */
export function modesOf(spec: CommandSpec, modes: FaultMode[]): FaultMode[] {
  return [...modes, ...(spec.listing ? LISTING_MODES : [])].filter((m) => !(spec.noOutput && (m === 'missing-fields' || m === 'null-fields')))
}

/** A hang case that did not reach its hung request (HANG_CASE_RUNS): not a verdict on pdsctl. */
class HangNotReached extends Error {}

/**
 * One command against one fault: run it, check the output, then check the PDS. A hang case
 * whose hung request never arrived runs again (HANG_CASE_RUNS); the runs it took are noted.
 */
export async function runFaultCase(w: World, spec: CommandSpec, mode: FaultMode, json: boolean, killAfterMs: number, note?: (line: string) => void): Promise<void> {
  const notReached: string[] = []
  for (;;) {
    try {
      await runFaultCaseOnce(w, spec, mode, json, killAfterMs)
      if (notReached.length) note?.(`run ${notReached.length + 1} of ${HANG_CASE_RUNS}: the hung request never reached the fault server in run(s) before (${notReached.join(' | ')})`)
      return
    } catch (err) {
      if (!(err instanceof HangNotReached) || notReached.length + 1 >= HANG_CASE_RUNS) throw err
      notReached.push(err.message.split('\n').slice(1).join(' ').trim())
    }
  }
}

async function runFaultCaseOnce(w: World, spec: CommandSpec, mode: FaultMode, json: boolean, killAfterMs: number): Promise<void> {
  const subject = await spec.subject(w, mode)
  const fault = await faultFor(w, spec, mode)
  try {
    const { args, env } = caseArgs(w, spec, subject, fault, json, mode)
    // Both ends of a hang case's wait (the hung request's arrival, the child's exit) are seen
    // by this thread, whose event loop the test-bed PDS shares: how late it ran during the case
    // is added to the limit, so a busy machine is not counted against pdsctl.
    const loopDelay = monitorEventLoopDelay({ resolution: 20 })
    loopDelay.enable()
    const run = await spawnCli(args, env, killAfterMs).finally(() => loopDelay.disable())
    const expected = spec.expect ? spec.expect(mode) : defaultExpect(spec, mode)
    assertCleanFailure(spec, mode, run, json, expected)
    const label = `${spec.name} [${mode}]${json ? ' --json' : ''}`
    if (spec.write && subject.changed) {
      const changed = await subject.changed()
      if (run.code === 0) assert.ok(changed, `${label}: exit 0, but the change is not on the ${spec.relay ? 'relay' : 'PDS'}: it claimed what did not happen\n${run.stderr}`)
      // The fault server forwards a broken write only in the short-429 mode (the retry).
      else if (mode !== 'retry-after-short') assert.equal(changed, false, `${label}: the write reached the server although the fault server never forwarded it`)
    }
    if (mode === 'redirect') assert.equal(fault.elsewhere.requests.length, 0, `${label}: the redirect was followed to another origin`)
    if (mode === 'tls-self-signed') assert.equal(fault.requests.length, 0, `${label}: a request went over a TLS connection that was not verified`)
    if (mode === 'endless-cursor') assert.ok(fault.hits(spec.key) <= 3, `${label}: followed the same cursor ${fault.hits(spec.key)} times`)
    if (HANG_MODES.includes(mode)) {
      const stuck = fault.requests.filter((r) => r.mode === mode)
      if (stuck.length === 0) throw new HangNotReached(`${label}: the hung request never reached the fault server in ${HANG_CASE_RUNS} runs\n${run.stderr}`)
      const waited = run.endedAt - stuck[stuck.length - 1].at
      const lateMs = Math.round(loopDelay.max / 1e6)
      const limit = TIMEOUT_S * 1000 + DEADLINE_SLACK_MS + lateMs
      assert.ok(waited <= limit, `${label}: ended ${waited} ms after its last request arrived (--timeout ${TIMEOUT_S}: limit ${limit} ms, ${lateMs} of them this thread's event loop running late)\n${run.stderr}`)
    }
  } finally {
    await fault.close()
  }
}

/** The 1 s the README promises between Ctrl-C or SIGTERM and pdsctl's exit. */
export const SIGNAL_EXIT_LIMIT_MS = 1000

/**
 * The child of a signal case runs under a worker thread of its own, which sends the signal
 * and sees the exit: this thread also runs the test-bed PDS (synchronous SQLite) and the
 * fault servers, and on a busy machine its event loop was measured late by up to 2.2 s
 * (p99 0.5 s), which its clock would have counted against pdsctl. The worker does nothing
 * else, so its two timestamps are the signal and the exit.
 */
const SIGNAL_TIMER = `
const { parentPort, workerData: w } = require('node:worker_threads')
const { spawn } = require('node:child_process')
const child = spawn(w.execPath, w.args, { cwd: w.cwd, env: w.env, stdio: ['pipe', 'pipe', 'pipe'] })
let stdout = '', stderr = '', signalledAt = 0, exitedAt = 0, killed = false
child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
const hard = setTimeout(() => { killed = true; child.kill('SIGKILL') }, w.killAfterMs)
parentPort.on('message', (signal) => { signalledAt = performance.now(); child.kill(signal) })
child.on('exit', () => (exitedAt = performance.now()))
child.on('close', (code, signal) => {
  clearTimeout(hard)
  parentPort.postMessage({ code, signal, stdout, stderr, killed, afterSignalMs: signalledAt ? Math.round(exitedAt - signalledAt) : -1 })
  parentPort.close()
})
// A child that ends before reading stdin: EPIPE is the case's outcome, not the worker's error.
child.stdin.on('error', () => {})
child.stdin.end('')
`

interface SignalRun {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  killed: boolean
  /** From the signal to the child's exit, as the worker saw them (-1: never signalled). */
  afterSignalMs: number
}

/** Spawn bin/run.js under the signal timer; `signal(name)` sends it, timed there. */
function spawnTimedCli(args: string[], env: Record<string, string | undefined>, killAfterMs: number): { done: Promise<SignalRun>; signal(name: NodeJS.Signals): void } {
  const fullEnv = cleanEnv(env)
  const worker = new Worker(SIGNAL_TIMER, { eval: true, workerData: { execPath: CLI_NODE, args: [BIN, ...args], cwd: ROOT, env: fullEnv, killAfterMs } })
  const done = new Promise<SignalRun>((resolve, reject) => {
    worker.once('message', (run: SignalRun) => resolve(run))
    worker.once('error', reject)
  }).finally(() => rmSync(fullEnv.HOME, { recursive: true, force: true }))
  return { done, signal: (name) => worker.postMessage(name) }
}

/**
 * A command stuck in a request (no answer) gets `signal`: it must exit with 128+n within
 * SIGNAL_EXIT_LIMIT_MS of the signal, timed from the signal to the child's exit and nothing
 * else (not its start-up, not its pipes draining, not this thread's own delays: see
 * SIGNAL_TIMER). Returns that time, in ms.
 */
export async function runSignalCase(w: World, spec: CommandSpec, signal: 'SIGTERM' | 'SIGINT'): Promise<number> {
  const subject = await spec.subject(w, 'no-answer')
  const fault = await startFaultServer({ upstream: spec.relay ? w.relay.url : w.bed.url, paths: { [spec.key]: 'no-answer' } })
  const label = `${spec.name} [${signal} while waiting]`
  try {
    const { args, env } = caseArgs(w, spec, subject, fault, false, 'no-answer')
    // A long --timeout: only the signal can end it.
    args.splice(args.indexOf('--timeout') + 1, 1, '600')
    const child = spawnTimedCli(args, env, 15_000)
    let arrived = false
    const started = Date.now()
    const poll = setInterval(() => {
      if (fault.hits(spec.key) > 0 || Date.now() - started > 10_000) {
        clearInterval(poll)
        arrived = fault.hits(spec.key) > 0
        child.signal(signal)
      }
    }, 25)
    const run = await child.done.finally(() => clearInterval(poll))
    assert.ok(arrived, `${label}: the request never reached the fault server\n${run.stderr}`)
    assert.equal(run.killed, false, `${label}: ignored ${signal}, needed SIGKILL\n${run.stderr}`)
    const code = signal === 'SIGTERM' ? 143 : 130
    assert.ok(run.code === code || run.signal === signal, `${label}: exit ${run.code} (signal ${run.signal}), wanted ${code}\n${run.stderr}`)
    assert.ok(run.afterSignalMs <= SIGNAL_EXIT_LIMIT_MS, `${label}: exited ${run.afterSignalMs} ms after the signal (limit ${SIGNAL_EXIT_LIMIT_MS})\n${run.stderr}`)
    for (const bad of BAD_OUTPUT) assert.ok(!bad.re.test(run.stderr), `${label}: output contains ${bad.what}\n${run.stderr}`)
    if (subject.changed) assert.equal(await subject.changed(), false, `${label}: the write happened`)
    return run.afterSignalMs
  } finally {
    await fault.close()
  }
}

/** Which PDS line a suite runs against, as its name and tally say it. */
export const lineLabel = (line: PdsLine) => `PDS ${line}.x`

/**
 * One fault table against one PDS line, its cases run `gate` at a time: the reads or the
 * writes (every command of that kind × every broken answer), or the hangs (every command ×
 * every way of saying nothing, listings as plain reads), each in text and --json.
 */
export function faultTable(kind: 'reads' | 'writes' | 'hangs', line: PdsLine, gate: number, gaps: Map<string, string>): void {
  const name = line === '0.5' ? kind : `${kind}, ${lineLabel(line)}`
  const table =
    kind === 'hangs'
      ? { commands: COMMANDS, modes: (spec: CommandSpec) => modesOf({ ...spec, listing: false }, HANG_MODES), killAfterMs: KILL_AFTER_MS.hang }
      : { commands: COMMANDS.filter((c) => Boolean(c.write) === (kind === 'writes')), modes: (spec: CommandSpec) => modesOf(spec, ANSWER_MODES), killAfterMs: KILL_AFTER_MS.answer }
  describe(`fault suite: ${name}`, { concurrency: gate }, () => {
    let w: World
    // The reads and writes may run a part of their cases (PDSCTL_TABLE_PART); the hangs (each command's deadline) always run whole.
    const tally = newTally(name, kind === 'hangs' ? undefined : tableChooser())
    before(async () => {
      w = await startWorld(line)
    })
    after(async () => {
      printTally(tally)
      await stopWorld(w)
    })
    for (const spec of table.commands) {
      for (const mode of table.modes(spec)) {
        for (const json of [false, true]) {
          const id = `${spec.name} [${mode}]${json ? ' --json' : ''}`
          faultCase(tally, gaps, id, (note) => runFaultCase(w, spec, mode, json, table.killAfterMs, note))
        }
      }
    }
  })
}
