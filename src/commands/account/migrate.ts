import * as Args from '../../base/args.js'
import * as Flags from '../../base/flags.js'
import { PdsCommand } from '../../base/base-command.js'
import { NotFoundError, UsageError, XrpcError } from '../../lib/errors.js'
import type { MigrateProgress } from '../../lib/migrate/migrate.js'
import type { MigrationReport } from '../../lib/migrate/report.js'
import type { PdsClient } from '../../lib/pds/xrpcClient.js'

export default class AccountMigrate extends PdsCommand<typeof AccountMigrate> {
  static override summary = 'Move an account to this PDS (--from URL) or from it to another (--to URL): resumable, verified'
  static override description = `Moves the account's DID, repository, blobs and preferences, then its identity (a PLC operation the old PDS signs with a token it mails to the account), activates it on the new PDS and deactivates it on the old one, and verifies the result on both PDSes and the DID document.

Run it again at any point (after Ctrl-C, a lost connection, a rate limit, a crash): it reads where things stand on both PDSes and the PLC directory and does only what is left. Nothing is deactivated on the old PDS before the new one holds the repository, every blob and the preferences, the DID document points at it and it is active. What pdsctl needs to continue (never a password) is kept in a state file under its config folder (mode 0600).

The old account's password comes from --password-stdin or a hidden prompt (never a flag). The new account's is generated and shown once, or read with --new-password-stdin (after the old one's line when both are on stdin). The PLC token comes from --token or, on a terminal, a prompt; in a script the run stops before the identity step (exit 0, status "waiting-for-token") and prints the command to continue.

Defaults: the handle keeps a custom domain and maps one under the old PDS's domain to the same name under the new PDS's first domain (--handle); the email is the old account's (--email); an invite code, when the new PDS requires one, is minted with the admin password when pdsctl is connected to it (else --invite-code). --status and --dry-run need no password. Exit 6 when the final verification finds a problem (each is named with its fix).`
  static override examples = [
    '<%= config.bin %> account migrate alice.bsky.social --from https://bsky.social --dry-run',
    '<%= config.bin %> account migrate alice.bsky.social --from https://bsky.social',
    "printf '%s\\n' \"$OLD_PW\" | <%= config.bin %> account migrate did:plc:abc123 --from https://old.example --password-stdin --yes --json",
    "printf '%s\\n' \"$OLD_PW\" | <%= config.bin %> account migrate did:plc:abc123 --from https://old.example --password-stdin --yes --token ABCDE-12345",
    '<%= config.bin %> account migrate alice.pds.example.com --to https://new.example --invite-code new-example-abcde-fghij',
    '<%= config.bin %> account migrate did:plc:abc123 --from https://old.example --status --json',
  ]
  static override args = {
    account: Args.string({ description: 'The account: handle or DID.', required: true }),
  }
  static override flags = {
    from: Flags.string({ description: 'Move the account INTO the connected PDS from this one (its URL).', exclusive: ['to'] }),
    to: Flags.string({ description: 'Move the account OUT of the connected PDS to this one (its URL).', exclusive: ['from'] }),
    handle: Flags.string({ description: 'The handle on the new PDS (default: the same name under its domain, or the custom domain).' }),
    email: Flags.string({ description: "The email on the new PDS (default: the old account's)." }),
    'invite-code': Flags.string({ description: 'An invite code of the new PDS (minted with the admin password when it is the connected PDS).' }),
    token: Flags.string({ description: 'The PLC token mailed by the old PDS (ABCDE-12345).' }),
    'plc-url': Flags.string({ description: 'The PLC directory (default PDS_DID_PLC_URL from the environment or env file, else https://plc.directory).' }),
    'password-stdin': Flags.boolean({ description: "Read the old account's password from stdin (its first line)." }),
    'new-password-stdin': Flags.boolean({ description: "Read the new account's password from stdin (the line after the old one's, when both)." }),
    status: Flags.boolean({ description: 'Say where the migration stands (each step, counts, the DID document, which side is active); changes nothing.', exclusive: ['dry-run'] }),
    'dry-run': Flags.boolean({ description: 'Print the plan (what a run would do, irreversible steps named); changes nothing.', exclusive: ['status'] }),
    yes: Flags.boolean({ description: 'Do not ask before changing anything (required when not on a terminal).' }),
    concurrency: Flags.integer({ description: 'Blobs copied at once.', default: 4, min: 1, max: 32 }),
    'allow-missing-blobs': Flags.boolean({ description: 'Move the identity although some blobs are gone from the old PDS (their posts show no image).' }),
  }

  private stdinLines?: Promise<string[]>

  /** stdin read once: the old password's line, then the new one's. */
  private async stdinSecret(which: 'old' | 'new'): Promise<string> {
    this.stdinLines ??= this.readStdin(this.flags['password-stdin'] && this.flags['new-password-stdin'] ? 'the old and the new password (one line each)' : 'the password').then((t) => t.split(/\r?\n/))
    const lines = await this.stdinLines
    const index = which === 'new' && this.flags['password-stdin'] ? 1 : 0
    const value = lines[index] ?? ''
    if (!value) throw new UsageError(`stdin has no ${which === 'old' ? "old account's" : "new account's"} password${index ? ' on its second line' : ''}`)
    return value
  }

  async run(): Promise<MigrationReport> {
    // Everything the user typed is checked before the first request.
    const [{ parseAccountRef, parseHandle, parseEmail }, { parsePdsUrl }, { parseConfirmationCode }] = await Promise.all([
      import('../../lib/pds/identifiers.js'),
      import('../../lib/pds/urls.js'),
      import('../../lib/admin/email.js'),
    ])
    const f = this.flags
    const ref = parseAccountRef(this.args.account)
    if (!f.from && !f.to) {
      throw new UsageError('say where the account moves: --from URL (into the connected PDS) or --to URL (out of it)', {
        hint: `${this.config.bin} account migrate ${this.args.account} --from https://old.example`,
      })
    }
    const direction = f.from ? 'in' : 'out'
    const settings = await this.settings()
    const allowHttp = settings.allowInsecureHttp
    const other = parsePdsUrl((f.from ?? f.to)!, { allowHttp, what: f.from ? 'old PDS URL (--from)' : 'new PDS URL (--to)' })
    const plcInput = f['plc-url'] ?? process.env.PDS_DID_PLC_URL ?? settings.envFile?.values.PDS_DID_PLC_URL ?? 'https://plc.directory'
    const plcUrl = parsePdsUrl(plcInput, { allowHttp, what: 'PLC directory URL (--plc-url)' })
    const handle = f.handle === undefined ? undefined : parseHandle(f.handle)
    const email = f.email === undefined ? undefined : parseEmail(f.email)
    const token = f.token === undefined ? undefined : parseConfirmationCode(f.token)
    const inviteCode = f['invite-code']?.trim()
    if (inviteCode !== undefined && !/^[A-Za-z0-9._-]{1,100}$/.test(inviteCode)) throw new UsageError(`"${f['invite-code']}" is not an invite code`)
    if (f['admin-password-stdin'] && (f['password-stdin'] || f['new-password-stdin'])) {
      throw new UsageError('--admin-password-stdin cannot share stdin with the account passwords', { hint: 'Give the admin password with PDS_ADMIN_PASSWORD, --env-file or --kube-secret' })
    }
    if (settings.url && new URL(settings.url).origin === other) {
      throw new UsageError(`${f.from ? '--from' : '--to'} ${other} is the connected PDS itself`, { hint: 'The account moves between two PDSes: the connected one (--url) and another' })
    }
    const readOnly = f.status || f['dry-run']

    const connected = await this.client()
    const foreign = await this.anonymousClient(other, direction === 'in' ? 'the old PDS' : 'the new PDS')
    const plc = await this.anonymousClient(plcUrl, 'the PLC directory')
    const sides = direction === 'in' ? { old: foreign, new: connected } : { old: connected, new: foreign }
    if (settings.rateLimitBypassKey) connected.setRateLimitBypassKey(settings.rateLimitBypassKey)

    const { statePath, sweepTempStates } = await import('../../lib/migrate/state.js')
    const did = ref.kind === 'did' ? ref.did : await this.resolveAccount(ref.handle, sides, direction)
    const stateFile = statePath(this.config.configDir, did, direction, other)
    if (!readOnly) await sweepTempStates(this.config.configDir)
    const didWeb = did.startsWith('did:web:') ? await this.anonymousClient(`https://${decodeURIComponent(did.slice(8))}`, 'the did:web host') : undefined

    const { Migration, formatBytes } = await import('../../lib/migrate/migrate.js')
    const { MigrationFailedError } = await import('../../lib/migrate/report.js')
    const q = shellQuote
    const conn = this.connectionArgs()
    const rerun = (extra: string[] = []) =>
      [this.config.bin, 'account', 'migrate', did, direction === 'in' ? '--from' : '--to', other, ...conn, ...this.runArgs(), ...extra].map((a) => (a === 'CODE' ? a : q(a))).join(' ')
    const undoBeforeIdentity =
      direction === 'in'
        ? [this.config.bin, 'account', 'delete', did, '--yes', ...conn].map(q).join(' ')
        : [this.config.bin, '--url', other, 'account', 'delete', did, '--yes'].map(q).join(' ')
    const undoNote = direction === 'out' ? `(with the admin password of ${other})` : undefined
    const moveBack =
      direction === 'in'
        ? [this.config.bin, 'account', 'migrate', did, '--to', sides.old.url, ...conn].map(q).join(' ')
        : [this.config.bin, 'account', 'migrate', did, '--from', other, ...conn].map(q).join(' ')

    const tty = Boolean(process.stderr.isTTY)
    let progressOnScreen = false
    const clearProgress = () => {
      if (tty && progressOnScreen) process.stderr.write('\r\x1b[2K')
      progressOnScreen = false
    }
    // Piped, a progress line every 5 s (the first after 5 s: short copies need none).
    let lastLine = Date.now()
    const onProgress = (p: MigrateProgress) => {
      const rate = p.elapsedMs > 0 ? p.bytes / (p.elapsedMs / 1000) : 0
      let text: string
      if (p.kind === 'repo') text = `repo: ${formatBytes(p.bytes)} (${formatBytes(rate)}/s)`
      else {
        const left = Math.max(0, p.total - p.done)
        const eta = p.done > 0 && left > 0 ? ` ~${Math.ceil(((p.elapsedMs / p.done) * left) / 1000)} s left` : ''
        text = `blobs: ${p.done}/${p.total}, ${formatBytes(p.bytes)} (${formatBytes(rate)}/s), ${left} to go${eta}`
      }
      if (tty) {
        // The progress line is ours: no server text in it (numbers and our words only).
        process.stderr.write(`\r\x1b[2K${text}`)
        progressOnScreen = true
      } else if (Date.now() - lastLine > 5000) {
        lastLine = Date.now()
        this.out.status(text)
      }
    }

    const migration = new Migration(
      { ...sides, plc, didWeb, direction },
      {
        did,
        stateFile,
        handle,
        email,
        inviteCode,
        token,
        concurrency: f.concurrency,
        allowMissingBlobs: f['allow-missing-blobs'],
        signal: this.interruption.signal,
        oldPasswordGiven: f['password-stdin'],
        oldPassword: async () =>
          f['password-stdin']
            ? this.stdinSecret('old')
            : this.promptSecret(`Password of ${this.args.account} on ${sides.old.url}:`, "Pass the old account's password with --password-stdin"),
        newPassword: async () => {
          if (f['new-password-stdin']) return { password: await this.stdinSecret('new'), generated: false }
          const { generatePassword } = await import('../../lib/admin/passwords.js')
          return { password: generatePassword(), generated: true }
        },
        existingNewPassword: async (why) => {
          if (f['new-password-stdin']) return this.stdinSecret('new')
          if (!this.interactive) throw new UsageError(`${why}; its password is needed`, { hint: 'Pass it with --new-password-stdin' + (direction === 'in' ? `, or set a new one with \`${this.config.bin} account reset-password ${did}\`` : '') })
          return this.promptSecret(`Password of ${did} on ${sides.new.url} (${why}):`, 'Pass it with --new-password-stdin')
        },
        askToken: async (sentTo) => {
          if (!this.interactive) return undefined
          clearProgress()
          const answer = await this.promptText(`PLC token from the mail sent to ${sentTo ?? "the account's email"} (ABCDE-12345; empty to stop here):`, 'Pass --token CODE')
          return answer ? parseConfirmationCode(answer) : undefined
        },
        mintInviteCode:
          direction === 'in'
            ? async () => {
                const res = await connected.procedure('com.atproto.server.createInviteCode', { useCount: 1 }, 'admin')
                return res.code
              }
            : undefined,
        confirm: (plan) => this.confirmPlan(plan),
        commands: { rerun, undoBeforeIdentity, undoNote, moveBack },
        onStatus: (line) => {
          clearProgress()
          this.out.status(line)
        },
        onSecretOnce: (label, secret) => {
          clearProgress()
          this.out.secretOnce(label, secret)
        },
        onProgress,
      },
    )

    let report: MigrationReport
    try {
      report = f.status ? await migration.status() : f['dry-run'] ? await migration.plan() : await migration.run()
    } catch (err) {
      clearProgress()
      if (err instanceof MigrationFailedError) await this.render(err.report)
      throw err
    }
    clearProgress()
    await this.render(report)
    return report
  }

  /** The handle as the old PDS, the new one, or a saved migration knows it. */
  private async resolveAccount(handle: string, sides: { old: PdsClient; new: PdsClient }, direction: 'in' | 'out'): Promise<string> {
    const { resolveDid } = await import('../../lib/admin/accounts.js')
    for (const [client, admin] of [
      [sides.old, direction === 'out'],
      [sides.new, direction === 'in'],
    ] as const) {
      try {
        return await resolveDid(client, { kind: 'handle', handle }, { admin })
      } catch (err) {
        if (!(err instanceof NotFoundError || (err instanceof XrpcError && err.status === 400))) throw err
      }
    }
    const { listStates } = await import('../../lib/migrate/state.js')
    const saved = (await listStates(this.config.configDir)).find((s) => s.oldHandle === handle || s.handle === handle)
    if (saved) return saved.did
    throw new NotFoundError(`neither PDS resolves the handle ${handle}`, { hint: 'Name the account by its DID' })
  }

  /** The connection flags as given, for the commands printed to continue or undo. */
  private connectionArgs(): string[] {
    const f = this.flags
    const out: string[] = []
    for (const name of ['url', 'env-file', 'context', 'kube-namespace', 'kube-service', 'kube-pod', 'kube-context', 'kube-secret', 'kubectl'] as const) {
      const v = f[name]
      if (typeof v === 'string') out.push(`--${name}`, v)
    }
    if (f['kube-port'] !== undefined) out.push('--kube-port', String(f['kube-port']))
    if (f['allow-insecure-http']) out.push('--allow-insecure-http')
    if (f['admin-password-stdin']) out.push('--admin-password-stdin')
    return out
  }

  /** The migration's own flags as given (not --token, --status, --dry-run: they are per run). */
  private runArgs(): string[] {
    const f = this.flags
    const out: string[] = []
    if (f['plc-url']) out.push('--plc-url', f['plc-url'])
    if (f['password-stdin']) out.push('--password-stdin')
    if (f['new-password-stdin']) out.push('--new-password-stdin')
    if (f.concurrency !== 4) out.push('--concurrency', String(f.concurrency))
    if (f['allow-missing-blobs']) out.push('--allow-missing-blobs')
    if (f.timeout !== 30) out.push('--timeout', String(f.timeout))
    if (f.yes) out.push('--yes')
    if (f.json) out.push('--json')
    return out
  }

  /** The plan, then the question (or --yes): the irreversible steps are named before anything changes. */
  private async confirmPlan(plan: MigrationReport): Promise<void> {
    const todo = plan.steps.filter((s) => s.state !== 'done')
    this.out.status(`Plan for ${plan.did} (${plan.handle.old ?? '?'} → ${plan.handle.new ?? '?'}), from ${plan.from} to ${plan.to}:`)
    for (const s of plan.steps) this.out.status(`  ${s.state === 'done' ? 'done' : 'todo'}  ${s.id.padEnd(11)} ${s.detail}${s.irreversible && s.state !== 'done' ? '  [irreversible]' : ''}`)
    if (plan.identity.pointsAt === 'other' && plan.steps.find((s) => s.id === 'identity')?.state !== 'done') {
      // A proxy or port-forward in front of the old PDS is fine; a wrong --from is not.
      this.out.warn(`the DID document names ${plan.identity.pdsEndpoint} as the account's PDS, not ${plan.from}: make sure ${plan.from} reaches that PDS`)
    }
    const irreversible = todo.filter((s) => s.irreversible)
    if (irreversible.length) {
      this.out.status(
        `Irreversible: ${irreversible.map((s) => (s.id === 'identity' ? 'the PLC operation (afterwards only the new PDS can sign for the DID; going back is another migration)' : 'deactivating the old account (it stays on the old PDS, inactive)')).join('; ')}.`,
      )
    }
    await this.confirmOrYes(`Migrate ${plan.did} from ${plan.from} to ${plan.to}?`, this.flags.yes)
  }

  private async render(r: MigrationReport): Promise<void> {
    if (this.out.json) {
      await this.out.printJson(r)
      return
    }
    await this.out.printTable(r.steps, [
      { header: 'STEP', value: (s) => s.id, shrink: 'none' },
      { header: 'STATE', value: (s) => s.state, shrink: 'none' },
      { header: 'DETAIL', value: (s) => (s.irreversible && s.state !== 'done' ? `${s.detail} [irreversible]` : s.detail), shrink: 'wrap' },
    ])
    const yn = (v: boolean | null) => (v === null ? 'no account' : v ? 'active' : 'inactive')
    const b = r.counts.blobs
    this.out.status(
      `${r.did}: ${r.status}; the DID document points at ${r.identity.pointsAt === 'new' ? 'the new PDS' : r.identity.pointsAt === 'old' ? 'the old PDS' : (r.identity.pdsEndpoint ?? 'an unknown PDS')}` +
        ` (${r.identity.pdsEndpoint ?? '?'}); old: ${yn(r.active.old)}, new: ${yn(r.active.new)}` +
        (r.counts.records.new !== null ? `; records ${r.counts.records.old ?? '?'} old / ${r.counts.records.new} new` : '') +
        (b.expected !== null ? `; blobs ${b.imported ?? '?'} of ${b.expected} on the new PDS, ${b.missing ?? '?'} missing` : '') +
        (b.copied || r.counts.bytes ? `; copied now: ${b.copied} blobs, ${r.counts.bytes} bytes` : ''),
    )
    if (r.newPassword) await this.out.printFields([['new password (shown once)', r.newPassword]])
    for (const p of r.problems) this.out.warn(`${p.problem}. Fix: ${p.fix}`)
    if (r.next && r.status !== 'done') this.out.status(`Continue: ${r.next}`)
    if (r.undo && r.status !== 'done' && r.mode !== 'plan') this.out.status(`Undo: ${r.undo}`)
    this.out.status(`State: ${r.stateFile}`)
  }
}

/** A word as a POSIX shell reads it back. */
function shellQuote(word: string): string {
  return /^[A-Za-z0-9._:/@%+=,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}
