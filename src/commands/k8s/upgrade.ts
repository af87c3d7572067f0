import * as Flags from '../../base/flags.js'
import { PdsCommand, kubeDeploymentFlag } from '../../base/base-command.js'
import { CancelledError, PdsctlError, UsageError } from '../../lib/errors.js'
import type { UpgradeResult } from '../../lib/k8s/upgrade.js'
import type { runBackup as RunBackupFn } from '../../lib/backup/backup.js'

type RunBackup = typeof RunBackupFn

export default class K8sUpgrade extends PdsCommand<typeof K8sUpgrade> {
  static override summary = 'Upgrade the PDS Deployment to a new image, check it, roll back on failure'
  static override description = `The \`pdsadmin update\` of Kubernetes. Reads the PDS Deployment (--kube-deployment, else named like the Service, else the one the Service selects), shows its image tag and the PDS version it runs (what the PDS reports on /xrpc/_health, read through the image's tag scheme: tag 0.4.5026 is PDS 0.5.26; a 0.4.x PDS from npm reports none, then the tag's), and compares PDS versions, never tag strings. A target older than what runs is refused before anything changes (exit 2), and so is a tag whose version cannot be told (0.4, latest, sha-…), unless --allow-downgrade, which then asks you to type the tag on a terminal (--yes does not confirm a downgrade). With --image-tag TAG:
  1. sets the image on the running Deployment (kubectl set image: your manifests are never rewritten; update them afterwards),
  2. waits for kubectl rollout status (--rollout-timeout),
  3. checks a new pod through its own port-forward: /xrpc/_health reports exactly what the new tag's image reports (its tag), else (no version reported) the pod runs the new image; a pod still reporting the old version fails; and sync.listRepos answers,
  4. on any failure: kubectl rollout undo, waits, and says which step failed, kubectl's words, and the state after the rollback (exit 1; 7 when kubectl itself failed).
Without --image-tag it says which tag it would use and why (the newest official tag pdsctl knows of) and changes nothing unless --yes; when that is not newer than what runs it says so and changes nothing. Nothing to do on a Deployment that is not healthy (replicas missing, a pod crash-looping) exits 6 with what is wrong. Asks before changing anything (or --yes); --dry-run prints the plan. Take a backup first: --backup DIR runs \`pdsctl backup DIR\` before the patch.
JSON: {deployment, namespace, from: {image, tag, version, reported}, to: {image, tag, version, reported}, direction, steps: [{step, status, detail}], rolledBack, dryRun, tagSource} (README).`
  static override examples = [
    '<%= config.bin %> k8s upgrade --kube-namespace bluesky --kube-service bluesky',
    '<%= config.bin %> k8s upgrade --kube-namespace bluesky --kube-service bluesky --image-tag 0.4.5026 --dry-run',
    '<%= config.bin %> k8s upgrade --context home --image-tag 0.4.5026 --backup ~/pds-backups --yes',
  ]
  static override flags = {
    'image-tag': Flags.string({ description: 'The new image tag (same repository as the running image).' }),
    yes: Flags.boolean({ description: 'Do not ask; without --image-tag, use the newest tag pdsctl knows of. Does not confirm a downgrade.' }),
    'allow-downgrade': Flags.boolean({ description: 'Let a move to an older PDS version (or to a tag whose version cannot be told) go on, once you type the tag on a terminal.' }),
    'dry-run': Flags.boolean({ description: 'Print the plan; change nothing.' }),
    'rollout-timeout': Flags.integer({ description: 'Seconds to wait for the rollout (and for the rollback).', default: 300, min: 1 }),
    backup: Flags.string({ description: 'Back up every account to DIR (pdsctl backup) before changing anything.' }),
    'kube-deployment': kubeDeploymentFlag,
  }

  async run(): Promise<UpgradeResult> {
    const f = this.flags
    const settings = await this.settings()
    const workload = await this.kubeWorkload('k8s upgrade', f['kube-deployment'])
    const { checkImageTag, upgradePds, UpgradeFailedError } = await import('../../lib/k8s/upgrade.js')
    if (f['image-tag'] !== undefined) checkImageTag(f['image-tag'])
    if (f.backup !== undefined && !f.backup.trim()) throw new UsageError('--backup needs a directory')
    if (f.backup && f['dry-run']) throw new UsageError('--backup and --dry-run cannot be used together', { hint: 'A dry run changes nothing; run `pdsctl backup DIR` on its own' })
    let runBackup: RunBackup | undefined
    if (f.backup) {
      // Loaded only for --backup.
      runBackup = (await import('../../lib/backup/backup.js')).runBackup
    }
    const backupDir = f.backup
    const willChange = !f['dry-run'] && (f['image-tag'] !== undefined || f.yes)
    // Between the patch and a settled end (checked, or rolled back) the cluster is mid-change:
    // if pdsctl is stopped there (Ctrl-C, SIGTERM), say so and how to undo it.
    let midChange: string | undefined
    let planned: UpgradeResult | undefined
    this.onCleanup(async () => {
      // Straight to stderr: on a signal the output is silenced, and this must still be said.
      if (midChange) process.stderr.write(`Warning: ${midChange}\n`)
    })
    try {
      const result = await upgradePds(
        {
          ...workload,
          imageTag: f['image-tag'],
          useKnownTag: f.yes ?? false,
          allowDowngrade: f['allow-downgrade'] ?? false,
          dryRun: f['dry-run'] ?? false,
          rolloutTimeoutS: f['rollout-timeout'],
          timeoutMs: settings.timeoutMs,
          forwardTimeoutS: settings.kube?.timeoutS ?? 30,
        },
        {
          status: (line) => this.out.status(line),
          onStep: (s) => {
            if (s.step === 'set-image' && s.status === 'ok' && planned) {
              midChange = `stopped after the image was set: the rollout goes on in the cluster without pdsctl's checks. Look with \`${this.config.bin} k8s status\`; undo with \`kubectl rollout undo deployment/${planned.deployment} -n ${planned.namespace}\``
            }
          },
          confirm: async (plan) => {
            planned = plan
            if (!backupDir) this.out.status(`Take a backup first: \`${this.config.bin} backup DIR\`, or re-run with --backup DIR.`)
            await this.confirmOrYes(`Upgrade Deployment ${plan.deployment} in ${plan.namespace} from ${plan.from.image} to ${plan.to.image}?`, f.yes)
          },
          // A downgrade is confirmed by typing its tag: --yes alone must not do it (a script
          // that passes --yes everywhere), nor a reflexive "y".
          confirmDowngrade: async (plan, why) => {
            planned = plan
            if (!this.interactive) {
              throw new UsageError(`--allow-downgrade needs its confirmation typed on a terminal, and pdsctl is not running interactively: ${why}`, {
                hint: `Run it on a terminal and type ${plan.to.tag} when asked; --yes does not confirm a downgrade`,
              })
            }
            this.out.warn(`${why}.`)
            if (!backupDir) this.out.status(`Take a backup first: \`${this.config.bin} backup DIR\`, or re-run with --backup DIR.`)
            const typed = await this.promptText(`To move Deployment ${plan.deployment} in ${plan.namespace} from ${plan.from.image} to ${plan.to.image}, type the new tag (${plan.to.tag}):`, '--allow-downgrade needs a terminal')
            if (typed !== plan.to.tag) throw new CancelledError(`cancelled: "${typed}" is not ${plan.to.tag}; nothing was changed`)
          },
          backup: runBackup && backupDir
            ? async () => {
                this.out.status(`Backing up every account to ${backupDir}…`)
                const summary = await runBackup(await this.client(), {
                  dir: backupDir,
                  signal: this.interruption.signal,
                  rateLimitBypassKey: (await this.settings()).rateLimitBypassKey,
                  pdsctlVersion: this.config.version,
                })
                const errors = Array.isArray(summary?.errors) ? summary.errors.length : 0
                if (errors) throw new PdsctlError(`the backup to ${backupDir} had ${errors} failed account(s)`, { hint: `Look at \`${this.config.bin} backup ${backupDir}\` first` })
                return `every account backed up to ${backupDir}${typeof summary?.accounts === 'number' ? ` (${summary.accounts} accounts)` : ''}`
              }
            : undefined,
        },
      )
      midChange = undefined
      await this.print(result)
      if (result.dryRun) this.out.status('Dry run: nothing was changed.')
      else if (!willChange && result.steps.some((s) => s.status === 'planned')) {
        this.out.status(`No --image-tag: pdsctl would use ${result.tagSource.tag}, ${result.tagSource.why}. Nothing was changed. Re-run with --image-tag ${result.tagSource.tag} (or another tag), or with --yes to use it.`)
      } else if (result.steps.some((s) => s.step === 'set-image' && s.status === 'skipped')) {
        this.out.status(`Nothing to do: ${result.steps.find((s) => s.step === 'set-image')?.detail}.`)
      } else {
        const version = result.to.version ? ` (PDS ${result.to.version}${result.to.reported && result.to.reported !== result.to.version ? `, reported as ${result.to.reported}` : ''})` : ''
        this.out.status(`Upgraded ${result.deployment} from ${result.from.image} to ${result.to.image}${version}. Update your manifests to ${result.to.image} too, or the next \`kubectl apply\` undoes this.`)
      }
      return result
    } catch (err) {
      // upgradePds ends only once things are settled (checked, or rolled back and waited for).
      midChange = undefined
      if (err instanceof UpgradeFailedError) await this.print(err.result)
      throw err
    }
  }

  private async print(r: UpgradeResult): Promise<void> {
    if (this.out.json) return this.out.printJson(r)
    await this.out.printTable(r.steps, [
      { header: 'STEP', value: (s) => s.step },
      { header: 'STATUS', value: (s) => s.status },
      { header: 'DETAIL', value: (s) => s.detail },
    ])
  }
}
