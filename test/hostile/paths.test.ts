// Hostile data, family "paths": a lying PDS names files. DIDs, revs and CIDs with `/` and
// `..` in listRepos, getRepoStatus, listBlobs and getRepo answers, each aimed at the
// sentinel tree beside DIR. Every case: nothing outside DIR created, changed or deleted;
// the bad entry named in one error; exit 1 (the server lied); the honest accounts still
// backed up. Against both PDS lines.
import assert from 'node:assert/strict'
import { existsSync, readdirSync } from 'node:fs'
import path from 'node:path'
import type { PdsLine } from '../bed/pds.js'
import { startLyingServer } from '../bed/lying.js'
import type { BackupSummary } from '../../src/lib/backup/backup.js'
import { aliasAccount, family, folderName, forgeCar, hostileCase, inCase, lineLabel, pdsctl, readManifest, show, toLie, withWorld, type Case, type World } from './backupSupport.js'

/** Hostile DIDs in a listRepos answer: each would land on ROOT/outside/victim from DIR/accounts/. */
const HOSTILE_DIDS = [
  'did:plc:/../../../outside/victim',
  'did:web:../../../outside/victim',
  '../../../outside/victim',
  'did:plc:abc/../../../../outside/victim',
  // Valid DID syntax, but no DID a PDS hosts: its folder would be named by the server.
  'did:plc:..%2F..',
]

/** The run failed because of the lie only: exit 1, one error naming `bad`, every honest account in the manifest. */
function assertRefusedEntry(w: World, c: Case, res: Awaited<ReturnType<typeof pdsctl>>, bad: string, honest: number, inManifest = w.accts.map((a) => a.did)): void {
  c.assertOutsideUntouched()
  assert.equal(res.code, 1, `exit 1 for a lying server${show(res)}`)
  const s = JSON.parse(res.stdout) as BackupSummary
  assert.equal(s.errors.length, 1, JSON.stringify(s.errors))
  assert.ok(s.errors[0].account.includes(bad) || s.errors[0].error.includes(bad), `the error names ${bad}: ${JSON.stringify(s.errors[0])}`)
  assert.ok(res.stderr.includes(bad), `stderr names ${bad}${show(res)}`)
  assert.equal(s.accounts, honest, 'the honest accounts are backed up')
  const m = readManifest(c.dir)
  assert.deepEqual(m.accounts.map((a: { did: string }) => a.did).sort(), [...inManifest].sort())
}

for (const line of ['0.5', '0.4'] as PdsLine[]) {
  family(`paths, ${lineLabel(line)}`, (tally) => {
    const world = withWorld(line)

    for (const hostile of HOSTILE_DIDS) {
      hostileCase(tally, `listRepos lists the DID ${JSON.stringify(hostile)}`, () =>
        inCase(world(), {}, async (c) => {
          const w = world()
          aliasAccount(c, hostile, w.accts[1])
          const res = await pdsctl(['backup', c.dir, '--json'], { env: c.env })
          assertRefusedEntry(w, c, res, hostile, 3)
          assert.equal(existsSync(path.join(c.outside, 'victim', 'repo.car')), false)
        }),
      )
    }

    hostileCase(tally, 'getRepo (incremental) sends a commit whose rev is ../../../../outside/evilrev', () =>
      inCase(world(), { copyBase: true }, async (c) => {
        const w = world()
        const alice = w.accts[0]
        const evil = '../../../../outside/evilrev'
        // listRepos says alice changed (a valid TID ahead of hers); getRepo?since= answers a commit with a hostile rev.
        c.lying.lie('com.atproto.sync.listRepos', (real) => {
          const body = real.json as { repos: Array<{ did: string; rev: string }> }
          return { json: { ...body, repos: body.repos.map((r) => (r.did === alice.did ? { ...r, rev: '3zzzzzzzzzzzz' } : r)) } }
        })
        c.lying.answer('com.atproto.sync.getRepo', async (req) => {
          const got = await c.lying.forward(req)
          if (req.query.get('did') !== alice.did) return toLie(got)
          const full = await c.lying.forward(req, new URLSearchParams({ did: alice.did }))
          return { status: 200, headers: { 'content-type': 'application/vnd.ipld.car' }, body: await forgeCar(full.body, { rev: evil }) }
        })
        const res = await pdsctl(['backup', c.dir, '--json'], { env: c.env })
        assertRefusedEntry(w, c, res, evil, 2)
        assert.equal(existsSync(path.join(c.outside, 'evilrev.car')), false)
        assert.deepEqual(readdirSync(path.join(c.dir, 'accounts', folderName(alice.did), 'diffs')), [], 'no diff kept from the lie')
        const m = readManifest(c.dir)
        assert.ok(!JSON.stringify(m.accounts).includes('evilrev'), 'the manifest records no hostile path')
        const v = await pdsctl(['backup', 'verify', c.dir, '--offline', '--json'])
        assert.equal(v.code, 0, `the backup as it was still verifies${show(v)}`)
      }),
    )

    hostileCase(tally, 'getRepo (first run) sends a commit whose rev is ../x', () =>
      inCase(world(), {}, async (c) => {
        const w = world()
        const bob = w.accts[1]
        c.lying.answer('com.atproto.sync.getRepo', async (req) => {
          const got = await c.lying.forward(req)
          if (req.query.get('did') !== bob.did) return toLie(got)
          return { status: 200, headers: { 'content-type': 'application/vnd.ipld.car' }, body: await forgeCar(got.body, { rev: '../x' }) }
        })
        const res = await pdsctl(['backup', c.dir, '--json'], { env: c.env })
        assert.equal(res.code, 1, show(res))
        const s = JSON.parse(res.stdout) as BackupSummary
        assert.equal(s.accounts, 2)
        assert.equal(s.errors.length, 1)
        assert.equal(s.errors[0].account, bob.did)
        assert.match(s.errors[0].error, /rev "\.\.\/x"/)
        assert.ok(!readManifest(c.dir).accounts.some((a: { did: string }) => a.did === bob.did), 'bob has no entry built on the lie')
        c.assertOutsideUntouched()
      }),
    )

    hostileCase(tally, 'listRepos reports the rev ../../../outside/victim', () =>
      inCase(world(), { copyBase: true }, async (c) => {
        const w = world()
        const carol = w.accts[2]
        const evil = '../../../outside/victim'
        c.lying.lie('com.atproto.sync.listRepos', (real) => {
          const body = real.json as { repos: Array<{ did: string; rev: string }> }
          return { json: { ...body, repos: body.repos.map((r) => (r.did === carol.did ? { ...r, rev: evil } : r)) } }
        })
        const res = await pdsctl(['backup', c.dir, '--json'], { env: c.env })
        assertRefusedEntry(w, c, res, evil, 2)
      }),
    )

    hostileCase(tally, 'getRepoStatus (accounts from stdin) reports the rev ../../outside/x', () =>
      inCase(world(), { copyBase: true }, async (c) => {
        const w = world()
        const evil = '../../outside/x'
        c.lying.answer('com.atproto.sync.getRepoStatus', async (req) => {
          const got = await c.lying.forward(req)
          return { status: got.status, json: { ...(got.json as object), rev: evil } }
        })
        const res = await pdsctl(['backup', c.dir, '-', '--json'], { env: c.env, stdin: `${w.accts[0].handle}\n` })
        assert.equal(res.code, 1, show(res))
        const s = JSON.parse(res.stdout) as BackupSummary
        assert.equal(s.errors.length, 1)
        assert.ok(s.errors[0].error.includes(evil), JSON.stringify(s.errors))
        c.assertOutsideUntouched()
      }),
    )

    hostileCase(tally, 'listBlobs lists the CID ../../../../outside/secret', () =>
      inCase(world(), {}, async (c) => {
        const w = world()
        const alice = w.accts[0]
        const evil = '../../../../outside/secret'
        c.lying.lie('com.atproto.sync.listBlobs', (real, req) => {
          if (req.query.get('did') !== alice.did) return undefined
          const body = real.json as { cids: string[] }
          return { json: { ...body, cids: [evil, ...body.cids] } }
        })
        const res = await pdsctl(['backup', c.dir, '--json'], { env: c.env })
        assertRefusedEntry(w, c, res, evil, 2, [w.accts[1].did, w.accts[2].did])
      }),
    )

    // account migrate names its state file by the account's DID: when the account is named by
    // handle, that DID is the server's answer (resolveHandle). One that is not a did:plc or
    // did:web is a broken answer (exit 1), named, and no state file is made anywhere.
    for (const hostile of ['did:plc:/../../../outside/victim', 'did:web:..%2F..%2F..%2Foutside%2Fvictim', '../../../outside/victim']) {
      for (const mode of ['--dry-run', '--status']) {
        hostileCase(tally, `account migrate ${mode}: resolveHandle answers the DID ${JSON.stringify(hostile)}`, () =>
          inCase(world(), {}, async (c) => {
            const w = world()
            const old = await startLyingServer({ upstream: w.bed.url })
            try {
              for (const server of [old, c.lying]) server.answer('com.atproto.identity.resolveHandle', () => ({ json: { did: hostile } }))
              const config = path.join(c.dir, 'config')
              const res = await pdsctl(['account', 'migrate', w.accts[0].handle, '--from', old.url, mode, '--json'], { env: { ...c.env, PDSCTL_CONFIG_DIR: config } })
              c.assertOutsideUntouched()
              assert.equal(res.code, 1, `exit 1 for a lying server${show(res)}`)
              assert.ok(res.stderr.includes(hostile), `stderr names ${hostile}${show(res)}`)
              assert.equal(JSON.parse(res.stdout).error.exitCode, 1)
              const states = existsSync(path.join(config, 'migrations')) ? readdirSync(path.join(config, 'migrations')) : []
              assert.deepEqual(states, [], 'no state file')
            } finally {
              await old.close()
            }
          }),
        )
      }
    }
  })
}
