import * as Args from '../../base/args.js'
import * as Flags from '../../base/flags.js'
import { BaseCommand } from '../../base/base-command.js'
import { CheckFailedError } from '../../lib/errors.js'
import type { VerifyReport } from '../../lib/backup/verify.js'

export default class BackupVerify extends BaseCommand<typeof BackupVerify> {
  static override summary = 'Check a backup: file sums, every CAR and its commit signature, every blob against its CID'
  static override description = `Reads DIR/manifest.json and checks that every file it lists is there with its sha256; parses every CAR with @atproto/repo (each block against its CID), walks each repository from its head commit so that every record block must be present, and checks the commit signature against the account's signing key from its DID document (the PLC directory, or did:web). When a DID document cannot be reached that is a warning, not a pass. Every blob's bytes must hash to its CID.
Needs no PDS and no password. Exit 6 naming each damaged or missing file.`
  static override examples = [
    '<%= config.bin %> backup verify /backups/pds',
    '<%= config.bin %> backup verify /backups/pds --plc-url http://plc.internal:2582',
    '<%= config.bin %> backup verify /backups/pds --offline --json | jq .problems',
  ]
  static override args = {
    dir: Args.string({ description: 'The backup folder.', required: true }),
  }
  static override flags = {
    'plc-url': Flags.string({ description: 'The PLC directory for did:plc documents (env PDS_DID_PLC_URL).', env: 'PDS_DID_PLC_URL', default: 'https://plc.directory' }),
    offline: Flags.boolean({ description: 'Do not fetch DID documents: check everything but the signatures (reported as unchecked).' }),
  }

  async run(): Promise<VerifyReport> {
    const { parsePdsUrl } = await import('../../lib/pds/urls.js')
    const plcUrl = parsePdsUrl(this.flags['plc-url'], { what: 'PLC directory URL (--plc-url)' })
    const { verifyBackup } = await import('../../lib/backup/verify.js')
    this.out.status(`Verifying ${this.args.dir}…`)
    const tty = Boolean(process.stderr.isTTY)
    const report = await verifyBackup({
      dir: this.args.dir,
      plcUrl,
      offline: this.flags.offline,
      onProgress: (done, total) => {
        if (tty) this.out.progress(`${done}/${total} accounts checked`, done === total)
      },
    })
    for (const w of report.warnings) this.out.warn(w)
    if (this.out.json) await this.out.printJson(report)
    else if (!report.problems.length) {
      await this.out.printFields([
        ['accounts', report.accounts],
        ['repos checked', report.repos.checked],
        ['signatures verified', report.repos.signatureVerified],
        ['signatures unchecked', report.repos.signatureUnchecked],
        ['blobs checked', report.blobs.checked],
        ['files checked', report.files.checked],
      ])
    } else {
      await this.out.printTable(report.problems, [
        { header: 'FILE', value: (p) => p.file },
        { header: 'ACCOUNT', value: (p) => p.account },
        { header: 'PROBLEM', value: (p) => p.problem },
      ])
    }
    const summary = `${report.accounts} accounts, ${report.repos.checked} repos (${report.repos.signatureVerified} signatures verified, ${report.repos.signatureUnchecked} unchecked), ${report.blobs.checked} blobs, ${report.files.checked} files checked`
    if (!report.ok) {
      const files = [...new Set(report.problems.map((p) => p.file))]
      throw new CheckFailedError(
        `backup ${this.args.dir} is damaged: ${files.length} file${files.length === 1 ? '' : 's'} damaged or missing: ${files.slice(0, 10).join(', ')}${files.length > 10 ? `, and ${files.length - 10} more` : ''}. Run \`pdsctl backup ${this.args.dir}\` again to re-fetch what is missing (delete damaged files first)`,
      )
    }
    this.out.status(`OK: ${summary}`)
    return report
  }
}
