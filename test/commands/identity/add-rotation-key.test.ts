// identity add-rotation-key as the account, both PDS lines: the token the PDS mails (read
// from the SMTP catcher), the operation shown before it is signed, built from the current
// PLC data, and the result found in the real directory's log.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { P256Keypair, Secp256k1Keypair } from '@atproto/crypto'
import { startTestBed, type PdsLine, type SeededAccount, type TestBed } from '../../bed/pds.js'
import { runCli } from '../../helpers/cli.js'
import { plcAuditLog, plcData, plcUpdate } from './helpers.js'
import type { AddRotationKeyResult } from '../../../src/commands/identity/add-rotation-key.js'

const TOKEN_RE = /\b[A-Z0-9]{5}-[A-Z0-9]{5}\b/

for (const line of ['0.5', '0.4'] as PdsLine[]) {
  describe(`identity add-rotation-key, PDS ${line}.x`, () => {
    let bed: TestBed
    let alice: SeededAccount
    let bob: SeededAccount
    let carol: SeededAccount
    const run = (args: string[], stdin: string, extra: Record<string, string> = {}) =>
      runCli(['identity', 'add-rotation-key', ...args, '--password-stdin'], { env: { PDS_URL: bed.url, PDS_DID_PLC_URL: bed.plcUrl, ...extra }, stdin, timeoutMs: 120_000 })
    /** Step 1 (no --token, not a terminal): the mail is sent; its token. */
    async function mailedToken(acct: SeededAccount, args: string[]): Promise<{ token: string; first: Awaited<ReturnType<typeof run>> }> {
      const since = bed.mail.messages.length
      const first = await run([acct.handle, ...args, '--json'], acct.password)
      assert.equal(first.code, 0, first.stderr)
      assert.equal((JSON.parse(first.stdout) as AddRotationKeyResult).status, 'sent')
      const mail = await bed.mail.waitFor(acct.email, { since, timeoutMs: 15_000 })
      const token = TOKEN_RE.exec(mail.text)?.[0]
      assert.ok(token, `a token in the mail: ${mail.text.slice(0, 300)}`)
      return { token, first }
    }

    before(async () => {
      bed = await startTestBed({ line })
      ;[alice, bob, carol] = await bed.seed(3, 'keyed')
    })
    after(() => bed?.close())

    test('two steps: the token mailed, then signed by the PDS, submitted and found in the log', async () => {
      const key = (await Secp256k1Keypair.create()).did()
      const before = await plcData(bed, alice.did)
      const { token, first } = await mailedToken(alice, ['--key', key])
      // The operation is shown before anything is signed: the keys, the new one last.
      assert.match(first.stderr, /The operation to sign \(rotation keys, highest priority first\):/)
      assert.ok(first.stderr.includes(`3. ${key}   (new)`), first.stderr)
      assert.match(first.stderr, /Finish with: pdsctl identity add-rotation-key keyed0\.test --key did:key:\S+ --password-stdin --token TOKEN --yes/)
      assert.deepEqual(await plcData(bed, alice.did), before, 'nothing changed yet')
      assert.ok(!first.stderr.includes(alice.password) && !first.stdout.includes(alice.password))

      const res = await run([alice.did, '--key', key, '--token', token.toLowerCase(), '--yes', '--json'], alice.password)
      assert.equal(res.code, 0, res.stderr)
      const r = JSON.parse(res.stdout) as AddRotationKeyResult
      assert.equal(r.status, 'added')
      assert.deepEqual(r.before, before.rotationKeys)
      assert.deepEqual(r.after, [...before.rotationKeys, key])
      assert.equal(r.signedBy, bed.rotationKeyDid)
      // The directory agrees: its current operation is this one, with the key last.
      const log = await plcAuditLog(bed, alice.did)
      assert.equal(log.at(-1)!.cid, r.cid)
      assert.deepEqual(log.at(-1)!.operation.rotationKeys, [...before.rotationKeys, key])
      assert.deepEqual({ ...(await plcData(bed, alice.did)), rotationKeys: before.rotationKeys }, before, 'only the rotation keys changed')
      // A token is single-use: the same one again is refused (exit 3) and nothing changes.
      const again = await run([alice.did, '--key', (await Secp256k1Keypair.create()).did(), '--token', token, '--yes'], alice.password)
      assert.equal(again.code, 3, again.stderr)
      assert.match(again.stderr, /^Error: the PDS rejected the token \(.*\)\. Tokens are single-use and expire after 15 minutes/m)
      assert.equal((await plcAuditLog(bed, alice.did)).length, log.length)
    })

    test('--first puts a P-256 key at the highest priority; the PLC data is kept, not the recommended credentials', async () => {
      // Something the PDS's recommended credentials would drop: a second service.
      await plcUpdate(bed, bob.did, (d) => ({ ...d, services: { ...d.services, other_thing: { type: 'SomethingElse', endpoint: 'https://other.example' } } }))
      const before = await plcData(bed, bob.did)
      const key = (await P256Keypair.create()).did()
      const { token } = await mailedToken(bob, ['--key', key, '--first'])
      const res = await run([bob.handle, '--key', key, '--first', '--token', token, '--yes', '--json'], bob.password)
      assert.equal(res.code, 0, res.stderr)
      const after = await plcData(bed, bob.did)
      assert.deepEqual(after.rotationKeys, [key, ...before.rotationKeys])
      assert.deepEqual(after.services, before.services, 'the other service is still there')
      assert.deepEqual(after.alsoKnownAs, before.alsoKnownAs)
    })

    test('a key already there: nothing to sign, no mail; more than 5 keys: exit 2, nothing sent', async () => {
      const since = bed.mail.messages.length
      const res = await run([carol.handle, '--key', bed.rotationKeyDid, '--json'], carol.password)
      assert.equal(res.code, 0, res.stderr)
      assert.equal((JSON.parse(res.stdout) as AddRotationKeyResult).status, 'unchanged')
      const extra = await Promise.all([1, 2, 3, 4].map(async () => (await Secp256k1Keypair.create()).did()))
      const tooMany = await run([carol.handle, ...extra.flatMap((k) => ['--key', k])], carol.password)
      assert.equal(tooMany.code, 2, tooMany.stderr)
      assert.match(tooMany.stderr, /has 2 rotation keys; adding 4 would make 6, and a DID has at most 5/)
      assert.equal(bed.mail.messages.length, since, 'no token was asked for')
    })

    test('signing needs --yes when not on a terminal; a wrong password is exit 3', async () => {
      const key = (await Secp256k1Keypair.create()).did()
      const noYes = await run([carol.handle, '--key', key, '--token', 'ABCDE-12345'], carol.password)
      assert.equal(noYes.code, 2, noYes.stderr)
      assert.match(noYes.stderr, /--yes is required when not running interactively/)
      const wrong = await run([carol.handle, '--key', key], 'not-the-password')
      assert.equal(wrong.code, 3, wrong.stderr)
      assert.match(wrong.stderr, /rejected the password for keyed2\.test/)
    })
  })
}
