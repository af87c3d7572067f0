// What pdsctl does on a real terminal: prompts (hidden), the interactive email flow,
// did-you-mean, tables fitted to the terminal, colour, account create's questions. Through
// a pty, as a person would see it.
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

  test('a typo gets a did-you-mean on stderr, exit 2, no prompt', async () => {
    const t = runPty(['acount', 'list'], { PDS_URL: bed.url })
    assert.equal(await t.exited, 2)
    assert.match(t.screen, /Error: "acount list" is not a pdsctl command\. Did you mean: pdsctl account list\?/)
    assert.doesNotMatch(t.screen, /\(Y\/n\)|\(y\/N\)/)
  })

  describe('account list at 80 columns', () => {
    let long: SeededAccount[]
    before(async () => {
      // Handles and emails as long as real ones, so that a naive table would wrap.
      long = await bed.seed(3, 'alexandrapetrova')
    })

    test('one line per account, none wider than 80; the DID hidden with a note on stderr; status in colour', async () => {
      const t = runPty(['account', 'list'], { PDS_URL: bed.url, PDS_ADMIN_PASSWORD: bed.adminPassword, NO_COLOR: undefined }, { columns: 80 })
      assert.equal(await t.exited, 0, t.screen)
      const lines = t.screen.split('\n').filter((l) => l.trim())
      const table = lines.filter((l) => !/^\(|^\d+ accounts?$/.test(l))
      assert.match(table[0], /^HANDLE\s+EMAIL\s+CONFIRMED\s+STATUS\s+CREATED$/)
      assert.equal(table.length, 1 + 1 + long.length, t.screen)
      for (const l of table) assert.ok(l.length <= 80, `${l.length} columns: ${l}`)
      for (const a of long) assert.ok(table.some((l) => l.startsWith(a.handle + ' ')), `${a.handle} on one line:\n${t.screen}`)
      assert.ok(table.slice(1).every((l) => /\s(now|\d+ (seconds?|minutes?) ago)$/.test(l)), 'times relative on a terminal')
      assert.match(t.screen, /\(DID hidden to fit 80 columns; pipe or use --json for every column\)/)
      assert.ok(t.raw.includes('\x1b[32mactive\x1b[39m'), 'status in colour on a terminal')
    })

    test('NO_COLOR=1 on a terminal: no escape codes at all', async () => {
      const t = runPty(['account', 'list'], { PDS_URL: bed.url, PDS_ADMIN_PASSWORD: bed.adminPassword, NO_COLOR: '1' }, { columns: 80 })
      assert.equal(await t.exited, 0, t.screen)
      assert.match(t.screen, /alexandrapetrova0\.test/)
      assert.ok(!t.raw.includes('\x1b'), JSON.stringify(t.raw))
    })
  })

  test('doctor at 80 columns: RESULT wraps inside its column, each fix on a line of its own, results in colour', async () => {
    const t = runPty(['doctor', '--public-url', bed.url, '--relay', 'http://127.0.0.1:9'], { PDS_URL: bed.url, PDS_ADMIN_PASSWORD: bed.adminPassword, NO_COLOR: undefined }, { columns: 80 })
    await t.exited
    const lines = t.screen.split('\n').filter((l) => l.trim())
    const head = lines.findIndex((l) => /^STATUS\s+CHECK\s+RESULT$/.test(l))
    assert.ok(head >= 0, t.screen)
    const col = lines[head].indexOf('RESULT')
    const table = lines.slice(head + 1).filter((l) => l.length > col && !l.startsWith('Error:'))
    for (const l of table) assert.ok(l.length <= 80, `${l.length}: ${l}`)
    const results = table.map((l) => l.slice(col))
    assert.ok(results.some((r) => r.startsWith('Fix: ')), t.screen)
    assert.ok(!results.some((r) => /^\. Fix|\S Fix: /.test(r)), t.screen)
    assert.ok(t.raw.includes('\x1b[32mPASS\x1b[39m') && t.raw.includes('\x1b[33mWARN\x1b[39m'), 'pass and warn in colour')
  })

  describe('account create', () => {
    test('asks for the missing handle and email (re-asking a bad one) and offers a generated password, shown once', async () => {
      const t = runPty(['account', 'create'], { PDS_URL: bed.url, PDS_ADMIN_PASSWORD: bed.adminPassword })
      await t.waitFor(/Handle \(e\.g\. alice\.pds\.example\.com\):/)
      t.write('not a handle\r')
      await t.waitFor(/is not a valid handle/)
      for (let i = 0; i < 12; i++) t.write('\x7f')
      t.write('erin.test\r')
      await t.waitFor(/Email:/)
      t.write('erin@example.com\r')
      await t.waitFor(/Generate a password \(shown once\)\?/)
      t.write('\r')
      assert.equal(await t.exited, 0, t.screen)
      const password = /password:\s+(\S+)/.exec(t.screen)?.[1]
      assert.ok(password && password.length >= 16, t.screen)
      assert.match(t.screen, /handle:\s+erin\.test/)
      assert.match(t.screen, /shown only this once/)
      // The account exists, with that password.
      const session = await fetch(`${bed.url}/xrpc/com.atproto.server.createSession`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ identifier: 'erin.test', password }),
      })
      assert.equal(session.status, 200)
    })

    test('a typed password instead (hidden, asked twice)', async () => {
      const t = runPty(['account', 'create', '--email', 'fred@example.com'], { PDS_URL: bed.url, PDS_ADMIN_PASSWORD: bed.adminPassword })
      await t.waitFor(/Handle/)
      t.write('fred.test\r')
      await t.waitFor(/Generate a password/)
      t.write('n\r')
      await t.waitFor(/Password \(at least 8 characters\):/)
      t.write('correct-horse-battery\r')
      await t.waitFor(/Again:/)
      t.write('correct-horse-battery\r')
      assert.equal(await t.exited, 0, t.screen)
      assert.ok(!t.screen.includes('correct-horse-battery'), 'never echoed')
      assert.doesNotMatch(t.screen, /password:/)
      assert.doesNotMatch(t.screen, /Email:/, 'not asked for what was given')
    })

    for (const flag of ['--json', '--no-input']) {
      test(`${flag} on a terminal: nothing asked, the missing flags named, exit 2`, async () => {
        const t = runPty(['account', 'create', '--email', 'gina@example.com', flag], { PDS_URL: bed.url, PDS_ADMIN_PASSWORD: bed.adminPassword })
        assert.equal(await t.exited, 2, t.screen)
        assert.match(t.screen, /Error: missing --handle\. Fix: pdsctl account create --handle alice\.pds\.example\.com --email gina@example\.com/)
        assert.doesNotMatch(t.screen, /Handle \(/)
      })
    }
  })
})
