// `pdsctl k8s upgrade`: the `pdsadmin update` of Kubernetes. Reads the running Deployment
// and what its PDS reports, compares PDS versions (never tag strings: the 0.5 line is
// published under 0.4.50NN tags, see imageTags.ts) and refuses a downgrade before anything
// changes; then sets the new image on it (`kubectl set image`: a patch of the live object,
// the operator's manifests are never touched), waits for `kubectl rollout status`, and
// checks the new pod through its own port-forward (/xrpc/_health must report exactly what
// the new tag's image reports, else the pod must run the new image; sync.listRepos limit
// 1). Any failure after the patch is rolled back with `kubectl rollout undo`, waited for,
// and described step by step.
import { KubeError, PdsctlError, UsageError, ExitCode, type ExitCodeValue } from '../errors.js'
import { KNOWN_PDS_IMAGE, compareVersions, describeVersion, imageTagInfo, parseImageRef, parseImageTag, pdsVersionOfReport } from './imageTags.js'
import { execKubectl, kubectlArgs, kubectlHint, kubectlOk, kubectlWords, type KubectlAccess } from './kubectl.js'
import type { PortForwardOptions } from './portForward.js'
import { findProblems, pdsContainer, probeThroughForward, readCluster, readyPod, type ClusterSnapshot, type ClusterTarget } from './status.js'

/** The newest official image pdsctl knows of (one constant, shared with `k8s manifests`): see imageTags.ts. */
export { KNOWN_PDS_IMAGE }

export type StepStatus = 'ok' | 'failed' | 'skipped' | 'planned' | 'warning'
export interface UpgradeStep {
  step: string
  status: StepStatus
  detail: string
}

/** One side of the upgrade: the image, its tag, the @atproto/pds version, what the PDS said. */
export interface VersionSide {
  image: string
  tag: string | null
  /**
   * The @atproto/pds version. from: what the PDS reports (0.4.5026 read as 0.5.26), else its
   * tag's; to: its tag's (null for a floating or unknown tag), then what the new pod reported.
   */
  version: string | null
  /** What /xrpc/_health said, as sent (null: nothing, or not asked). */
  reported: string | null
}

/** upgrade: to a newer PDS; same: the same PDS version (a re-pin); downgrade: older; unknown: one side's version cannot be told. */
export type Direction = 'upgrade' | 'same' | 'downgrade' | 'unknown'

/** The documented `k8s upgrade --json` shape. */
export interface UpgradeResult {
  deployment: string
  namespace: string
  from: VersionSide
  to: VersionSide
  direction: Direction
  steps: UpgradeStep[]
  rolledBack: boolean
  dryRun: boolean
  /** Where the new tag came from: the flag, or pdsctl's known newest tag (with why). */
  tagSource: { tag: string; from: 'flag' | 'known'; why: string }
}

/** The upgrade failed (or was refused); the result (with its steps) has been printed as the command's output. */
export class UpgradeFailedError extends PdsctlError {
  override readonly exitCode: ExitCodeValue
  override readonly reported = true
  constructor(
    message: string,
    exitCode: ExitCodeValue,
    /** What was done, step by step: the command prints it before the error line. */
    readonly result: UpgradeResult,
    opts: { hint?: string } = {},
  ) {
    super(message, opts)
    this.exitCode = exitCode
  }
}

const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/

export function checkImageTag(tag: string): void {
  if (!IMAGE_TAG.test(tag)) throw new UsageError(`--image-tag "${tag}" is not an image tag`, { hint: `A tag is letters, digits, '_', '.' and '-' (at most 128), e.g. ${KNOWN_PDS_IMAGE.tag}` })
}

/**
 * Why a move to an older PDS is refused. Checked against @atproto/pds: it runs its
 * migrations forward when it starts (Kysely, migrateToLatestOrThrow) and never back, and
 * Kysely throws "corrupted migrations: previously executed migration … is missing" when the
 * database holds one the code does not know.
 */
export function downgradeWhy(from?: string, to?: string): string {
  const fromLine = from?.split('.').slice(0, 2).join('.')
  const toLine = to?.split('.').slice(0, 2).join('.')
  const lines = fromLine && toLine && fromLine !== toLine ? ` (from the ${fromLine} line back to ${toLine})` : ''
  return `the PDS migrates its databases forward when it starts and never back, so an older PDS on databases a newer one has written fails to start once they hold a migration it does not know ("corrupted migrations"), or runs on data it was not written for${lines}`
}

export interface UpgradeOptions extends ClusterTarget {
  /** The PDS port on the Service (3000). */
  port: number
  imageTag?: string
  /** Without imageTag: go ahead with KNOWN_PDS_IMAGE (the operator said --yes); else only the plan. */
  useKnownTag?: boolean
  /**
   * --allow-downgrade: a move to an older PDS version, or one whose version cannot be told
   * (a floating or unknown tag, an unknown running version), goes on after
   * hooks.confirmDowngrade; without it such a move is refused before anything changes.
   */
  allowDowngrade?: boolean
  dryRun: boolean
  rolloutTimeoutS: number
  /** Per request / kubectl get deadline. */
  timeoutMs: number
  /** Seconds a port-forward waits for its pod. */
  forwardTimeoutS: number
  /** The command's interruption (SIGINT/SIGTERM): requests in flight end at once. */
  signal?: AbortSignal
}

export interface UpgradeHooks {
  status(line: string): void
  /** Each step as it is recorded (the command tracks whether the cluster is mid-change). */
  onStep?(step: UpgradeStep): void
  /** Asked once the plan is known and before anything changes; throws to stop. */
  confirm(plan: UpgradeResult): Promise<void>
  /**
   * Asked instead of confirm when --allow-downgrade lets an older (or unknown) version
   * through; must not be skippable by --yes alone. Throws to stop. Without it such a move is refused.
   */
  confirmDowngrade?(plan: UpgradeResult, why: string): Promise<void>
  /** Runs the backup (--backup DIR) before the patch; returns what to record. */
  backup?: () => Promise<string>
}

/** What the PDS said and which pod it was, before or after. */
interface Probe {
  version: string | null
  detail: string
  ok: boolean
}

/** The value the PDS container sets PDS_VERSION to (it then reports that, whatever its image); undefined when unset. */
export function pdsVersionOverride(rawDeployment: Record<string, unknown> | null): string | undefined {
  const template = (rawDeployment?.spec as { template?: unknown } | undefined)?.template
  const c = template ? pdsContainer(template as Record<string, unknown>) : null
  const env = Array.isArray(c?.env) ? (c.env as Array<{ name?: unknown; value?: unknown; valueFrom?: unknown }>) : []
  const e = env.find((x) => x?.name === 'PDS_VERSION')
  if (!e) return undefined
  return typeof e.value === 'string' ? e.value : '(from a reference)'
}

const directionWords: Record<Direction, string> = {
  upgrade: 'an upgrade',
  same: 'the same PDS version (the image changes, the PDS does not)',
  downgrade: 'a DOWNGRADE',
  unknown: 'cannot tell whether this is an upgrade',
}

export async function upgradePds(o: UpgradeOptions, hooks: UpgradeHooks): Promise<UpgradeResult> {
  if (o.imageTag !== undefined) checkImageTag(o.imageTag)
  const access: KubectlAccess = { kubectl: o.kubectl, context: o.context, namespace: o.namespace, env: o.env, onDebug: o.onDebug }
  const steps: UpgradeStep[] = []
  const step = (s: string, status: StepStatus, detail: string) => {
    steps.push({ step: s, status, detail })
    hooks.onStep?.({ step: s, status, detail })
    if (status !== 'planned') hooks.status(`${status === 'ok' ? '✓' : status === 'failed' ? '✗' : status === 'warning' ? '!' : '-'} ${s}: ${detail}`)
  }

  // 1. The Deployment as it runs now.
  const before = await readCluster(o, o.timeoutMs)
  const dep = before.deployment
  if (!dep || !before.rawDeployment) {
    const wanted = o.deployment ?? o.service
    throw new KubeError(`no Deployment${wanted ? ` ${wanted}` : ''} in namespace ${before.namespace}`, {
      hint: `Name it with --kube-deployment (\`kubectl get deployments -n ${before.namespace}\`)`,
    })
  }
  if (!dep.image || !dep.container) throw new KubeError(`Deployment ${dep.name} has no container image to upgrade`)
  const namespace = before.namespace
  const fromImage = dep.image
  const fromTag = imageTagInfo(fromImage)
  step('read-deployment', 'ok', `Deployment ${dep.name} in ${namespace}: container ${dep.container} runs ${fromImage}; ${dep.replicas.available}/${dep.replicas.desired} available`)

  const tagSource: UpgradeResult['tagSource'] = o.imageTag
    ? { tag: o.imageTag, from: 'flag', why: 'given with --image-tag' }
    : { tag: KNOWN_PDS_IMAGE.tag, from: 'known', why: `the newest official PDS image tag pdsctl knows of (${KNOWN_PDS_IMAGE.repository}:${KNOWN_PDS_IMAGE.tag} = PDS ${KNOWN_PDS_IMAGE.pdsVersion}, recorded ${KNOWN_PDS_IMAGE.recorded}; ${KNOWN_PDS_IMAGE.source})` }
  const toTag = parseImageTag(tagSource.tag)
  const toImage = `${parseImageRef(fromImage).repository}:${tagSource.tag}`
  const result: UpgradeResult = {
    deployment: dep.name,
    namespace,
    from: { image: fromImage, tag: fromTag.tag || null, version: null, reported: null },
    to: { image: toImage, tag: tagSource.tag, version: toTag.pdsVersion, reported: null },
    direction: 'unknown',
    steps,
    rolledBack: false,
    dryRun: Boolean(o.dryRun),
    tagSource,
  }
  const fwdBase: PortForwardOptions = {
    kubectl: o.kubectl,
    context: o.context,
    namespace,
    env: o.env,
    onDebug: o.onDebug,
    port: o.port,
    readyTimeoutMs: o.forwardTimeoutS * 1000 + 5000,
    podRunningTimeout: `${o.forwardTimeoutS}s`,
  }

  // 2. What the PDS reports now: the official image reports its tag (0.4.5026 is PDS 0.5.26),
  // a PDS run from npm its package's version, a 0.4.x one from npm nothing (then the tag's).
  const pre = await probe(before, fwdBase, o, undefined, false)
  step('health-before', pre.ok ? 'ok' : 'warning', pre.ok ? pre.detail : `${pre.detail}; the upgrade can still go on`)
  const override = pdsVersionOverride(before.rawDeployment)
  result.from.reported = pre.version
  const reportedMeans = pre.version && override === undefined ? pdsVersionOfReport(pre.version) : null
  result.from.version = reportedMeans ?? fromTag.pdsVersion
  const fromWords = reportedMeans
    ? `PDS ${result.from.version} (the pod reports ${pre.version}; image tag ${fromTag.tag || 'none'})`
    : result.from.version
      ? `PDS ${result.from.version} (from image tag ${fromTag.tag}; ${override !== undefined ? `the Deployment sets PDS_VERSION=${override}, so what the PDS reports says nothing of its image` : pre.version ? `the PDS reports "${pre.version}", not a version` : 'the PDS reports no version'})`
      : describeVersion(null, fromTag.tag || null)

  // 3. Versions, compared as versions (never as tag strings).
  const direction: Direction = !result.from.version || !result.to.version ? 'unknown' : (['downgrade', 'same', 'upgrade'] as const)[compareVersions(result.to.version, result.from.version) + 1]
  result.direction = direction
  const unknownWhy = !result.from.version
    ? `the running PDS's version cannot be told (${pre.version ? `it reports "${pre.version}"` : 'it reports none'}, and ${fromTag.why})`
    : !result.to.version ? toTag.why : ''
  step('versions', direction === 'downgrade' || direction === 'unknown' ? 'warning' : 'ok', `${fromWords} → ${describeVersion(result.to.version, result.to.tag)}: ${directionWords[direction]}${unknownWhy ? ` (${unknownWhy})` : ''}`)

  // 4. Nothing to change: say so, but never "nothing to do" about a Deployment that is not healthy.
  const nothingToDo = (why: string): UpgradeResult => {
    step('set-image', 'skipped', why)
    const problems = findProblems(before, o)
    if (!pre.ok && !problems.some((p) => p.startsWith('pod '))) problems.push(`the PDS's health check failed: ${pre.detail}`)
    if (problems.length) {
      step('deployment-health', 'failed', problems.join('; '))
      throw new UpgradeFailedError(`nothing to upgrade (${why}), but Deployment ${dep.name} is not healthy: ${problems.join('; ')}`, ExitCode.CHECK_FAILED, result, {
        hint: `See why with \`kubectl describe deployment/${dep.name} -n ${namespace}\` and \`kubectl logs deployment/${dep.name} -n ${namespace} --previous\``,
      })
    }
    return result
  }
  if (toImage === fromImage) return nothingToDo(`${dep.name} already runs ${toImage}`)
  if (tagSource.from === 'known' && (direction === 'same' || direction === 'downgrade')) {
    return nothingToDo(`nothing newer is known: pdsctl knows of ${KNOWN_PDS_IMAGE.repository}:${KNOWN_PDS_IMAGE.tag} (PDS ${KNOWN_PDS_IMAGE.pdsVersion}, recorded ${KNOWN_PDS_IMAGE.recorded}), and ${dep.name} runs ${describeVersion(result.from.version, result.from.tag)}`)
  }

  // 5. Never a downgrade (nor a move pdsctl cannot compare) unless asked for, before anything changes.
  const wantsChange = o.imageTag !== undefined || Boolean(o.useKnownTag)
  let downgradeReason: string | undefined
  if (direction === 'downgrade') downgradeReason = `${describeVersion(result.to.version, result.to.tag)} is older than the running ${describeVersion(result.from.version, result.from.tag)}: ${downgradeWhy(result.from.version!, result.to.version!)}`
  else if (direction === 'unknown') downgradeReason = `pdsctl cannot tell whether ${toImage} is older than what runs: ${unknownWhy}, and a downgrade is dangerous: ${downgradeWhy()}`
  if (downgradeReason && wantsChange && !o.allowDowngrade) {
    step('set-image', 'skipped', 'refused: nothing was changed')
    throw new UpgradeFailedError(
      direction === 'downgrade'
        ? `refusing to downgrade ${dep.name} from ${describeVersion(result.from.version, result.from.tag)} to ${describeVersion(result.to.version, result.to.tag)}: ${downgradeWhy(result.from.version!, result.to.version!)}; nothing was changed`
        : `refusing to set ${dep.name} to ${toImage}: ${unknownWhy}, so pdsctl cannot tell whether it is a downgrade (which breaks the databases); nothing was changed`,
      ExitCode.USAGE,
      result,
      {
        hint: direction === 'downgrade'
          ? 'To go back, restore a backup taken before the upgrade; to move anyway, re-run with --allow-downgrade (and type the tag to confirm, on a terminal)'
          : `Name a release tag (e.g. ${KNOWN_PDS_IMAGE.tag}), or re-run with --allow-downgrade (and type the tag to confirm, on a terminal)`,
      },
    )
  }

  const expected = override === undefined ? toTag.reports : null
  const plan = [
    ['set-image', `kubectl set image deployment/${dep.name} ${dep.container}=${toImage} (a patch of the running Deployment; your manifests are not changed: update them too)`],
    ['rollout', `kubectl rollout status deployment/${dep.name} --timeout=${o.rolloutTimeoutS}s`],
    ['health-after', `/xrpc/_health through a port-forward to a new pod: ${expected ? `version ${expected}, what the image of ${tagSource.tag} reports` : 'whatever it reports (it cannot be told from the tag)'}, else (no version reported) the pod's image`],
    ['list-accounts', 'com.atproto.sync.listRepos limit=1 answers'],
    ['rollback-if-failed', `kubectl rollout undo deployment/${dep.name}, then wait for it`],
  ] as const
  if (o.dryRun || !wantsChange) {
    for (const [s, d] of plan) step(s, 'planned', d)
    return result
  }

  if (downgradeReason) {
    if (!hooks.confirmDowngrade) throw new UsageError(`refusing to move ${dep.name} to ${toImage} without a confirmation: ${downgradeReason}`)
    await hooks.confirmDowngrade(result, downgradeReason)
  } else await hooks.confirm(result)
  if (hooks.backup) {
    try {
      step('backup', 'ok', await hooks.backup())
    } catch (err) {
      step('backup', 'failed', err instanceof PdsctlError ? err.message : String(err))
      throw new UpgradeFailedError(`the backup failed, so nothing was changed: ${err instanceof PdsctlError ? err.message : String(err)}`, err instanceof PdsctlError ? err.exitCode : ExitCode.SERVER, result)
    }
  }

  // 6. The patch.
  try {
    const out = await kubectlOk(`kubectl set image deployment/${dep.name}`, ['set', 'image', `deployment/${dep.name}`, `${dep.container}=${toImage}`], access, o.timeoutMs)
    step('set-image', 'ok', out.trim() || `image set to ${toImage}`)
  } catch (err) {
    if (!(err instanceof KubeError)) throw err
    step('set-image', 'failed', err.message)
    throw new UpgradeFailedError(`${err.message}; nothing was changed`, ExitCode.KUBE, result, { hint: err.hint })
  }

  // 7. The rollout, then the checks; any failure from here on is rolled back.
  let failure: { step: string; why: string; exit: ExitCodeValue } | undefined
  const rollout = await waitRollout(dep.name, access, o.rolloutTimeoutS)
  if (rollout.ok) step('rollout', 'ok', rollout.detail)
  else {
    step('rollout', 'failed', rollout.detail)
    failure = { step: 'rollout', why: rollout.detail, exit: rollout.kubectlBroke ? ExitCode.KUBE : ExitCode.SERVER }
  }
  if (!failure) {
    let post: Awaited<ReturnType<typeof probe>>
    try {
      post = await probe(await readCluster(o, o.timeoutMs), fwdBase, o, toImage, true)
    } catch (err) {
      if (!(err instanceof KubeError)) throw err
      post = { ok: false, version: null, detail: err.message }
    }
    if (!post.ok) {
      step('health-after', 'failed', post.detail)
      failure = { step: 'health-after', why: post.detail, exit: ExitCode.SERVER }
    } else {
      result.to.reported = post.version
      // The new pod must report exactly what an image of the new tag reports (its tag, for
      // every official release); the old version still reported is the old PDS answering.
      const wrong = post.version !== null && expected !== null && post.version !== expected
      if (wrong) {
        const why = post.version === pre.version
          ? `the new pod still reports the old version ${post.version}, not ${expected}`
          : `the PDS reports version ${post.version}, not ${expected} (what ${tagSource.tag} reports)`
        step('health-after', 'failed', `${post.detail}; ${why}`)
        failure = { step: 'health-after', why, exit: ExitCode.SERVER }
      } else {
        if (post.version && expected === null) result.to.version = (override === undefined ? pdsVersionOfReport(post.version) : null) ?? result.to.version
        const note = post.version
          ? override !== undefined ? `; the Deployment sets PDS_VERSION=${override}, so the pod's image was checked: ${toImage}` : expected === null ? `; ${tagSource.tag} floats, so any version is accepted` : ''
          : `; the PDS reports no version, and the pod runs ${toImage}`
        step('health-after', 'ok', `${post.detail}${note}`)
        if (post.accounts?.ok) step('list-accounts', 'ok', `sync.listRepos answered (${post.accounts.firstPage} on the first page of limit 1)`)
        else {
          const why = post.accounts?.error ?? 'sync.listRepos was not asked'
          step('list-accounts', 'failed', why)
          failure = { step: 'list-accounts', why, exit: ExitCode.SERVER }
        }
      }
    }
  }
  if (!failure) return result

  // 8. Roll back and say where things stand.
  const undo = await execKubectl(kubectlArgs(['rollout', 'undo', `deployment/${dep.name}`], access, Math.ceil(o.timeoutMs / 1000)), access, o.timeoutMs + 2000)
  if (undo.code !== 0 || undo.timedOut) {
    const words = kubectlWords(undo, o.timeoutMs + 2000)
    step('rollback', 'failed', words)
    throw new UpgradeFailedError(
      `the upgrade of ${dep.name} to ${toImage} failed at ${failure.step} (${failure.why}), and the rollback failed too: ${words}; the Deployment is left at ${toImage}`,
      ExitCode.KUBE,
      result,
      { hint: `Run \`kubectl rollout undo deployment/${dep.name} -n ${namespace}\` yourself; ${kubectlHint(words, access)}` },
    )
  }
  result.rolledBack = true
  step('rollback', 'ok', undo.stdout.trim() || 'kubectl rollout undo done')
  const back = await waitRollout(dep.name, access, o.rolloutTimeoutS)
  let state = ''
  try {
    const snap = await readCluster(o, o.timeoutMs)
    const d = snap.deployment
    state = d ? `the Deployment runs ${d.image} again, ${d.replicas.available}/${d.replicas.desired} available` : 'the Deployment can no longer be read'
  } catch (err) {
    state = `its state could not be read (${err instanceof PdsctlError ? err.message : String(err)})`
  }
  step('rollback-rollout', back.ok ? 'ok' : 'failed', `${back.detail}; ${state}`)
  throw new UpgradeFailedError(
    `the upgrade of ${dep.name} to ${toImage} failed at ${failure.step}: ${failure.why}; rolled back${back.ok ? '' : ' (but the rollback did not finish: ' + back.detail + ')'}: ${state}`,
    back.ok ? failure.exit : ExitCode.KUBE,
    result,
    { hint: `See why with \`pdsctl k8s status\` or \`kubectl describe deployment/${dep.name} -n ${namespace}\`` },
  )
}

async function waitRollout(name: string, access: KubectlAccess, timeoutS: number): Promise<{ ok: boolean; detail: string; kubectlBroke: boolean }> {
  // No --request-timeout here: it would cut kubectl's watch short.
  const run = await execKubectl(kubectlArgs(['rollout', 'status', `deployment/${name}`, `--timeout=${timeoutS}s`], access), access, timeoutS * 1000 + 15_000)
  const lastOut = run.stdout.trim().split('\n').filter(Boolean).at(-1) ?? ''
  if (run.code === 0 && !run.timedOut) return { ok: true, detail: lastOut || `deployment "${name}" successfully rolled out`, kubectlBroke: false }
  const words = kubectlWords(run, timeoutS * 1000 + 15_000)
  // "timed out waiting for the condition" is the rollout not finishing (the new pods never
  // became available): the upgrade failed, not kubectl. Anything else is kubectl's trouble.
  const timedOut = /timed out waiting for the condition|exceeded its progress deadline/.test(words)
  return { ok: false, detail: `${words}${lastOut ? ` (last: ${lastOut})` : ''}`, kubectlBroke: !timedOut }
}

async function probe(snap: ClusterSnapshot, base: PortForwardOptions, o: UpgradeOptions, image: string | undefined, listAccounts: boolean): Promise<Probe & { accounts?: { ok: boolean; firstPage: number | null; error: string | null } | null }> {
  // Forward to a Ready pod (of the new image, after the rollout), not the Service: the
  // check must reach the pod that runs what we deployed.
  const pod = readyPod(snap, image)
  if (!pod) {
    const seen = snap.pods.map((p) => `${p.name} ${p.image ?? '?'} ${p.phase}${p.ready ? '' : ' not ready'}`).join(', ') || 'none'
    return { ok: false, version: null, detail: `no Ready pod${image ? ` runs ${image}` : ''} (pods: ${seen})` }
  }
  const h = await probeThroughForward({ ...base, pod: pod.name }, o.timeoutMs, listAccounts, o.signal)
  if (!h.ok) return { ok: false, version: null, detail: `/xrpc/_health through pod/${pod.name} failed: ${h.error}`, accounts: h.accounts }
  return { ok: true, version: h.version, detail: `pod/${pod.name} (${pod.image}) answers /xrpc/_health in ${h.rttMs} ms, version ${h.version ?? 'not reported'}`, accounts: h.accounts }
}
