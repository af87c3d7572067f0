import * as Flags from '../../base/flags.js'
import { PdsCommand } from '../../base/base-command.js'
import { UsageError } from '../../lib/errors.js'
import type { ConfigReport, EnvSet, LineChoice } from '../../lib/selfhost/configCheck.js'

export default class ConfigCheck extends PdsCommand<typeof ConfigCheck> {
  static override summary = "Check a PDS's environment against the variables the PDS reads (0.4 and 0.5)"
  static override description = `Reads the env file (--env-file / PDS_ENV_FILE), or the Kubernetes Secret (--kube-secret NAME, every key; --kube-namespace and --kube-context say where) together with the env of the Deployment in a kustomize folder (--manifests DIR, as \`pdsctl k8s manifests\` writes it), and checks:
- every PDS_* key against the variables @atproto/pds reads (0.4.217: 98, 0.5.x: 93; taken from its own environment reader): unknown keys, misspellings (with a did-you-mean), keys 0.5 removed (PDS_DARK_COLOR, PDS_LIGHT_COLOR, *_HUE, *_CONTRAST);
- the required ones: hostname, JWT secret, admin password, rotation key, data directory, blobstore;
- malformed values: booleans, integers (units like "50mb" are read as 50), URLs, DIDs, the rotation key's 64 hex, the SMTP URL form (scheme vs port, unencoded password characters), half-configured mailers;
- risky choices: open sign-up without hCaptcha (and without email), rate limits off, dev mode, SSRF protection off.
A Secret read without --manifests is checked for what a Secret holds only. Secret values are never printed. Exits 6 when a check fails.
JSON: {source, line: "0.4"|"0.5"|"both", checks: [{id, status: "pass"|"warn"|"fail", message, fix?}]}.`
  static override examples = [
    '<%= config.bin %> config check --env-file /pds/pds.env',
    '<%= config.bin %> config check --kube-secret pds-secrets --manifests ./pds-manifests --pds-line 0.5',
    "<%= config.bin %> config check --env-file pds.env --json | jq '.checks[] | select(.status != \"pass\")'",
  ]
  static override flags = {
    manifests: Flags.string({ description: 'The kustomize folder with the PDS Deployment (its env and Secret references).' }),
    'pds-line': Flags.string({ description: 'The PDS line to check against.', options: ['0.4', '0.5', 'both'], default: 'both' }),
  }

  async run(): Promise<ConfigReport> {
    const lib = await import('../../lib/selfhost/configCheck.js')
    // Not this.settings(): a broken PDS_HOSTNAME must be reported as a finding, not stop the
    // check while a PDS URL is derived from it (and no PDS is contacted here).
    const { parseSecretRef } = await import('../../lib/k8s/secret.js')
    const secretName = this.flags['kube-secret'] ? parseSecretRef(this.flags['kube-secret']).name : undefined
    const envFilePath = this.flags['env-file'] ?? (secretName || this.flags.manifests ? undefined : process.env.PDS_ENV_FILE)
    const kube = { namespace: this.flags['kube-namespace'], context: this.flags['kube-context'], kubectl: this.flags.kubectl ?? process.env.PDSCTL_KUBECTL }
    if (this.flags['env-file'] && (secretName || this.flags.manifests)) {
      throw new UsageError('--env-file cannot be combined with --kube-secret or --manifests', { hint: 'Check one configuration at a time' })
    }
    const line = this.flags['pds-line'] as LineChoice
    let env: EnvSet
    let source: string
    let partial = false
    const notes: string[] = []
    if (secretName || this.flags.manifests) {
      const secrets: Record<string, Record<string, string>> = {}
      if (secretName) {
        const { readKubeSecretData } = await import('../../lib/k8s/secretData.js')
        secrets[secretName] = await readKubeSecretData({ name: secretName, ...kube, env: process.env, onDebug: this.debugLog })
      }
      if (this.flags.manifests) {
        const m = await lib.readManifestsEnv(this.flags.manifests)
        const r = lib.resolveManifestEnv(m.entries, secrets)
        env = r.env
        notes.push(...m.notes, ...r.notes)
        source = `${this.flags.manifests}${secretName ? ` with Secret ${secretName}` : ''}`
      } else {
        const { SECRET_KEYS } = await import('../../lib/selfhost/secrets.js')
        env = lib.envSetFromSecret(secretName!, secrets[secretName!], SECRET_KEYS)
        partial = true
        source = `Secret ${secretName}`
        this.out.status(`Only the Secret was given: checking what a Secret holds (pass --manifests DIR for the Deployment's env too).`)
      }
    } else if (envFilePath) {
      const { readEnvFile } = await import('../../lib/cli/envFile.js')
      env = lib.envSetFromMap(await readEnvFile(envFilePath), envFilePath)
      source = envFilePath
    } else {
      throw new UsageError('no configuration to check', { hint: 'Pass --env-file /pds/pds.env, or --kube-secret NAME (with --manifests DIR)' })
    }
    const report = lib.checkConfig(env, { source, line, partial })
    for (const n of notes) report.checks.push({ id: 'manifests', status: /will not start/.test(n) ? 'fail' : 'warn', message: n })
    return this.reportChecks(report, (ids) => `${ids.length} configuration check${ids.length === 1 ? '' : 's'} failed: ${ids.join(', ')}`)
  }
}
