// `pdsctl relay fix-desync --kube-*`: the steps of the desync fix for a PDS in Kubernetes,
// with the operator's own names filled in (read with one `kubectl get`, as `k8s status`
// does): scale the Deployment to 0 and wait for its pod to go, run the fix in a one-off pod
// of the PDS's own image with the PVC mounted, scale back. pdsctl prints them and runs none:
// stopping a production PDS is the operator's call, and their kubectl, their access.
//
// The one-off pod runs `node -e FIX` in the PDS image: node and the PDS's own better-sqlite3
// are there (no sqlite3 binary is). FIX does what `pdsctl relay fix-desync --data-dir` does
// on a host: refuse when the database is locked, copy sequencer.sqlite aside (0600, a new
// file), raise the repo_seq counter above the relay's seq, say what it did.
import { KubeError } from '../errors.js'
import { pdsContainer, readCluster, type ClusterTarget } from './status.js'

export interface KubeDesyncPlan {
  namespace: string
  deployment: string
  /** The replicas to scale back to. */
  replicas: number
  image: string
  /** The PersistentVolumeClaim that holds the data directory, and where the PDS mounts it. */
  claim: string
  mountPath: string
  /** The data directory inside the pod (PDS_DATA_DIRECTORY, else the mount path). */
  dataDir: string
  toSeq: number
  /** In order; `command` is a shell line (a comment when there is nothing to run). */
  steps: Array<{ what: string; command: string }>
}

type Obj = Record<string, any>
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {})
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter((x) => x && typeof x === 'object') : [])
const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null)

/**
 * The script run by the one-off pod (no single quote in it: it travels inside a
 * single-quoted shell word). DATA_DIR and TO_SEQ come from the pod's environment.
 */
export const POD_FIX_SCRIPT = [
  'const fs = require("node:fs"), path = require("node:path");',
  'const { createRequire } = require("node:module");',
  'const Database = createRequire(require.resolve("@atproto/pds"))("better-sqlite3");',
  'const dir = process.env.DATA_DIR, n = Number(process.env.TO_SEQ);',
  'const file = path.join(dir, "sequencer.sqlite");',
  'const st = fs.lstatSync(file);',
  'if (!st.isFile()) throw new Error(file + " is not a regular file");',
  'const db = new Database(file, { fileMustExist: true, timeout: 0 });',
  'db.pragma("locking_mode = EXCLUSIVE");',
  'try { db.exec("BEGIN EXCLUSIVE"); } catch (e) { console.error(file + " is in use (" + e.message + "): is the PDS still running?"); process.exit(1); }',
  'const counter = Number((db.prepare("SELECT seq FROM sqlite_sequence WHERE name = ?").get("repo_seq") || {}).seq || 0);',
  'const newest = Number(db.prepare("SELECT max(seq) AS m FROM repo_seq").get().m || 0);',
  'db.exec("COMMIT");',
  'const before = Math.max(counter, newest);',
  'if (before > n) { console.log("the sequence is at " + before + ", already above " + n + ": nothing changed"); process.exit(0); }',
  'const copy = file + ".before-fix-desync-" + new Date().toISOString().replace(/[-:]/g, "").replace(/[.][0-9]+Z$/, "Z");',
  'fs.closeSync(fs.openSync(copy, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600));',
  'db.backup(copy).then(() => {',
  '  db.exec("BEGIN IMMEDIATE");',
  '  const u = db.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = ?").run(n + 1, "repo_seq");',
  '  if (u.changes === 0) db.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)").run("repo_seq", n + 1);',
  '  db.exec("COMMIT");',
  '  db.close();',
  '  console.log("copied " + file + " to " + copy + "; the sequence was " + before + ", now " + (n + 1) + ": the next event will be " + (n + 2));',
  '}).catch((e) => { console.error("nothing changed: " + e.message); process.exit(1); });',
].join('\n')

/** A word the shell takes as it is. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`
}

export async function kubeDesyncPlan(
  t: ClusterTarget,
  toSeq: number,
  opts: { dataDir?: string; bin?: string; timeoutMs?: number; hostname?: string; kubeSecret?: string } = {},
): Promise<KubeDesyncPlan> {
  const bin = opts.bin ?? 'pdsctl'
  const snap = await readCluster(t, opts.timeoutMs)
  const d = snap.rawDeployment
  if (!d || !snap.deployment) {
    throw new KubeError(`no Deployment${t.deployment ?? t.service ? ` ${t.deployment ?? t.service}` : ''} found in namespace ${snap.namespace}`, {
      hint: 'Pass --kube-deployment NAME (`kubectl get deployments`)',
    })
  }
  const name = snap.deployment.name
  const podSpec = obj(obj(obj(d.spec).template).spec)
  const container = pdsContainer(obj(obj(d.spec).template))
  const image = str(container?.image)
  if (!container || !image) throw new KubeError(`Deployment ${name} has no container with an image`)
  const envDir = arr(container.env).find((e) => e.name === 'PDS_DATA_DIRECTORY')
  const claims = new Map(arr(podSpec.volumes).filter((v) => str(obj(v.persistentVolumeClaim).claimName)).map((v) => [String(v.name), String(obj(v.persistentVolumeClaim).claimName)]))
  const mounts = arr(container.volumeMounts).filter((m) => claims.has(String(m.name)) && str(m.mountPath))
  if (!mounts.length) throw new KubeError(`the PDS container of Deployment ${name} mounts no PersistentVolumeClaim`, { hint: 'Its data directory must be on one for the fix to last' })
  let dataDir = opts.dataDir ?? str(envDir?.value)
  if (!dataDir) {
    if (mounts.length > 1) {
      throw new KubeError(`Deployment ${name} mounts ${mounts.length} claims and sets no literal PDS_DATA_DIRECTORY`, { hint: 'Pass --data-dir with the data directory inside the pod (e.g. /pds)' })
    }
    dataDir = String(mounts[0].mountPath)
  }
  const within = (m: Obj) => {
    const mp = String(m.mountPath).replace(/\/+$/, '')
    return dataDir === mp || dataDir!.startsWith(mp + '/')
  }
  const mount = mounts.filter(within).sort((a, b) => String(b.mountPath).length - String(a.mountPath).length)[0]
  if (!mount) {
    throw new KubeError(`the data directory ${dataDir} is not on a PersistentVolumeClaim mounted in the PDS container (claims mounted at ${mounts.map((m) => m.mountPath).join(', ')})`, {
      hint: 'Pass --data-dir with the data directory inside the pod',
    })
  }
  const claim = claims.get(String(mount.name))!
  const mountPath = String(mount.mountPath)
  const replicas = snap.deployment.replicas.desired || 1
  const ns = snap.namespace
  const k = (args: string) => `kubectl${t.context ? ` --context ${shellWord(t.context)}` : ''} --namespace ${shellWord(ns)} ${args}`
  const pod = `${name}`.slice(0, 50).replace(/-+$/, '') + '-fix-desync'
  // The pod as the PDS's own (same user, node constraints, pull secrets), running the fix.
  const overrides = {
    apiVersion: 'v1',
    spec: {
      restartPolicy: 'Never',
      ...pick(podSpec, ['securityContext', 'nodeSelector', 'tolerations', 'affinity', 'imagePullSecrets', 'serviceAccountName']),
      containers: [
        {
          name: pod,
          image,
          stdin: true,
          stdinOnce: true,
          command: ['node', '-e', POD_FIX_SCRIPT],
          env: [
            { name: 'DATA_DIR', value: dataDir },
            { name: 'TO_SEQ', value: String(toSeq) },
          ],
          volumeMounts: [{ name: 'data', mountPath }],
          ...pick(container, ['securityContext', 'workingDir']),
        },
      ],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }],
    },
  }
  const selector = snap.deployment.selector
  const host = opts.hostname ? shellWord(opts.hostname) : 'YOUR.PDS.HOSTNAME'
  const kubeFlags = [
    `--kube-namespace ${shellWord(ns)}`,
    t.service ? `--kube-service ${shellWord(t.service)}` : t.pod ? '' : `--kube-service ${shellWord(name)}`,
    t.context ? `--kube-context ${shellWord(t.context)}` : '',
    opts.kubeSecret ? `--kube-secret ${shellWord(opts.kubeSecret)}` : '',
  ]
    .filter(Boolean)
    .join(' ')
  const steps: KubeDesyncPlan['steps'] = [
    { what: `Stop the PDS: scale Deployment ${name} to 0`, command: k(`scale deployment/${shellWord(name)} --replicas=0`) },
    selector
      ? { what: 'Wait until its pod is gone (the volume is free)', command: k(`wait --for=delete pod --selector ${shellWord(selector)} --timeout=180s`) }
      : { what: 'Wait until its pod is gone (the volume is free)', command: `# kubectl --namespace ${ns} get pods  (until the PDS's pod is gone)` },
    {
      what: `Raise the sequence above ${toSeq} in a one-off pod of the PDS's image (${image}) with claim ${claim} at ${mountPath}; it copies ${dataDir}/sequencer.sqlite aside first`,
      command: k(`run ${shellWord(pod)} --rm --stdin --restart=Never --image=${shellWord(image)} --override-type=strategic --overrides=${shellWord(JSON.stringify(overrides))}`),
    },
    { what: `Start the PDS again: scale Deployment ${name} back to ${replicas}`, command: k(`scale deployment/${shellWord(name)} --replicas=${replicas}`) },
    { what: 'Wait until it is up', command: k(`rollout status deployment/${shellWord(name)} --timeout=300s`) },
    {
      what: `Make one event so the PDS's sequence passes ${toSeq}: a post by any account, or the doctor's firehose check (one account event that changes nothing; it needs the admin password)`,
      command: `${bin} doctor ${kubeFlags} --public-url https://${host}`,
    },
    { what: 'Ask the relays to crawl the PDS again, and confirm (the relay\'s seq below the PDS\'s)', command: `${bin} request-crawl --hostname ${host} && ${bin} relay status --hostname ${host} ${kubeFlags}` },
  ]
  return { namespace: ns, deployment: name, replicas, image, claim, mountPath, dataDir, toSeq, steps }
}

function pick(o: Obj, keys: string[]): Obj {
  const out: Obj = {}
  for (const key of keys) if (o[key] !== undefined && o[key] !== null) out[key] = o[key]
  return out
}
