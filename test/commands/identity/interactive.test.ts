// add-rotation-key on a real terminal: the hidden password prompt, the operation shown and
// confirmed before anything is signed, the mailed token typed at its prompt.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Secp256k1Keypair } from '@atproto/crypto'
import { startTestBed, type SeededAccount, type TestBed } from '../../bed/pds.js'
import { runPty } from '../../helpers/pty.js'
import { plcData } from './helpers.js'

describe('identity add-rotation-key on a terminal', () => {
  let bed: TestBed
  let erin: SeededAccount
  let fred: SeededAccount
  before(async () => {
    bed = await startTestBed()
    ;[erin, fred] = await bed.seed(2, 'term')
  })
  after(() => bed.close())

  test('one run: password hidden, the operation shown and confirmed, then the token from the mail', async () => {
    const key = (await Secp256k1Keypair.create()).did()
    const t = runPty(['identity', 'add-rotation-key', erin.handle, '--key', key, '--first'], { PDS_URL: bed.url, PDS_DID_PLC_URL: bed.plcUrl })
    await t.waitFor(/Password for term0\.test:/)
    const since = bed.mail.messages.length
    t.write(erin.password + '\r')
    await t.waitFor(/Sign and submit this operation for term0\.test\?/)
    assert.match(t.screen, /1\. did:key:\S+ {3}\(new\)/)
    assert.equal(bed.mail.messages.length, since, 'no token asked for before the confirmation')
    t.write('y\r')
    await t.waitFor(/Token from the mail/)
    const mail = await bed.mail.waitFor(erin.email, { since, timeoutMs: 15_000 })
    t.write(/[A-Z0-9]{5}-[A-Z0-9]{5}/.exec(mail.text)![0] + '\r')
    await t.waitFor(/Added: the PLC directory's current operation for term0\.test is /)
    assert.equal(await t.exited, 0, t.screen)
    assert.ok(!t.screen.includes(erin.password))
    assert.equal((await plcData(bed, erin.did)).rotationKeys[0], key)
  })

  test('answering no: cancelled (exit 2), no token sent, nothing changed', async () => {
    const before = await plcData(bed, fred.did)
    const since = bed.mail.messages.length
    const t = runPty(['identity', 'add-rotation-key', fred.handle, '--key', (await Secp256k1Keypair.create()).did()], { PDS_URL: bed.url, PDS_DID_PLC_URL: bed.plcUrl })
    await t.waitFor(/Password for term1\.test:/)
    t.write(fred.password + '\r')
    await t.waitFor(/Sign and submit this operation/)
    t.write('n\r')
    assert.equal(await t.exited, 2, t.screen)
    assert.match(t.screen, /cancelled: nothing was changed/)
    assert.equal(bed.mail.messages.length, since)
    assert.deepEqual(await plcData(bed, fred.did), before)
  })
})
