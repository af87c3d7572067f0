// `pdsctl relay fix-desync` against a real bed PDS on both lines: it refuses while the PDS
// runs (its database locked; its health endpoint answering), and once the PDS is stopped it
// copies sequencer.sqlite aside and raises the sequence; the PDS started again on the same
// data directory numbers its next event above the relay's seq. The checks on DIR (links,
// owners, modes) on scratch folders; on Kubernetes, the printed steps with the fake
// cluster's names, and the one-off pod's script run for real against the bed's data.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { startTestBed, xrpc, type PdsLine, type SeededAccount, type TestBed } from '../../bed/pds.js'
import { startFakeKube } from '../../bed/fakeKube.js'
import { ROOT, runCli } from '../../helpers/cli.js'
import { reapKubectls } from '../../helpers/processes.js'
import { probeLatestSeq } from '../../../src/lib/federation/firehoseSeq.js'
import type { DesyncFixReport } from '../../../src/lib/selfhost/sequencerFix.js'
import type { KubeDesyncPlan } from '../../../src/lib/k8s/desyncSteps.js'

async function post(bed: TestBed, a: SeededAccount, text: string): Promise<void> {
  const session = await xrpc(bed.url, 'com.atproto.server.createSession', { identifier: a.did, password: a.password })
  const res = await fetch(`${bed.url}/xrpc/com.atproto.repo.createRecord`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${session.accessJwt}` },
    body: JSON.stringify({ repo: a.did, collection: 'app.bsky.feed.post', record: { $type: 'app.bsky.feed.post', text, createdAt: new Date().toISOString() } }),
  })
  assert.equal(res.status, 200, await res.text())
}

/** The PDS's latest seq, found from outside as a relay would (its firehose). */
async function latestSeq(bed: TestBed, from = 0): Promise<number> {
  const p = await probeLatestSeq(bed.url, { from })
  assert.notEqual(p.seq, null, p.error ?? '')
  return p.seq!
}

const backups = (dir: string) => readdirSync(dir).filter((f) => /^sequencer\.sqlite\.before-fix-desync-\d{8}T\d{6}Z(-\d+)?$/.test(f)).sort()

for (const line of ['0.5', '0.4'] as PdsLine[]) {
  describe(`pdsctl relay fix-desync (PDS ${line}.x)`, () => {
    let bed: TestBed
    let alice: SeededAccount
    let curr: number
    before(async () => {
      bed = await startTestBed({ line })
      ;[alice] = await bed.seed(2, 'fix')
      await post(bed, alice, 'before the reset')
      curr = await latestSeq(bed)
      assert.ok(curr > 3, String(curr))
    })
    after(async () => {
      await bed.close()
    })

    test('refuses while the PDS runs: its database is locked, or its health endpoint answers; nothing is changed or copied', async () => {
      const locked = await runCli(['relay', 'fix-desync', '--data-dir', bed.dataDirectory, '--to-seq', String(curr + 1000), '--yes'])
      assert.equal(locked.code, 1, locked.stderr)
      assert.match(locked.stderr, /^Error: .*sequencer\.sqlite is in use \(the database is locked\): the PDS is still running\. Stop it first \(docker compose stop pds, or systemctl stop pds\), then run this again$/m)
      assert.deepEqual(backups(bed.dataDirectory), [])
      // A data directory nobody has open, but the PDS answers at --url: refused before the database is touched.
      const dir = mkdtempSync(path.join(tmpdir(), 'fix-desync-'))
      const db = new DatabaseSync(path.join(dir, 'sequencer.sqlite'))
      db.exec('CREATE TABLE repo_seq (seq integer primary key autoincrement, did varchar not null)')
      db.close()
      const serving = await runCli(['relay', 'fix-desync', '--data-dir', dir, '--to-seq', '10', '--url', bed.url, '--yes'])
      assert.equal(serving.code, 1, serving.stderr)
      assert.match(serving.stderr, new RegExp(`^Error: the PDS is running: it answers /xrpc/_health at ${bed.url} \\(.*\\)\\. Stop it first`, 'm'))
      assert.deepEqual(readdirSync(dir), ['sequencer.sqlite'])
      assert.equal(await latestSeq(bed, curr), curr, 'the running PDS still numbers from where it was')
    })

    test('stopped: copied aside (0600), raised above N, read back; started on the same data directory, its next event is above N', async () => {
      await bed.stopPds()
      const n = curr + 1000
      const res = await runCli(['relay', 'fix-desync', '--data-dir', bed.dataDirectory, '--to-seq', String(n), '--url', bed.url, '--yes', '--json'])
      assert.equal(res.code, 0, res.stderr)
      const report = JSON.parse(res.stdout) as DesyncFixReport & { next: string[] }
      assert.deepEqual({ ...report, backup: undefined, next: undefined }, {
        dataDir: bed.dataDirectory,
        database: path.join(bed.dataDirectory, 'sequencer.sqlite'),
        toSeq: n,
        before: curr,
        after: n + 1,
        nextSeq: n + 2,
        changed: true,
        backup: undefined,
        next: undefined,
      })
      assert.deepEqual(backups(bed.dataDirectory), [path.basename(report.backup!)])
      const st = lstatSync(report.backup!)
      assert.equal(st.mode & 0o777, 0o600)
      assert.equal(readFileSync(report.backup!).subarray(0, 16).toString('latin1'), 'SQLite format 3\0')
      assert.match(report.next.join('\n'), /start the PDS[\s\S]*request-crawl[\s\S]*relay status/)
      // Again with the same N: already above, nothing changed, no second copy.
      const again = await runCli(['relay', 'fix-desync', '--data-dir', bed.dataDirectory, '--to-seq', String(n), '--yes', '--json'])
      assert.equal(again.code, 0, again.stderr)
      assert.deepEqual(JSON.parse(again.stdout).changed, false)
      assert.equal(backups(bed.dataDirectory).length, 1)

      await bed.startPds()
      // Until a new event, the PDS's latest is still the old one: the relay's cursor is ahead.
      assert.equal(await latestSeq(bed, curr), curr)
      await post(bed, alice, 'after the fix')
      assert.equal(await latestSeq(bed, n), n + 2, 'the next event is numbered above the relay\'s seq')
      curr = n + 2
    })

    if (line === '0.5') {
      test("the Kubernetes steps name the cluster's Deployment, image and PVC; the one-off pod's script does the fix for real", async () => {
        const kube = await startFakeKube({ backendPort: bed.port, dataMountPath: '/pds', containerEnv: [{ name: 'PDS_DATA_DIRECTORY', value: '/pds' }], image: 'ghcr.io/bluesky-social/pds:0.4.5026' })
        try {
          const n = curr + 500
          const res = await runCli(['relay', 'fix-desync', '--to-seq', String(n), '--kube-namespace', 'bluesky', '--kube-service', 'bluesky', '--hostname', 'pds.example.com', '--json'], { env: kube.env })
          assert.equal(res.code, 0, res.stderr)
          const plan = JSON.parse(res.stdout) as KubeDesyncPlan
          assert.deepEqual({ ...plan, steps: undefined }, { namespace: 'bluesky', deployment: 'bluesky', replicas: 1, image: 'ghcr.io/bluesky-social/pds:0.4.5026', claim: 'bluesky-data', mountPath: '/pds', dataDir: '/pds', toSeq: n, steps: undefined })
          const cmds = plan.steps.map((s) => s.command)
          assert.equal(cmds[0], 'kubectl --namespace bluesky scale deployment/bluesky --replicas=0')
          assert.equal(cmds[1], 'kubectl --namespace bluesky wait --for=delete pod --selector app=bluesky --timeout=180s')
          assert.match(cmds[2], /^kubectl --namespace bluesky run bluesky-fix-desync --rm --stdin --restart=Never --image=ghcr\.io\/bluesky-social\/pds:0\.4\.5026 --override-type=strategic --overrides='\{.*\}'$/)
          assert.equal(cmds[3], 'kubectl --namespace bluesky scale deployment/bluesky --replicas=1')
          assert.equal(cmds[4], 'kubectl --namespace bluesky rollout status deployment/bluesky --timeout=300s')
          assert.match(cmds[6], /request-crawl --hostname pds\.example\.com && pdsctl relay status --hostname pds\.example\.com --kube-namespace bluesky --kube-service bluesky$/)
          // pdsctl changed nothing in the cluster: it only read.
          assert.deepEqual([...new Set(kube.requests.filter((r) => !r.path.startsWith('/version')).map((r) => r.method))], ['GET'])
          // The pod: the PDS's image, the claim mounted where the PDS mounts it, the fix as its command.
          const overrides = JSON.parse(/--overrides='(.*)'$/.exec(cmds[2])![1]) as { apiVersion: string; spec: any }
          assert.equal(overrides.apiVersion, 'v1')
          assert.deepEqual(overrides.spec.volumes, [{ name: 'data', persistentVolumeClaim: { claimName: 'bluesky-data' } }])
          const c = overrides.spec.containers[0]
          assert.deepEqual([c.name, c.image, c.volumeMounts], ['bluesky-fix-desync', 'ghcr.io/bluesky-social/pds:0.4.5026', [{ name: 'data', mountPath: '/pds' }]])
          assert.deepEqual(c.env, [{ name: 'DATA_DIR', value: '/pds' }, { name: 'TO_SEQ', value: String(n) }])
          assert.deepEqual(c.command.slice(0, 2), ['node', '-e'])
          // Run that script as the pod would (node, the PDS's own better-sqlite3), on the bed's data:
          // refused while the PDS runs, then the fix once it is stopped.
          const runScript = () => spawnSync(process.execPath, ['-e', c.command[2]], { cwd: ROOT, env: { PATH: process.env.PATH, DATA_DIR: bed.dataDirectory, TO_SEQ: String(n) }, encoding: 'utf8' })
          const busy = runScript()
          assert.equal(busy.status, 1, busy.stdout + busy.stderr)
          assert.match(busy.stderr, /sequencer\.sqlite is in use \(database is locked\): is the PDS still running\?/)
          await bed.stopPds()
          const before = backups(bed.dataDirectory)
          const fixed = runScript()
          assert.equal(fixed.status, 0, fixed.stderr)
          assert.match(fixed.stdout, new RegExp(`the sequence was ${curr}, now ${n + 1}: the next event will be ${n + 2}`))
          const made = backups(bed.dataDirectory).filter((f) => !before.includes(f))
          assert.equal(made.length, 1)
          assert.equal(lstatSync(path.join(bed.dataDirectory, made[0])).mode & 0o777, 0o600)
          await bed.startPds()
          await post(bed, alice, 'after the pod fix')
          assert.equal(await latestSeq(bed, n), n + 2)
          // The text form: the same steps, numbered, as comments and lines to paste.
          const text = await runCli(['relay', 'fix-desync', '--to-seq', String(n), '--kube-namespace', 'bluesky', '--kube-service', 'bluesky'], { env: kube.env })
          assert.equal(text.code, 0, text.stderr)
          assert.match(text.stdout, /^# 1\. Stop the PDS: scale Deployment bluesky to 0\nkubectl --namespace bluesky scale deployment\/bluesky --replicas=0\n# 2\. /)
          assert.match(text.stderr, /pdsctl ran none of these/)
        } finally {
          assert.deepEqual(await reapKubectls(kube.cacheDir), [])
          await kube.close()
        }
      })
    }
  })
}

describe('pdsctl relay fix-desync: the data directory is checked like a vault', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'fix-desync-vault-'))
  const pdsDir = (name: string) => {
    const dir = path.join(root, name)
    mkdirSync(dir, { mode: 0o700 })
    const db = new DatabaseSync(path.join(dir, 'sequencer.sqlite'))
    db.exec('CREATE TABLE repo_seq (seq integer primary key autoincrement, did varchar not null)')
    db.exec("INSERT INTO repo_seq (did) VALUES ('did:plc:aaaaaaaaaaaaaaaaaaaaaaaa')")
    db.close()
    chmodSync(path.join(dir, 'sequencer.sqlite'), 0o644)
    return dir
  }
  const fix = (dir: string, ...more: string[]) => runCli(['relay', 'fix-desync', '--data-dir', dir, '--to-seq', '50', '--yes', ...more])
  const untouched = (dir: string) => assert.deepEqual(backups(dir), [], `nothing copied in ${dir}`)

  test('a link as DIR or as sequencer.sqlite is refused, naming the real path', async () => {
    const real = pdsDir('real')
    const link = path.join(root, 'link')
    symlinkSync(real, link)
    const viaLink = await fix(link)
    assert.equal(viaLink.code, 2, viaLink.stderr)
    assert.match(viaLink.stderr, new RegExp(`^Error: --data-dir ${link} is a symbolic link; pdsctl does not follow links here\\. Give the directory itself: --data-dir ${real}$`, 'm'))
    const linked = path.join(root, 'linked-db')
    mkdirSync(linked, { mode: 0o700 })
    symlinkSync(path.join(real, 'sequencer.sqlite'), path.join(linked, 'sequencer.sqlite'))
    const dbLink = await fix(linked)
    assert.equal(dbLink.code, 2)
    assert.match(dbLink.stderr, /sequencer\.sqlite is a symbolic link; pdsctl does not follow links here/)
    untouched(real)
  })

  test('a directory or file others may write, or another user owns, is refused with the fix', async () => {
    const open = pdsDir('open')
    chmodSync(open, 0o777)
    const res = await fix(open)
    assert.equal(res.code, 2)
    assert.match(res.stderr, new RegExp(`^Error: ${open} \\(the data directory\\) is writable by group or others\\. chmod go-w ${open}$`, 'm'))
    const writable = pdsDir('writable-db')
    chmodSync(path.join(writable, 'sequencer.sqlite'), 0o666)
    assert.match((await fix(writable)).stderr, /\(the sequencer database\) is writable by group or others/)
    if (process.getuid?.() === 0) {
      const theirs = pdsDir('theirs')
      chownSync(path.join(theirs, 'sequencer.sqlite'), 65534, 65534)
      const other = await fix(theirs)
      assert.equal(other.code, 2)
      assert.match(other.stderr, /\(the sequencer database\) belongs to user 65534, not to you \(0\)\. Run pdsctl as the user that owns the PDS's files/)
      untouched(theirs)
    }
    untouched(open)
    untouched(writable)
  })

  test('no sequencer.sqlite is exit 4; a database that is not a sequencer is exit 1; --yes is required when not interactive', async () => {
    const empty = path.join(root, 'empty')
    mkdirSync(empty, { mode: 0o700 })
    const none = await fix(empty)
    assert.equal(none.code, 4)
    assert.match(none.stderr, /^Error: no sequencer\.sqlite in .*empty\. Is this the PDS's data directory \(PDS_DATA_DIRECTORY\)\?/m)
    const other = path.join(root, 'other')
    mkdirSync(other, { mode: 0o700 })
    const db = new DatabaseSync(path.join(other, 'sequencer.sqlite'))
    db.exec('CREATE TABLE t (x)')
    db.close()
    chmodSync(path.join(other, 'sequencer.sqlite'), 0o600)
    const notSeq = await fix(other)
    assert.equal(notSeq.code, 1)
    assert.match(notSeq.stderr, /has no repo_seq table: it is not a PDS sequencer database/)
    untouched(other)
    const dir = pdsDir('ask')
    const noYes = await runCli(['relay', 'fix-desync', '--data-dir', dir, '--to-seq', '50'])
    assert.equal(noYes.code, 2)
    assert.match(noYes.stderr, /--yes is required when not running interactively/)
    untouched(dir)
    const missing = await runCli(['relay', 'fix-desync', '--data-dir', dir])
    assert.equal(missing.code, 2)
    const noDir = await runCli(['relay', 'fix-desync', '--to-seq', '5'])
    assert.equal(noDir.code, 2)
    assert.match(noDir.stderr, /--data-dir is required/)
  })

  test('each run copies to a new file, never over an earlier copy; a counter row is created when the table never had one', async () => {
    const dir = path.join(root, 'fresh')
    mkdirSync(dir, { mode: 0o700 })
    const db = new DatabaseSync(path.join(dir, 'sequencer.sqlite'))
    db.exec('CREATE TABLE repo_seq (seq integer primary key autoincrement, did varchar not null)') // no row yet: no counter row
    db.close()
    chmodSync(path.join(dir, 'sequencer.sqlite'), 0o600)
    const first = JSON.parse((await fix(dir, '--json')).stdout) as DesyncFixReport
    assert.deepEqual([first.before, first.after, first.nextSeq, first.changed], [0, 51, 52, true])
    const second = await runCli(['relay', 'fix-desync', '--data-dir', dir, '--to-seq', '80', '--yes', '--json'])
    const report = JSON.parse(second.stdout) as DesyncFixReport
    assert.equal(report.before, 51)
    assert.notEqual(report.backup, first.backup)
    assert.ok(existsSync(first.backup!) && existsSync(report.backup!))
    assert.equal(backups(dir).length, 2)
    const check = new DatabaseSync(path.join(dir, 'sequencer.sqlite'), { readOnly: true })
    assert.deepEqual({ ...check.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'repo_seq'").get() }, { seq: 81 })
    check.close()
    // The text form says what it did and what to run next.
    const text = await runCli(['relay', 'fix-desync', '--data-dir', dir, '--to-seq', '200', '--yes'])
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /^database\t.*sequencer\.sqlite\nchanged\ttrue\nbackup\t.*before-fix-desync-.*\nsequence before\t81\nsequence now\t201\nnext event\t202\n$/)
    assert.match(text.stderr, /^Raised the sequence from 81 to 201: the PDS's next event will be 202, above the relay's 200\. The database as it was is in /m)
    assert.match(text.stderr, /^Next: 1\. start the PDS .*; 2\. make one event .*; 3\. `pdsctl request-crawl`; 4\. `pdsctl relay status` to confirm/m)
  })
})
