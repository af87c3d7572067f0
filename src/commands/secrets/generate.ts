import * as Flags from '../../base/flags.js'
import { BaseCommand } from '../../base/base-command.js'
import { UsageError } from '../../lib/errors.js'
import { checkSecretTarget, generateSecrets, renderSecrets, writeSecretFile, type GeneratedSecrets, type SecretsFormat } from '../../lib/selfhost/secrets.js'

export default class SecretsGenerate extends BaseCommand<typeof SecretsGenerate> {
  static override summary = "Generate a PDS's secrets: JWT secret, admin password, PLC rotation key"
  static override description = `As the official installer does: 16 random bytes as hex for the JWT secret and the admin password, and a secp256k1 PLC rotation key (64 hex characters; its public did:key is printed too so you can recognise it later). SMTP settings by flag.
Formats: env (a pds.env fragment), k8s (a Secret with keys adminPassword, jwtSecret, plcRotationKey, smtpServer, smtpFromAddress, base64-encoded), json.
Written to stdout, or with --output to a new file created with mode 0600. Never commit it; seal it with kubeseal.
JSON (--format json): {jwtSecret, adminPassword, plcRotationKey, rotationKeyDidKey, smtpServer?, smtpFromAddress?}.`
  static override examples = [
    '<%= config.bin %> secrets generate --format k8s --namespace pds --output secret.yaml',
    '<%= config.bin %> secrets generate --smtp-url smtps://user:pass@smtp.example.com:465 --from-address pds@example.com >> pds.env',
  ]
  static override flags = {
    format: Flags.string({ description: 'Output format.', options: ['env', 'k8s', 'json'], default: 'env' }),
    output: Flags.string({ char: 'o', description: 'Write to this file (created with mode 0600) instead of stdout.' }),
    force: Flags.boolean({ description: 'Replace --output if it exists (a regular file; never through a symbolic link).' }),
    'smtp-url': Flags.string({ description: 'SMTP URL for PDS_EMAIL_SMTP_URL, e.g. smtps://user:pass@host:465.' }),
    'from-address': Flags.string({ description: 'PDS_EMAIL_FROM_ADDRESS.' }),
    name: Flags.string({ description: 'Secret name (k8s format).', default: 'pds-secrets' }),
    namespace: Flags.string({ description: 'Secret namespace (k8s format).' }),
  }

  async run(): Promise<GeneratedSecrets> {
    const f = this.flags
    const format = (f.json ? 'json' : f.format) as SecretsFormat
    if (f.json && f.format !== 'env' && f.format !== 'json') throw new UsageError('--json and --format cannot be used together')
    // Fail before generating: a rotation key printed and then not written is a key lost.
    if (f.output) await checkSecretTarget(f.output, { force: f.force })
    const secrets = await generateSecrets({ smtpUrl: f['smtp-url'], fromAddress: f['from-address'] })
    const text = await renderSecrets(secrets, format, { name: f.name, namespace: f.namespace })
    if (f.output) {
      await writeSecretFile(f.output, text, { force: f.force })
      this.out.status(`Wrote ${f.output} (mode 0600). Never commit it; seal it with kubeseal or keep it in a secret manager.`)
    } else {
      await this.out.write(text)
      if (process.stdout.isTTY) this.out.warn('these are secrets: never commit them; seal a Secret with kubeseal')
    }
    this.out.status(`PLC rotation key (public): ${secrets.rotationKeyDidKey}`)
    return secrets
  }
}
