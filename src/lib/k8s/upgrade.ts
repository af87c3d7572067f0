// `pdsctl k8s upgrade`: the `pdsadmin update` of Kubernetes. Reads the running Deployment,
// sets the new image on it (`kubectl set image`: a patch of the live object, the operator's
// manifests are never touched), waits for `kubectl rollout status`, then checks the new pod
// through its own port-forward (/xrpc/_health with the new version where the PDS reports
// one, else the pod's image; sync.listRepos limit 1). Any failure after the patch is rolled
// back with `kubectl rollout undo`, waited for, and described step by step.
import { KubeError, PdsctlError, UsageError, ExitCode, type ExitCodeValue } from '../errors.js'
import { execKubectl, kubectlArgs, kubectlHint, kubectlOk, kubectlWords, type KubectlAccess } from './kubectl.js'
import type { PortForwardOptions } from './portForward.js'
import { probeThroughForward, readCluster, readyPod, type ClusterSnapshot, type ClusterTarget } from './status.js'

/**
 * The newest official PDS image pdsctl knows of, kept as data. Source: the project's notes
 * on the official image (pds-admin-api.md: "0.4.219 in the official image of spring 2026"),
 * the same tag `k8s manifests` pins; the bluesky-social/pds repository snapshot readable on
 * 2026-11-28 showed service/package.json at @atproto/pds 0.4.169 (older), so 0.4.219 stays.
 * Update this (and its date) when a newer image is published.
 */
export const KNOWN_PDS_IMAGE = {
  repository: 'ghcr.io/bluesky-social/pds',
  tag: '0.4.219',
  recorded: '2026-11-28',
  source: 'the official image of spring 2026 (bluesky-social/pds; pdsctl notes on the PDS admin surface)',
} as const

export type StepStatus = 'ok' | 'failed' | 'skipped' | 'planned' | 'warning'
export interface UpgradeStep {
  step: string
  status: StepStatus
  detail: string
}

/** The documented `k8s upgrade --json` shape. */
export interface UpgradeResult {
  deployment: string
  namespace: string
  from: { image: string; version: string | null }
  to: { image: string; version: string | null }
  steps: UpgradeStep[]
  rolledBack: boolean
  dryRun: boolean
  /** Where the new tag came from: the flag, or pdsctl's known newest tag (with why). */
  tagSource: { tag: string; from: 'flag' | 'known'; why: string }
}

/** The upgrade failed; the result (with its steps) has been printed as the command's output. */
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
  if (!IMAGE_TAG.test(tag)) throw new UsageError(`--image-tag "${tag}" is not an image tag`, { hint: 'A tag is letters, digits, \'_\', \'.\' and \'-\' (at most 128), e.g. 0.4.219' })
}

/** repository of an image reference, without tag or digest: ghcr.io/bluesky-social/pds:0.4@sha256:… → ghcr.io/bluesky-social/pds */
export function imageRepository(image: string): string {
  const noDigest = image.split('@')[0]
  const slash = noDigest.lastIndexOf('/')
  const colon = noDigest.lastIndexOf(':')
  return colon > slash ? noDigest.slice(0, colon) : noDigest
}

/** The tag of an image reference (null for none or a digest only). */
export function imageTag(image: string): string | null {
  const noDigest = image.split('@')[0]
  const slash = noDigest.lastIndexOf('/')
  const colon = noDigest.lastIndexOf(':')
  return colon > slash ? noDigest.slice(colon + 1) : null
}

/** Does the version the PDS reports belong to the tag? null: cannot tell (a tag like `latest`). */
export function versionMatchesTag(version: string, tag: string): boolean | null {
  const t = tag.replace(/^v/, '')
  if (!/^\d+(\.\d+){0,2}$/.test(t)) return null
  return version === t || version.startsWith(`${t}.`)
}

export interface UpgradeOptions extends ClusterTarget {
  /** The PDS port on the Service (3000). */
  port: number
  imageTag?: string
  /** Without imageTag: go ahead with KNOWN_PDS_IMAGE (the operator said --yes); else only the plan. */
  useKnownTag?: boolean
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
  /** Runs the backup (--backup DIR) before the patch; returns what to record. */
  backup?: () => Promise<string>
}

/** What the PDS said and which pod it was, before or after. */
interface Probe {
  version: string | null
  detail: string
  ok: boolean
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
  const fromTag = imageTag(fromImage)
  step('read-deployment', 'ok', `Deployment ${dep.name} in ${namespace}: container ${dep.container} runs ${fromImage}; ${dep.replicas.available}/${dep.replicas.desired} available`)

  const tagSource: UpgradeResult['tagSource'] = o.imageTag
    ? { tag: o.imageTag, from: 'flag', why: 'given with --image-tag' }
    : { tag: KNOWN_PDS_IMAGE.tag, from: 'known', why: `the newest official PDS image tag pdsctl knows of (${KNOWN_PDS_IMAGE.repository}:${KNOWN_PDS_IMAGE.tag}, recorded ${KNOWN_PDS_IMAGE.recorded}; ${KNOWN_PDS_IMAGE.source})` }
  const toImage = `${imageRepository(fromImage)}:${tagSource.tag}`
  const result: UpgradeResult = {
    deployment: dep.name,
    namespace,
    from: { image: fromImage, version: null },
    to: { image: toImage, version: tagSource.tag },
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

  // 2. What the PDS reports now (0.4.x from npm reports nothing: then the tag is the version).
  const pre = await probe(before, fwdBase, o, undefined, false)
  result.from.version = pre.version ?? fromTag
  step('health-before', pre.ok ? 'ok' : 'warning', pre.ok ? pre.detail : `${pre.detail}; the upgrade can still go on`)

  if (toImage === fromImage) {
    step('set-image', 'skipped', `${dep.name} already runs ${toImage}`)
    return result
  }
  const plan = [
    ['set-image', `kubectl set image deployment/${dep.name} ${dep.container}=${toImage} (a patch of the running Deployment; your manifests are not changed: update them too)`],
    ['rollout', `kubectl rollout status deployment/${dep.name} --timeout=${o.rolloutTimeoutS}s`],
    ['health-after', `/xrpc/_health through a port-forward to a new pod: version ${tagSource.tag} where the PDS reports one, else the pod's image`],
    ['list-accounts', 'com.atproto.sync.listRepos limit=1 answers'],
    ['rollback-if-failed', `kubectl rollout undo deployment/${dep.name}, then wait for it`],
  ] as const
  if (o.dryRun || (o.imageTag === undefined && !o.useKnownTag)) {
    for (const [s, d] of plan) step(s, 'planned', d)
    return result
  }

  await hooks.confirm(result)
  if (hooks.backup) {
    try {
      step('backup', 'ok', await hooks.backup())
    } catch (err) {
      step('backup', 'failed', err instanceof PdsctlError ? err.message : String(err))
      throw new UpgradeFailedError(`the backup failed, so nothing was changed: ${err instanceof PdsctlError ? err.message : String(err)}`, err instanceof PdsctlError ? err.exitCode : ExitCode.SERVER, result)
    }
  }

  // 3. The patch.
  try {
    const out = await kubectlOk(`kubectl set image deployment/${dep.name}`, ['set', 'image', `deployment/${dep.name}`, `${dep.container}=${toImage}`], access, o.timeoutMs)
    step('set-image', 'ok', out.trim() || `image set to ${toImage}`)
  } catch (err) {
    if (!(err instanceof KubeError)) throw err
    step('set-image', 'failed', err.message)
    throw new UpgradeFailedError(`${err.message}; nothing was changed`, ExitCode.KUBE, result, { hint: err.hint })
  }

  // 4. The rollout, then the checks; any failure from here on is rolled back.
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
      const match = post.version ? versionMatchesTag(post.version, tagSource.tag) : null
      if (match === false) {
        const why = `the PDS reports version ${post.version}, not ${tagSource.tag}`
        step('health-after', 'failed', `${post.detail}; ${why}`)
        failure = { step: 'health-after', why, exit: ExitCode.SERVER }
      } else {
        result.to.version = post.version ?? tagSource.tag
        step('health-after', 'ok', `${post.detail}${post.version ? '' : `; the PDS reports no version, and the pod runs ${toImage}`}`)
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

  // 5. Roll back and say where things stand.
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
