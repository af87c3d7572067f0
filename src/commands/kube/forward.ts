// `kube forward` is the old name of `k8s forward` (one topic per concept: `k8s`). Kept,
// hidden from help and did-you-mean, so scripts that use it keep working.
import K8sForward from '../k8s/forward.js'

export default class KubeForward extends K8sForward {
  static override hidden = true
  static override summary = 'Old name of `k8s forward` (hidden; same flags and output)'
  static override examples = ['<%= config.bin %> k8s forward --kube-namespace bluesky --kube-service bluesky']
}
