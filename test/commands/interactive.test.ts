// What pdsctl does on a real terminal: prompts (hidden), the interactive email flow,
// did-you-mean, tables. Through a pty, as a person would see it.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestBed, type SeededAccount, type TestBed } from '../bed/pds.js'
import { runPty } from '../helpers/pty.js'

describe('on a terminal', () => {
  let bed: TestBed
  let dana: SeededAccount
  before(async () => {
    bed = await startTestBed()
    ;[dana] = await bed.seed(1, 'dana')
  })
  after(() => bed.close())

  test('email confirm in one run: hidden password prompt, the mailed code typed at the prompt', async () => {
    const t = runPty(['email', 'confirm', dana.handle], { PDS_URL: bed.url })
    await t.waitFor(/Password for dana0\.test:/)
    t.write(dana.password + '\r')
    await t.waitFor(/Code from the mail/)
    assert.ok(!t.screen.includes(dana.password), 'the password is not echoed')
    const mail = await bed.mail.waitFor(dana.email)
    const code = /[A-Z0-9]{5}-[A-Z0-9]{5}/.exec(mail.text)![0]
    t.write(code + '\r')
    await t.waitFor(/Confirmed dana0@example\.com for dana0\.test\./)
    assert.equal(await t.exited, 0)
  })

  test('the admin password is asked for, hidden, when nothing else gives it; a table is drawn', async () => {
    const t = runPty(['account', 'list'], { PDS_URL: bed.url })
    await t.waitFor(/Admin password:/)
    t.write(bed.adminPassword + '\r')
    await t.waitFor(/HANDLE\s+EMAIL\s+CONFIRMED\s+STATUS\s+DID\s+CREATED/)
    assert.equal(await t.exited, 0)
    assert.ok(!t.screen.includes(bed.adminPassword))
    assert.match(t.screen, /dana0\.test\s+dana0@example\.com\s+yes\s+active/)
  })

  test('a typo gets a did-you-mean', async () => {
    const t = runPty(['acount', 'list'], { PDS_URL: bed.url })
    await t.waitFor(/Did you mean account list\?/)
    t.write('n\r')
    assert.equal(await t.exited, 127)
  })
})
