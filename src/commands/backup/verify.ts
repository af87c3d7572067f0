import * as Args from '../../base/args.js'
import * as Flags from '../../base/flags.js'
import { BaseCommand } from '../../base/base-command.js'
import { CheckFailedError } from '../../lib/errors.js'
import type { VerifyReport } from '../../lib/backup/verify.js'

export default class BackupVerify extends BaseCommand<typeof BackupVerify> {
  static override summary = 'Check a backup: file sums, every CAR and its commit signature, every blob against its CID'
  static override description = `Reads DIR/manifest.json and checks that every file it lists is there with its sha256; parses every CAR with @atproto/repo (each block against its CID), walks each repository from its head commit so that every record block must be present, and checks the commit signature against the account's signing key from its DID document (the PLC directory, or did:web). When a DID document cannot be reached that is a warning, not a pass. Every blob's bytes must hash to its CID.
The manifest is not trusted: an entry whose DID, rev or CID does not parse, or that names a path pdsctl does not write, is reported as a problem of manifest.json and nothing it names is read; no file is read through a symbolic link (the link is the problem). Every file named is inside DIR.
Needs no PDS and no password. Exit 6 naming each damaged, missing or untrusted file.`
  static override examples = [
    '<%= config.bin %> backup verify /backups/pds',
    '<%= config.bin %> backup verify /backups/pds --plc-url http://plc.internal:2582',
    '<%= config.bin %> backup verify /backups/pds --offline --json | jq .problems',
  ]
  static override args = {
    dir: Args.string({ description: 'The backup folder.', required: true }),
  }
  static override flags = {
    'plc-url': Flags.string({ description: 'The PLC directory for did:plc documents (default PDS_DID_PLC_URL from the environment or --env-file, else https://plc.directory).' }),
    'env-file': Flags.string({ description: "Read PDS_DID_PLC_URL from the PDS's env file (as data, never executed) (env PDS_ENV_FILE)." }),
    offline: Flags.boolean({ description: 'Do not fetch DID documents: check everything but the signatures (reported as unchecked).' }),
  }

  async run(): Promise<VerifyReport> {
    const { plcDirectoryUrl } = await import('../../lib/pds/urls.js')
    // No connection here (verify needs no PDS): PDS_DID_PLC_URL read as the connection settings read it.
    const { envOrFileValue, readEnvFile } = await import('../../lib/cli/envFile.js')
    const envFilePath = this.flags['env-file'] ?? (process.env.PDS_ENV_FILE || undefined)
    const envFile = envFilePath ? { path: envFilePath, values: await readEnvFile(envFilePath) } : undefined
    const plcUrl = plcDirectoryUrl(this.flags['plc-url'], envOrFileValue('PDS_DID_PLC_URL', process.env, envFile))
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
      // Every file a problem names is inside DIR (verifyBackup never names another).
      const files = [...new Set(report.problems.map((p) => p.file))]
      const steps: string[] = []
      if (report.untrusted) steps.push('manifest.json is not the one pdsctl wrote (or is damaged): do not restore from this folder; take a new backup into a new folder')
      if (report.files.links) steps.push('remove the symbolic links named (pdsctl never follows them)')
      if (report.files.damaged || report.files.missing) {
        steps.push(`run \`pdsctl backup ${this.args.dir}\` again to re-fetch what is missing${report.files.damaged ? ' (move the damaged files named above out of the folder first)' : ''}`)
      }
      throw new CheckFailedError(
        `backup ${this.args.dir} is damaged: ${files.length} file${files.length === 1 ? '' : 's'} damaged or missing: ${files.slice(0, 10).join(', ')}${files.length > 10 ? `, and ${files.length - 10} more` : ''}. ${steps.join('; ')}`,
      )
    }
    this.out.status(`OK: ${summary}`)
    return report
  }
}
