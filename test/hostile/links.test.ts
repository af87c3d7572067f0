// Hostile data, family "links": symbolic links inside a backup folder (an account's
// folder, its diffs and blobs, state.json, repo.car, manifest.json, DIR/accounts), a DIR
// that another user owns or may write, runs under umask 000, and links planted where
// pdsctl writes its other files (contexts, k8s manifests, secrets, the compile cache).
// Every case: nothing outside DIR created, changed or deleted; the link or folder named in
// the error; the documented exit code (2 for the folder as a whole, before any request; 5
// when one account's folder holds a link and the others are backed up; 6 from verify).
import assert from 'node:assert/strict'
import { chmodSync, chownSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { PdsLine } from '../bed/pds.js'
import type { BackupSummary } from '../../src/lib/backup/backup.js'
import type { VerifyReport } from '../../src/lib/backup/verify.js'
import {
  assertSameTree,
  family,
  folderName,
  hits,
  hostileCase,
  inCase,
  lineLabel,
  pdsctl,
  plantSentinels,
  readManifest,
  show,
  snapshot,
  withWorld,
  type Case,
  type World,
} from './backupSupport.js'

const NOBODY = 65534

/** One account's folder holds a link: that account fails naming it (exit 5), the others are backed up. */
function assertAccountRefused(w: World, c: Case, res: Awaited<ReturnType<typeof pdsctl>>, link: string): void {
  c.assertOutsideUntouched()
  assert.equal(res.code, 5, show(res))
  const s = JSON.parse(res.stdout) as BackupSummary
  assert.equal(s.accounts, 2, JSON.stringify(s))
  assert.equal(s.errors.length, 1, JSON.stringify(s.errors))
  assert.equal(s.errors[0].account, w.accts[0].did)
  const rel = path.relative(c.dir, link)
  assert.match(s.errors[0].error, /symbolic link/, s.errors[0].error)
  assert.ok(s.errors[0].error.includes(rel), `the error names ${rel}: ${s.errors[0].error}`)
  assert.ok(res.stderr.includes(rel), show(res))
  assert.ok(lstatSync(link).isSymbolicLink(), 'the link is left for the owner to look at')
}

/** The folder as a whole is refused before any request: exit 2, DIR untouched, the fix named. */
function assertFolderRefused(c: Case, res: Awaited<ReturnType<typeof pdsctl>>, names: string, fix: RegExp): void {
  c.assertOutsideUntouched()
  c.assertDirUntouched()
  assert.equal(res.code, 2, show(res))
  assert.ok(res.stderr.includes(names), `stderr names ${names}${show(res)}`)
  assert.match(res.stderr, fix, show(res))
  assert.equal(c.lying.requests.filter((r) => r.nsid !== '_health').length, 0, 'no request to the PDS')
}

const aliceDir = (w: World, c: Case) => path.join(c.dir, 'accounts', folderName(w.accts[0].did))

/** Replace `target` (a file or folder inside DIR) with a symbolic link to `to`. */
function linkOver(target: string, to: string): void {
  rmSync(target, { recursive: true, force: true })
  symlinkSync(to, target)
}

/** Every folder 0700 and every file 0600 under `dir`, whatever the umask was. */
function assertVault(dir: string): void {
  const loose: string[] = []
  for (const [rel, entry] of snapshot(dir, [])) {
    const [type, mode] = entry.split(' ')
    if (rel === '') continue
    if (type === 'dir' && mode !== '700') loose.push(`${rel} ${mode}`)
    if (type === 'file' && mode !== '600') loose.push(`${rel} ${mode}`)
    if (type === 'link') loose.push(`${rel} is a link`)
  }
  assert.deepEqual(loose, [])
}

for (const line of ['0.5', '0.4'] as PdsLine[]) {
  family(`links, ${lineLabel(line)}`, (tally) => {
    const world = withWorld(line)

    hostileCase(tally, 'an account\'s diffs folder is a link to another folder', () =>
      inCase(world(), { copyBase: true }, async (c) => {
        const w = world()
        const link = path.join(aliceDir(w, c), 'diffs')
        linkOver(link, path.join(c.outside, 'victim', 'diffs'))
        const res = await pdsctl(['backup', c.dir, '--json'], { env: c.env })
        assertAccountRefused(w, c, res, link)
      }),
    )

    hostileCase(tally, 'an account\'s blobs folder is a link to another folder', () =>
      inCase(world(), { copyBase: true }, async (c) => {
        const w = world()
        const link = path.join(aliceDir(w, c), 'blobs')
        linkOver(link, path.join(c.outside, 'empty'))
        const res = await pdsctl(['backup', c.dir, '--json'], { env: c.env })
        assertAccountRefused(w, c, res, link)
      }),
    )

    hostileCase(tally, 'an account\'s folder is a link to another folder', () =>
      inCase(world(), { copyBase: true }, async (c) => {
        const w = world()
        const link = aliceDir(w, c)
        linkOver(link, path.join(c.outside, 'victim'))
        const res = await pdsctl(['backup', c.dir, '--json'], { env: c.env })
        assertAccountRefused(w, c, res, link)
      }),
    )

    hostileCase(tally, 'state.json is a link to a file outside', () =>
      inCase(world(), { copyBase: true }, async (c) => {
        const w = world()
        const link = path.join(aliceDir(w, c), 'state.json')
        linkOver(link, path.join(c.outside, 'victim', 'state.json'))
        const res = await pdsctl(['backup', c.dir, '--json'], { env: c.env })
        assertAccountRefused(w, c, res, link)
      }),
    )

    hostileCase(tally, 'repo.car is a link to a file outside', () =>
      inCase(world(), { copyBase: true }, async (c) => {
        const w = world()
        const link = path.join(aliceDir(w, c), 'repo.car')
        linkOver(link, path.join(c.outside, 'passwd'))
        const res = await pdsctl(['backup', c.dir, '--json'], { env: c.env })
        assertAccountRefused(w, c, res, link)
      }),
    )

    hostileCase(tally, 'manifest.json is a link to a file outside', () =>
      inCase(world(), { copyBase: true }, async (c) => {
        linkOver(path.join(c.dir, 'manifest.json'), path.join(c.outside, 'passwd'))
        c.markDir()
        const res = await pdsctl(['backup', c.dir, '--json'], { env: c.env })
        assertFolderRefused(c, res, path.join(c.dir, 'manifest.json'), /symbolic link/)
      }),
    )

    hostileCase(tally, 'DIR/accounts is a link to another folder', () =>
      inCase(world(), {}, async (c) => {
        symlinkSync(path.join(c.outside, 'victim'), path.join(c.dir, 'accounts'))
        c.markDir()
        const res = await pdsctl(['backup', c.dir, '--json'], { env: c.env })
        assertFolderRefused(c, res, path.join(c.dir, 'accounts'), /symbolic link/)
      }),
    )

    hostileCase(tally, 'DIR belongs to another user (nobody)', () =>
      inCase(world(), { copyBase: true }, async (c) => {
        chownSync(c.dir, NOBODY, NOBODY)
        c.markDir()
        const res = await pdsctl(['backup', c.dir, '--json'], { env: c.env })
        assertFolderRefused(c, res, c.dir, /belongs to (user )?65534.*chown/)
      }),
    )

    for (const mode of [0o777, 0o770]) {
      hostileCase(tally, `DIR is writable by others (mode ${mode.toString(8)})`, () =>
        inCase(world(), { copyBase: true }, async (c) => {
          chmodSync(c.dir, mode)
          c.markDir()
          const res = await pdsctl(['backup', c.dir, '--json'], { env: c.env })
          assertFolderRefused(c, res, c.dir, /writable by (its group|others).*chmod/)
        }),
      )
    }

    hostileCase(tally, 'the folder above DIR is writable by anyone (no sticky bit)', () =>
      inCase(world(), {}, async (c) => {
        chmodSync(c.root, 0o777)
        c.markDir()
        const res = await pdsctl(['backup', c.dir, '--json'], { env: c.env })
        chmodSync(c.root, 0o700)
        assertFolderRefused(c, res, c.root, /chmod/)
      }),
    )

    hostileCase(tally, 'umask 000: the backup is still a vault (folders 0700, files 0600), and a loose folder is tightened', () =>
      inCase(world(), {}, async (c) => {
        const w = world()
        const fresh = path.join(c.dir, 'new')
        const res = await pdsctl(['backup', fresh, '--json'], { env: c.env, umask: 0o000 })
        assert.equal(res.code, 0, show(res))
        assert.equal(statSync(fresh).mode & 0o777, 0o700, 'DIR made by pdsctl is 0700')
        assertVault(fresh)
        // As an older run under umask 000 left them: loose folders and files are tightened.
        chmodSync(path.join(aliceDir(w, { ...c, dir: fresh }), 'diffs'), 0o777)
        chmodSync(path.join(fresh, 'accounts'), 0o777)
        chmodSync(path.join(fresh, 'manifest.json'), 0o666)
        // Files an unchanged account would not rewrite (nothing new): loose ones are, 0600.
        chmodSync(path.join(aliceDir(w, { ...c, dir: fresh }), 'account.json'), 0o666)
        chmodSync(path.join(aliceDir(w, { ...c, dir: fresh }), 'state.json'), 0o644)
        const again = await pdsctl(['backup', fresh, '--json'], { env: c.env, umask: 0o000 })
        assert.equal(again.code, 0, show(again))
        assertVault(fresh)
        c.assertOutsideUntouched()
      }),
    )

    hostileCase(tally, 'verify: a CAR that is a link (to an identical copy outside) is named, not followed (exit 6)', () =>
      inCase(world(), { copyBase: true }, async (c) => {
        const w = world()
        const car = path.join(aliceDir(w, c), 'repo.car')
        const copy = path.join(c.root, 'repo-copy.car')
        copyFileSync(car, copy)
        linkOver(car, copy)
        c.rebaseline()
        const res = await pdsctl(['backup', 'verify', c.dir, '--offline', '--json'])
        assert.equal(res.code, 6, show(res))
        const r = JSON.parse(res.stdout) as VerifyReport
        const rel = path.relative(c.dir, car)
        assert.deepEqual(r.problems.map((p) => p.file), [rel])
        assert.match(r.problems[0].problem, /symbolic link/)
        assert.ok(!res.stderr.includes('repo-copy') && !res.stdout.includes('repo-copy'), 'the link\'s target is never named')
        c.assertOutsideUntouched()
      }),
    )

    hostileCase(tally, 'restore: a blob that is a link to a secret outside is refused before any request (exit 2)', () =>
      inCase(world(), { copyBase: true }, async (c) => {
        const w = world()
        const alice = w.accts[0]
        const blob = path.join(aliceDir(w, c), 'blobs', w.blobs.get(alice.did)![0])
        const secret = path.join(c.root, 'secret-copy')
        copyFileSync(blob, secret)
        linkOver(blob, secret)
        c.rebaseline()
        for (const extra of [['--dry-run'], ['--password-stdin', '--yes']]) {
          const res = await pdsctl(['backup', 'restore', c.dir, alice.handle, ...extra], { env: { PDS_URL: c.lying.url }, stdin: alice.password })
          assert.equal(res.code, 2, show(res))
          assert.ok(res.stderr.includes(path.relative(c.dir, blob)), show(res))
          assert.match(res.stderr, /symbolic link/)
        }
        assert.equal(hits(c, 'com.atproto.repo.importRepo') + hits(c, 'com.atproto.repo.uploadBlob') + hits(c, 'com.atproto.server.createSession'), 0)
        c.assertOutsideUntouched()
      }),
    )
  })
}

// ---------------------------------------------------------------------------------------
// The other files pdsctl writes: no PDS needed.

family('links, files pdsctl writes', (tally) => {
  /** A sentinel tree in its own root, snapshotted; `check()` compares. */
  const sentinels = () => {
    const root = mkdtempSync(path.join(tmpdir(), 'pdsctl-hostile-files-'))
    const outside = path.join(root, 'outside')
    plantSentinels(outside)
    const before = snapshot(root, ['work'])
    const work = path.join(root, 'work')
    mkdirSync(work, { mode: 0o700 })
    return { root, outside, work, check: () => assertSameTree(before, snapshot(root, ['work']), 'outside the folder pdsctl writes'), done: () => rmSync(root, { recursive: true, force: true }) }
  }

  hostileCase(tally, 'saving a context: a link planted at its temporary name is not written through', async () => {
    const s = sentinels()
    try {
      const { writeContexts, contextsPath } = await import('../../src/lib/cli/contexts.js')
      const configDir = path.join(s.work, 'config')
      mkdirSync(configDir, { mode: 0o700 })
      // The temporary names a writer could guess: this process's pid, and a few around it.
      for (let pid = process.pid - 2; pid <= process.pid + 2; pid++) symlinkSync(path.join(s.outside, `stolen-${pid}`), `${contextsPath(configDir)}.${pid}.tmp`)
      await writeContexts(configDir, { current: 'x', contexts: { x: { url: 'https://pds.example.com', adminPassword: { from: 'stored', value: 'hunter2-secret' } } } })
      s.check()
      assert.equal(lstatSync(contextsPath(configDir)).isFile(), true)
      assert.equal(statSync(contextsPath(configDir)).mode & 0o777, 0o600)
      assert.ok(readFileSync(contextsPath(configDir), 'utf8').includes('hunter2-secret'))
    } finally {
      s.done()
    }
  })

  hostileCase(tally, 'saving a context into a config folder that others may write is refused (exit 2), with the fix', async () => {
    const s = sentinels()
    try {
      const configDir = path.join(s.work, 'config')
      mkdirSync(configDir)
      chmodSync(configDir, 0o777)
      const res = await pdsctl(['context', 'add', 'x', '--url', 'https://pds.example.com', '--store-admin-password'], { env: { PDSCTL_CONFIG_DIR: configDir }, stdin: 'hunter2-secret' })
      assert.equal(res.code, 2, show(res))
      assert.ok(res.stderr.includes(configDir), show(res))
      assert.match(res.stderr, /chmod/)
      assert.deepEqual(readdirSync(configDir), [])
      s.check()
    } finally {
      s.done()
    }
  })

  hostileCase(tally, 'saving a context when contexts.json is a link: the link is replaced, its target untouched', async () => {
    const s = sentinels()
    try {
      const configDir = path.join(s.work, 'config')
      mkdirSync(configDir, { mode: 0o700 })
      symlinkSync(path.join(s.outside, 'not-yet'), path.join(configDir, 'contexts.json'))
      const res = await pdsctl(['context', 'add', 'x', '--url', 'https://pds.example.com'], { env: { PDSCTL_CONFIG_DIR: configDir } })
      assert.equal(res.code, 0, show(res))
      assert.equal(lstatSync(path.join(configDir, 'contexts.json')).isFile(), true)
      s.check()
    } finally {
      s.done()
    }
  })

  hostileCase(tally, 'k8s manifests: a dangling link at an output file is refused without --force; its target is not created', async () => {
    const s = sentinels()
    try {
      const out = path.join(s.work, 'deploy')
      mkdirSync(out)
      symlinkSync(path.join(s.outside, 'planted.yaml'), path.join(out, 'deployment.yaml'))
      const res = await pdsctl(['k8s', 'manifests', '--hostname', 'pds.example.com', '--dir', out])
      assert.equal(res.code, 2, show(res))
      assert.ok(res.stderr.includes(path.join(out, 'deployment.yaml')), show(res))
      assert.match(res.stderr, /symbolic link/)
      assert.equal(existsSync(path.join(s.outside, 'planted.yaml')), false)
      s.check()
    } finally {
      s.done()
    }
  })

  hostileCase(tally, 'k8s manifests --force: a link at an output file is replaced by the file, never written through', async () => {
    const s = sentinels()
    try {
      const out = path.join(s.work, 'deploy')
      mkdirSync(out)
      symlinkSync(path.join(s.outside, 'passwd'), path.join(out, 'service.yaml'))
      const res = await pdsctl(['k8s', 'manifests', '--hostname', 'pds.example.com', '--dir', out, '--force'], { umask: 0o000 })
      assert.equal(res.code, 0, show(res))
      assert.equal(lstatSync(path.join(out, 'service.yaml')).isFile(), true)
      assert.match(readFileSync(path.join(out, 'service.yaml'), 'utf8'), /kind: Service/)
      for (const f of readdirSync(out)) assert.equal(statSync(path.join(out, f)).mode & 0o022, 0, `${f} is not writable by others under umask 000`)
      s.check()
    } finally {
      s.done()
    }
  })

  hostileCase(tally, 'secrets generate -o: a dangling link is refused, even with --force; its target is not created', async () => {
    const s = sentinels()
    try {
      const link = path.join(s.work, 'pds.env')
      symlinkSync(path.join(s.outside, 'planted.env'), link)
      for (const extra of [[], ['--force']]) {
        const res = await pdsctl(['secrets', 'generate', '-o', link, ...extra])
        assert.equal(res.code, 2, show(res))
        assert.match(res.stderr, /symbolic link/)
      }
      assert.equal(existsSync(path.join(s.outside, 'planted.env')), false)
      s.check()
    } finally {
      s.done()
    }
  })

  hostileCase(tally, 'secrets generate -o and k8s manifests into a folder anyone may write (no sticky bit): refused (exit 2), nothing written', async () => {
    const s = sentinels()
    try {
      const shared = path.join(s.work, 'shared')
      mkdirSync(shared)
      chmodSync(shared, 0o777)
      const secrets = await pdsctl(['secrets', 'generate', '-o', path.join(shared, 'pds.env')])
      assert.equal(secrets.code, 2, show(secrets))
      assert.match(secrets.stderr, new RegExp(`${shared}.*writable by others.*chmod o-w`))
      const k8s = await pdsctl(['k8s', 'manifests', '--hostname', 'pds.example.com', '--dir', path.join(shared, 'deploy')])
      assert.equal(k8s.code, 2, show(k8s))
      assert.match(k8s.stderr, /writable by others/)
      assert.deepEqual(readdirSync(shared), [])
      s.check()
    } finally {
      s.done()
    }
  })

  hostileCase(tally, 'the compile cache under umask 000: its folders are 0700', async () => {
    const s = sentinels()
    try {
      const cache = path.join(s.work, 'cache')
      const res = await pdsctl(['secrets', 'generate', '-o', path.join(s.work, 'x.env')], { env: { XDG_CACHE_HOME: cache }, umask: 0o000 })
      assert.equal(res.code, 0, show(res))
      assert.equal(statSync(path.join(s.work, 'x.env')).mode & 0o777, 0o600)
      for (const d of ['pdsctl', 'pdsctl/compile-cache']) assert.equal(statSync(path.join(cache, d)).mode & 0o777, 0o700, d)
      s.check()
    } finally {
      s.done()
    }
  })

  hostileCase(tally, "the compile cache folder belongs to another user (nobody): not used, nothing written there", async () => {
    const s = sentinels()
    try {
      const cache = path.join(s.work, 'cache')
      mkdirSync(path.join(cache, 'pdsctl'), { recursive: true, mode: 0o755 })
      chownSync(path.join(cache, 'pdsctl'), NOBODY, NOBODY)
      const res = await pdsctl(['secrets', 'generate'], { env: { XDG_CACHE_HOME: cache } })
      assert.equal(res.code, 0, show(res))
      assert.deepEqual(readdirSync(path.join(cache, 'pdsctl')), [])
      s.check()
    } finally {
      s.done()
    }
  })

  hostileCase(tally, 'the compile cache folder is a link to another folder: not used, nothing written there', async () => {
    const s = sentinels()
    try {
      const cache = path.join(s.work, 'cache')
      mkdirSync(cache, { mode: 0o700 })
      symlinkSync(path.join(s.outside, 'empty'), path.join(cache, 'pdsctl'))
      const res = await pdsctl(['secrets', 'generate'], { env: { XDG_CACHE_HOME: cache } })
      assert.equal(res.code, 0, show(res))
      s.check()
    } finally {
      s.done()
    }
  })
})
