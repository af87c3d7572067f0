// The hostile-data suite's families about files (paths, links, manifests): a lying PDS in
// front of the real one (test/bed/lying.ts), tampered backup folders, and a sentinel tree
// beside each case's DIR that must come out of the case exactly as it went in.
//
// Layout of one case: ROOT/dir is the DIR given to pdsctl, ROOT/outside a tree of sentinel
// files and folders. Every hostile name in these tests aims at ROOT/outside (a DID
// `did:plc:/../../../outside/victim` lands there from DIR/accounts/…); the snapshot of
// ROOT without dir (type, mode, owner, size, sha256 or link target of every entry) is
// taken before the run and compared after it.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startTestBed, type PdsLine, type SeededAccount, type TestBed } from '../bed/pds.js'
import { startLyingServer, type LyingServer } from '../bed/lying.js'
import { BIN, CLI_NODE, ROOT, cleanEnv, endStdin, runCli, type CliResult } from '../helpers/cli.js'
import { createPost, session, uploadBlob } from '../commands/backup/fixtures.js'
import { crc32, deflateSync } from 'node:zlib'

// ---------------------------------------------------------------------------------------
// The tally, printed the way test/faults prints its own

export interface Tally {
  family: string
  run: number
  passed: number
  failed: string[]
}

export function newTally(family: string): Tally {
  return { family, run: 0, passed: 0, failed: [] }
}

export function printTally(t: Tally): void {
  process.stdout.write(`# hostile suite (${t.family}): ${t.run} cases run, ${t.passed} passed, ${t.run - t.passed} failing${t.failed.length ? `: ${t.failed.join(' | ')}` : ''}\n`)
}

export function hostileCase(tally: Tally, id: string, body: () => Promise<void>): void {
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

/** A family's cases in one describe, its tally printed at the end. */
export function family(name: string, register: (tally: Tally) => void): void {
  describe(`hostile suite: ${name}`, { concurrency: 1 }, () => {
    const tally = newTally(name)
    after(() => printTally(tally))
    register(tally)
  })
}

export const lineLabel = (line: PdsLine) => `PDS ${line}.x`

// ---------------------------------------------------------------------------------------
// The world: one real PDS (a line), three accounts with posts and an image each, and a
// finished backup of them to copy into cases that start from an existing DIR.

export interface World {
  line: PdsLine
  bed: TestBed
  /** alice, bob, carol (in the PDS's order of creation). */
  accts: SeededAccount[]
  blobs: Map<string, string[]>
  /** A finished backup of every account, made by pdsctl (never handed to a case itself: copied). */
  base: string
  tmp: string
}

export async function startWorld(line: PdsLine): Promise<World> {
  const bed = await startTestBed({ line })
  const tmp = mkdtempSync(path.join(tmpdir(), 'pdsctl-hostile-world-'))
  try {
    const accts = await bed.seed(3, 'hostile')
    const blobs = new Map<string, string[]>()
    for (const a of accts) {
      const s = await session(bed.url, a)
      const blob = await uploadBlob(bed.url, s.accessJwt, validPng(2000 + blobs.size * 100))
      await createPost(bed.url, s, `a post of ${a.handle} with an image`, blob)
      await createPost(bed.url, s, `a post of ${a.handle}`)
      blobs.set(a.did, [blob.ref.$link])
    }
    const base = path.join(tmp, 'base')
    mkdirSync(base, { mode: 0o700 })
    const res = await runCli(['backup', base, '--json'], { env: { PDS_URL: bed.url, PDS_ADMIN_PASSWORD: bed.adminPassword }, timeoutMs: 120_000 })
    if (res.code !== 0) throw new Error(`the base backup failed: ${res.stderr}`)
    return { line, bed, accts, blobs, base, tmp }
  } catch (err) {
    await bed.close()
    rmSync(tmp, { recursive: true, force: true })
    throw err
  }
}

/**
 * A valid 1x1 PNG of about `size` bytes (random text in a tEXt chunk, so each is a new
 * blob). The 0.4.x PDS reads an image's size when it is uploaded and fails (500) on bytes
 * that only start like a PNG.
 */
export function validPng(size: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(data.length)
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(body))
    return Buffer.concat([len, body, crc])
  }
  const ihdr = Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]) // 1x1, 8-bit greyscale
  const pad = Buffer.from(`Comment\0${createHash('sha256').update(String(Math.random())).digest('hex').repeat(Math.ceil(size / 64))}`.slice(0, Math.max(16, size - 80)), 'latin1')
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('tEXt', pad),
    chunk('IDAT', deflateSync(Buffer.from([0, 0x80]))),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

export async function stopWorld(w: World | undefined): Promise<void> {
  if (!w) return
  await w.bed.close()
  rmSync(w.tmp, { recursive: true, force: true })
}

/** A world per line, started before the family's cases and stopped after. */
export function withWorld(line: PdsLine): () => World {
  let w: World | undefined
  before(async () => {
    w = await startWorld(line)
  })
  after(async () => stopWorld(w))
  return () => {
    if (!w) throw new Error('the world did not start')
    return w
  }
}

export const folderName = (did: string) => did.replace(/:/g, '_')

// ---------------------------------------------------------------------------------------
// One case: ROOT/dir, ROOT/outside, a lying server of its own

export interface Case {
  root: string
  dir: string
  outside: string
  lying: LyingServer
  /** Environment for pdsctl through the lying server. */
  env: Record<string, string>
  /** Compare ROOT without dir to the snapshot taken when the case began (or at `rebaseline`). */
  assertOutsideUntouched(label?: string): void
  /** The test planted something outside DIR itself: snapshot again before pdsctl runs. */
  rebaseline(): void
  /** Snapshot DIR now; assertDirUntouched compares it later. */
  markDir(): void
  assertDirUntouched(): void
  close(): Promise<void>
}

export async function newCase(w: World, opts: { copyBase?: boolean } = {}): Promise<Case> {
  const root = mkdtempSync(path.join(tmpdir(), 'pdsctl-hostile-'))
  const dir = path.join(root, 'dir')
  const outside = path.join(root, 'outside')
  if (opts.copyBase) cpSync(w.base, dir, { recursive: true, preserveTimestamps: true })
  else mkdirSync(dir, { mode: 0o700 })
  plantSentinels(outside)
  let before = snapshot(root, ['dir'])
  let dirMark: Map<string, string> | undefined
  const lying = await startLyingServer({ upstream: w.bed.url })
  return {
    root,
    dir,
    outside,
    lying,
    env: { PDS_URL: lying.url, PDS_ADMIN_PASSWORD: w.bed.adminPassword },
    assertOutsideUntouched(label = '') {
      assertSameTree(before, snapshot(root, ['dir']), `outside DIR ${label}`)
    },
    rebaseline() {
      before = snapshot(root, ['dir'])
    },
    markDir() {
      dirMark = snapshot(dir, [])
    },
    assertDirUntouched() {
      assert.ok(dirMark, 'markDir first')
      assertSameTree(dirMark, snapshot(dir, []), 'DIR')
    },
    async close() {
      await lying.close()
      rmSync(root, { recursive: true, force: true })
    },
  }
}

/** A case in a world: made, run, then closed whatever happened. */
export async function inCase(w: World, opts: { copyBase?: boolean }, body: (c: Case) => Promise<void>): Promise<void> {
  const c = await newCase(w, opts)
  try {
    await body(c)
  } finally {
    await c.close()
  }
}

/** What a hostile name would reach: a state.json, diffs to delete, a secret to upload. */
export function plantSentinels(outside: string): void {
  mkdirSync(path.join(outside, 'victim', 'diffs'), { recursive: true, mode: 0o755 })
  mkdirSync(path.join(outside, 'victim', 'blobs'), { recursive: true, mode: 0o755 })
  mkdirSync(path.join(outside, 'empty'), { mode: 0o755 })
  writeFileSync(path.join(outside, 'victim', 'state.json'), '{"sentinel": "state"}\n', { mode: 0o644 })
  writeFileSync(path.join(outside, 'victim', 'diffs', '3kaaaaaaaaa22.car'), 'sentinel diff a\n', { mode: 0o644 })
  writeFileSync(path.join(outside, 'victim', 'diffs', 'b.car'), 'sentinel diff b\n', { mode: 0o644 })
  writeFileSync(path.join(outside, 'victim', 'blobs', 'x'), 'sentinel blob\n', { mode: 0o644 })
  writeFileSync(path.join(outside, 'secret'), 'sentinel secret: never uploaded\n', { mode: 0o600 })
  writeFileSync(path.join(outside, 'passwd'), 'root:x:0:0:sentinel:/root:/bin/sh\n', { mode: 0o644 })
}

/** Every entry under `root` but `skip` (top-level names): type, mode, owner, size, content or link target. */
export function snapshot(root: string, skip: string[]): Map<string, string> {
  const out = new Map<string, string>()
  const walk = (rel: string) => {
    const abs = path.join(root, rel)
    const st = lstatSync(abs)
    const head = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`
    if (st.isSymbolicLink()) out.set(rel, `link ${head} -> ${readlinkSync(abs)}`)
    else if (st.isFile()) out.set(rel, `file ${head} ${st.size} ${createHash('sha256').update(readFileSync(abs)).digest('hex')}`)
    else if (st.isDirectory()) {
      out.set(rel, `dir ${head}`)
      for (const name of readdirSync(abs).sort()) if (!(rel === '' && skip.includes(name))) walk(path.join(rel, name))
    } else out.set(rel, `other ${head}`)
  }
  walk('')
  return out
}

export function assertSameTree(before: Map<string, string>, after: Map<string, string>, what: string): void {
  const diffs: string[] = []
  for (const [k, v] of before) {
    if (!after.has(k)) diffs.push(`deleted ${k}`)
    else if (after.get(k) !== v) diffs.push(`changed ${k}: ${v} => ${after.get(k)}`)
  }
  for (const k of after.keys()) if (!before.has(k)) diffs.push(`created ${k}`)
  assert.deepEqual(diffs, [], `${what}: created, changed or deleted`)
}

// ---------------------------------------------------------------------------------------
// Running pdsctl (optionally under a umask)

export function pdsctl(args: string[], opts: { env?: Record<string, string | undefined>; stdin?: string; umask?: number; timeoutMs?: number } = {}): Promise<CliResult> {
  if (opts.umask === undefined) return runCli(args, { env: opts.env, stdin: opts.stdin, timeoutMs: opts.timeoutMs ?? 120_000 })
  const env = cleanEnv(opts.env)
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', `umask ${opts.umask!.toString(8).padStart(3, '0')} && exec "$0" "$@"`, CLI_NODE, '--', BIN, ...args], {
      cwd: ROOT,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      rmSync(env.HOME, { recursive: true, force: true })
      resolve({ code, signal, stdout, stderr })
    })
    endStdin(child, opts.stdin ?? '')
  })
}

export const show = (r: CliResult) => `\n--- exit ${r.code}\n--- stderr:\n${r.stderr}\n--- stdout:\n${r.stdout.slice(0, 1500)}`

// ---------------------------------------------------------------------------------------
// Lies: a hostile DID told with a real account's data, a forged CAR

/**
 * `hostile` is listed by listRepos (beside the real accounts) and answered for with the
 * data of `real`: getAccountInfo says it is `hostile`, getRepo sends real's CAR with its
 * commit rewritten to name `hostile` (as a lying PDS would), listBlobs and getBlob real's.
 */
export function aliasAccount(c: Case, hostile: string, real: SeededAccount, opts: { listedRev?: string } = {}): void {
  const swap = (q: URLSearchParams) => {
    const n = new URLSearchParams(q)
    n.set('did', real.did)
    return n
  }
  const isHostile = (q: URLSearchParams) => q.get('did') === hostile
  c.lying.lie('com.atproto.sync.listRepos', (realAnswer, req) => {
    if (req.query.get('cursor')) return undefined
    const body = realAnswer.json as { repos: Array<{ did: string; rev: string; head: string; active: boolean }> }
    const twin = body.repos.find((r) => r.did === real.did)
    return { json: { ...body, repos: [{ ...twin, did: hostile, rev: opts.listedRev ?? twin?.rev }, ...body.repos] } }
  })
  c.lying.answer('com.atproto.admin.getAccountInfo', async (req) => {
    if (!isHostile(req.query)) return toLie(await c.lying.forward(req))
    const got = await c.lying.forward(req, swap(req.query))
    return { status: got.status, json: { ...(got.json as object), did: hostile } }
  })
  c.lying.answer('com.atproto.sync.getRepo', async (req) => {
    if (!isHostile(req.query)) return toLie(await c.lying.forward(req))
    const got = await c.lying.forward(req, swap(req.query))
    return { status: got.status, headers: { 'content-type': 'application/vnd.ipld.car' }, body: await forgeCar(got.body, { did: hostile }) }
  })
  for (const nsid of ['com.atproto.sync.listBlobs', 'com.atproto.sync.getBlob', 'com.atproto.sync.getRepoStatus']) {
    c.lying.answer(nsid, async (req) => toLie(await c.lying.forward(req, isHostile(req.query) ? swap(req.query) : undefined)))
  }
}

/** A real answer passed on as it came. */
export function toLie(a: { status: number; headers: Record<string, string>; body: Buffer }): { status: number; headers: Record<string, string>; body: Buffer } {
  return { status: a.status, headers: a.headers, body: a.body }
}

/**
 * The CAR with its root commit rewritten (did, rev) and signed by a key of nobody's: the
 * blocks are well-formed, so only a check of what they say (or of the signature) finds it.
 */
export async function forgeCar(car: Uint8Array, change: { did?: string; rev?: string }): Promise<Buffer> {
  const { readCarWithRoot, parseObjByDef, def, signCommit, blocksToCarFile } = await import('@atproto/repo')
  const { Secp256k1Keypair } = await import('@atproto/crypto')
  const { root, blocks } = await readCarWithRoot(car)
  const { obj } = parseObjByDef(blocks.get(root)!, root, def.commit)
  const key = await Secp256k1Keypair.create()
  const commit = await signCommit({ did: change.did ?? obj.did, version: 3, data: obj.data, rev: change.rev ?? obj.rev, prev: null }, key)
  const cid = await blocks.add(commit as never)
  return Buffer.from(await blocksToCarFile(cid, blocks))
}

/** Read, change and write back a backup's manifest.json (and keep nothing else in step). */
export function editManifest(dir: string, edit: (m: any) => void): void {
  const file = path.join(dir, 'manifest.json')
  const m = JSON.parse(readFileSync(file, 'utf8'))
  edit(m)
  writeFileSync(file, JSON.stringify(m, null, 1))
}

export function readManifest(dir: string): any {
  return JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'))
}

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

/** The requests the lying server saw for an NSID. */
export const hits = (c: Case, nsid: string) => c.lying.requests.filter((r) => r.nsid === nsid).length

/** The head (rev) of an account's repository on the PDS, to see that a refused restore changed nothing. */
export async function latestRev(w: World, did: string): Promise<string> {
  const res = await fetch(`${w.bed.url}/xrpc/com.atproto.sync.getLatestCommit?did=${did}`)
  const body = (await res.json()) as { rev: string; cid: string }
  return `${body.rev} ${body.cid}`
}
