// `npm run sandbox`: the real test-bed PDS for a person to try every command against.
// Starts the PDS (in-memory PLC, SMTP catcher), seeds a few accounts, runs a first
// pdsctl command against it, prints the environment to use, and runs until Ctrl-C.
// Caught mail (confirmation codes!) is echoed here as it arrives.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { startTestBed } from './pds.js'
import { ROOT } from '../helpers/cli.js'

const count = Number(process.env.SANDBOX_ACCOUNTS ?? 5)
// Two PDSes sharing one PLC directory and one mail catcher, so that `account migrate` can be
// tried end to end: the first holds the seeded accounts, the second is where they can move
// (same admin password; handles under .test and .new.test).
const bed = await startTestBed({ inviteRequired: process.env.SANDBOX_INVITES === '1', plcByName: true, preferences: true, serviceDid: 'did:web:first.localhost' })
const second = await startTestBed({ handleDomain: '.new.test', adminPassword: bed.adminPassword, plcUrl: bed.plcUrl, mail: bed.mail, plcByName: true, preferences: true, serviceDid: 'did:web:second.localhost' })
const accounts = await bed.seed(count, 'alice')
const envFile = path.join(ROOT, '.sandbox.env')
// What pdsctl reads from a PDS's env file, as this PDS has it: the PLC directory (identity and
// backup verify use this one, not plc.directory), the recovery key every account's DID
// lists first, its mailer (doctor and config check judge email from here), its hostname,
// secrets and folders (config check; doctor's body-less POST probe signs with the JWT secret).
writeFileSync(
  envFile,
  [
    `PDS_URL=${bed.url}`,
    `PDS_ADMIN_PASSWORD=${bed.adminPassword}`,
    `PDS_DID_PLC_URL=${bed.plcUrl}`,
    `PDS_RECOVERY_DID_KEY=${bed.recoveryDidKey}`,
    `PDS_EMAIL_SMTP_URL=smtp://127.0.0.1:${bed.mail.port}`,
    'PDS_EMAIL_FROM_ADDRESS=pds@localhost',
    // The rest of what the real env file holds (config check and doctor judge it), as this PDS runs.
    'PDS_HOSTNAME=localhost',
    `PDS_INVITE_REQUIRED=${process.env.SANDBOX_INVITES === '1'}`,
    `PDS_JWT_SECRET=${bed.jwtSecret}`,
    `PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX=${bed.rotationKeyHex}`,
    `PDS_DATA_DIRECTORY=${bed.dataDirectory}`,
    `PDS_BLOBSTORE_DISK_LOCATION=${path.join(bed.dataDirectory, 'blobs')}`,
    '',
  ].join('\n'),
  { mode: 0o600 },
)

const bin = path.join(ROOT, 'bin/run.js')
const env = { ...process.env, PDS_URL: bed.url, PDS_ADMIN_PASSWORD: bed.adminPassword }
process.stdout.write(`\nSandbox PDS running at ${bed.url} with ${count} accounts (password of each below).\n\n$ pdsctl account list\n`)
// Async: the PDS lives in this process, so a blocking spawn would deadlock it.
await once(spawn(process.execPath, [bin, 'account', 'list'], { env, stdio: 'inherit' }), 'close')

process.stdout.write(`
Try it from another terminal in ${ROOT}:

  export PDS_URL=${bed.url}
  export PDS_ADMIN_PASSWORD=${bed.adminPassword}      # also in .sandbox.env (mode 0600): pdsctl --env-file .sandbox.env …
  ${existsSync(path.join(ROOT, '.tools/bin/pdsctl')) ? `export PATH="${path.join(ROOT, '.tools/bin')}:$PATH"   # pdsctl from this checkout (as scripts/dev.sh set it up)` : `alias pdsctl="${process.execPath} -- ${bin}"`}

  pdsctl health
  pdsctl account list --json
  pdsctl invite create --count 3
  pdsctl email status ${accounts[0].handle}
  pdsctl email confirm ${accounts[0].handle}        # password: ${accounts[0].password}; the code is printed here when mailed
  pdsctl --env-file .sandbox.env identity check --public-url ${bed.publicUrl}   # the URL its accounts' DID documents name
  pdsctl --env-file .sandbox.env doctor

A second PDS runs at ${second.url} (same admin password, handles under .new.test), sharing the
PLC directory ${bed.plcUrl}. Move an account onto it (the PLC token is printed here when mailed):

  pdsctl --url ${second.url} account migrate ${accounts[1].handle} --from ${bed.url} --plc-url ${bed.plcUrl} --dry-run
  pdsctl --url ${second.url} account migrate ${accounts[1].handle} --from ${bed.url} --plc-url ${bed.plcUrl}      # password: ${accounts[1].password}
  pdsctl account migrate ${accounts[2].handle} --to ${second.url} --plc-url ${bed.plcUrl}                          # out of the first one; password: ${accounts[2].password}

Account passwords: ${accounts.map((a) => `${a.handle}=${a.password}`).join('  ')}
Press Ctrl-C to stop.
`)

let seen = 0
const timer = setInterval(() => {
  for (const m of bed.mail.messages.slice(seen)) {
    const code = /\b[A-Z0-9]{5}-[A-Z0-9]{5}\b/.exec(m.text)?.[0]
    process.stdout.write(`[mail] to ${m.to.join(', ')}: ${m.subject}${code ? `  code: ${code}` : ''}\n`)
  }
  seen = bed.mail.messages.length
}, 300)

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, async () => {
    clearInterval(timer)
    process.stdout.write('\nStopping the sandbox PDS…\n')
    await second.close()
    await bed.close()
    process.exit(0)
  })
}
