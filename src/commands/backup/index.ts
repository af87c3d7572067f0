import * as Args from '../../base/args.js'
import * as Flags from '../../base/flags.js'
import { PdsCommand } from '../../base/base-command.js'
import { PartialFailureError, PdsctlError, UsageError } from '../../lib/errors.js'
import type { BackupProgress, BackupSummary } from '../../lib/backup/backup.js'

export default class Backup extends PdsCommand<typeof Backup> {
  static override summary = "Back up every account's repository, blobs and admin view to a folder"
  static override description = `Per account: the repository as a CAR (com.atproto.sync.getRepo with the admin credential, so taken-down and deactivated accounts are included), every blob (listBlobs + getBlob, each checked against its CID before it is kept) and the admin view (handle, email, status, invites) as JSON, plus DIR/manifest.json with revs, sizes and the sha256 of every file.
Run it again into the same DIR: unchanged repositories are skipped, changed ones fetched as a diff (getRepo?since=) kept beside the full CAR, blobs already saved are not fetched again. Interrupted, the next run finishes the job.
PDS_RATE_LIMIT_BYPASS_KEY (environment or env file) is sent as x-ratelimit-bypass to the PDS only; without it a 429 waits for Retry-After.
DIR is kept as a vault: it must belong to you and be writable by nobody else (refused otherwise, exit 2), folders are made 0700 and files 0600 whatever the umask, and nothing inside it is followed if it is a symbolic link (the link is named; exit 2 for DIR/accounts or manifest.json, the account's failure otherwise). Names from the PDS (DIDs, revs, CIDs) become file names only when they parse as what they claim to be.
Check a backup with \`pdsctl backup verify DIR\`. Exit 5 when some accounts failed, 1 when the PDS sent a name or repository pdsctl will not act on (the other accounts are still backed up).`
  static override examples = [
    '<%= config.bin %> backup /backups/pds --env-file /pds/pds.env',
    'printf "alice.example.com\\ndid:plc:abc123\\n" | <%= config.bin %> backup /backups/pds -',
    '<%= config.bin %> backup /backups/pds --concurrency 8 --json | jq .errors',
  ]
  static override args = {
    dir: Args.string({ description: 'The backup folder (created if missing; reuse it for incremental runs).', required: true }),
    accounts: Args.string({ description: 'Leave out for every account, or - to read handles/DIDs from stdin (one per line).' }),
  }
  static override flags = {
    concurrency: Flags.integer({ description: 'Accounts backed up at once, each with up to 4 blobs in flight.', default: 8, min: 1, max: 32 }),
    'page-size': Flags.integer({ description: 'listRepos/listBlobs page size.', default: 1000, min: 1, max: 1000, hidden: true }),
    'bypass-key-secret': Flags.string({
      description: 'Read the rate-limit bypass key from this Kubernetes Secret: NAME[:KEY] (key default rateLimitBypassKey); else PDS_RATE_LIMIT_BYPASS_KEY from the environment or env file.',
      helpGroup: 'KUBERNETES',
    }),
  }

  async run(): Promise<BackupSummary> {
    const { dir, accounts } = this.args
    if (accounts !== undefined && accounts !== '-') {
      throw new UsageError(`unexpected argument "${accounts}"`, { hint: 'Give - to read accounts from stdin, or nothing for every account' })
    }
    const { stat } = await import('node:fs/promises')
    const st = await stat(dir).catch(() => undefined)
    if (st && !st.isDirectory()) throw new UsageError(`${dir} is not a folder`, { hint: 'Give the backup folder (created if missing)' })
    let list: string[] | undefined
    if (accounts === '-') {
      const [{ parseBatchLines }, { parseAccountRef }] = await Promise.all([import('../../lib/admin/batch.js'), import('../../lib/pds/identifiers.js')])
      list = parseBatchLines(await this.readStdin('the accounts (one per line)'))
      if (list.length === 0) throw new UsageError('no accounts on stdin', { hint: 'One handle or DID per line, or leave out - for every account' })
      for (const item of list) parseAccountRef(item) // bad input rejected before any request
    }
    let secretRef: { name: string; key: string } | undefined
    if (this.flags['bypass-key-secret']) {
      const { parseSecretRef } = await import('../../lib/k8s/secret.js')
      secretRef = parseSecretRef(this.flags['bypass-key-secret'], 'rateLimitBypassKey')
    }
    const { runBackup } = await import('../../lib/backup/backup.js')
    const settings = await this.settings()
    const client = await this.client()
    let bypassKey = settings.rateLimitBypassKey
    if (secretRef) {
      bypassKey = await this.readSecretKey(secretRef.name, secretRef.key)
    }

    const tty = Boolean(process.stderr.isTTY)
    let lastLine = 0
    const render = (p: BackupProgress, final = false) => {
      const rate = p.elapsedMs > 0 ? (p.bytes / (p.elapsedMs / 1000)) : 0
      const acc = `${p.accountsDone}${p.accountsTotal ? `/${p.accountsTotal}` : ''} accounts${p.accountsFailed ? ` (${p.accountsFailed} failed)` : ''}`
      const text = `${acc}, ${p.blobsFetched} blobs fetched, ${p.blobsSkipped} skipped, ${formatBytes(p.bytes)} (${formatBytes(rate)}/s)`
      if (tty) {
        const bar = p.accountsTotal ? progressBar(p.accountsDone + p.accountsFailed, p.accountsTotal) + ' ' : ''
        this.out.progress(`${bar}${text}`, final)
      } else if (final || Date.now() - lastLine > 5000) {
        lastLine = Date.now()
        this.out.status(text)
      }
    }
    this.out.status(`Backing up ${list ? `${list.length} account${list.length === 1 ? '' : 's'}` : 'every account'} of ${client.url} to ${dir}…`)
    let last: BackupProgress | undefined
    const summary = await runBackup(client, {
      dir,
      accounts: list,
      concurrency: this.flags.concurrency,
      pageSize: this.flags['page-size'],
      signal: this.interruption.signal,
      rateLimitBypassKey: bypassKey,
      pdsctlVersion: this.config.version,
      onProgress: (p) => {
        last = p
        if (p.note) {
          if (tty) this.out.clearProgress()
          this.out.status(p.note)
        }
        render(p)
      },
    })
    if (last) render({ ...last, elapsedMs: summary.durationMs, bytes: summary.bytes }, true)

    if (this.out.json) await this.out.printJson(summary)
    else {
      await this.out.printFields([
        ['dir', summary.dir],
        ['accounts', summary.accounts],
        ['repos full', summary.repos.full],
        ['repos incremental', summary.repos.incremental],
        ['repos unchanged', summary.repos.unchanged],
        ['blobs fetched', summary.blobs.fetched],
        ['blobs skipped', summary.blobs.skipped],
        ['bytes', summary.bytes],
        ['duration ms', summary.durationMs],
        ['errors', summary.errors.length],
      ])
    }
    for (const w of summary.warnings) this.out.warn(w)
    for (const e of summary.errors) this.out.warn(`${e.account}: ${e.error}`)
    const untrusted = summary.errors.filter((e) => e.untrusted)
    if (untrusted.length) {
      throw new UntrustedAnswerError(
        `${summary.errors.length} account${summary.errors.length === 1 ? '' : 's'} failed, ${untrusted.length} of them because the PDS sent what pdsctl will not act on (${untrusted[0].error}${untrusted.length > 1 ? `, and ${untrusted.length - 1} more` : ''}); the other accounts were backed up`,
      )
    }
    if (summary.errors.length) {
      throw new PartialFailureError(`${summary.errors.length} account${summary.errors.length === 1 ? '' : 's'} failed; run the same command again to retry them`)
    }
    this.out.status(`Backed up ${summary.accounts} account${summary.accounts === 1 ? '' : 's'}; check it with: ${this.config.bin} backup verify ${dir}`)
    return summary
  }
}

/** The PDS lied about some accounts (exit 1); the summary was printed already. */
class UntrustedAnswerError extends PdsctlError {
  override readonly reported = true
}

function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`
}

function progressBar(done: number, total: number): string {
  const width = 24
  const filled = Math.min(width, Math.round((done / Math.max(1, total)) * width))
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`
}
