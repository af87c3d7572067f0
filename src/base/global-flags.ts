// The flags every command shares: output (BaseCommand) and where the PDS is and who we
// are (PdsCommand). In a module of their own, loading no more than flags.ts, so that
// bin/run.js can read them to move flags given before the command words after them
// (`pdsctl --kube-namespace ns account list`, src/lib/cli/argv.ts) without loading the
// base command: the base command's own definitions, not a list kept by hand beside them.
import * as Flags from './flags.js'

export const OUTPUT_FLAGS = {
  json: Flags.boolean({ description: 'Print the result as JSON (shape documented in the README).', helpGroup: 'OUTPUT' }),
  debug: Flags.boolean({ description: 'Log requests (never secrets) and show stack traces.', helpGroup: 'OUTPUT' }),
  'no-input': Flags.boolean({ description: 'Never prompt; fail naming the missing flag instead.', helpGroup: 'OUTPUT' }),
}

export const CONNECTION_FLAGS = {
  url: Flags.string({ description: 'PDS URL (env PDS_URL; falls back to PDS_HOST, then https://$PDS_HOSTNAME).', helpGroup: 'CONNECTION' }),
  'env-file': Flags.string({ description: 'Read settings from a pds.env (as data, never executed) (env PDS_ENV_FILE).', helpGroup: 'CONNECTION' }),
  'admin-password-stdin': Flags.boolean({ description: 'Read the admin password from stdin (else PDS_ADMIN_PASSWORD, the env file, or a prompt).', helpGroup: 'CONNECTION' }),
  'allow-insecure-http': Flags.boolean({ description: 'Allow plain http:// to a non-loopback host (sends the admin password unencrypted).', helpGroup: 'CONNECTION' }),
  timeout: Flags.integer({ description: 'Deadline of each request in seconds, from start to last byte.', default: 30, helpGroup: 'CONNECTION' }),
  'max-response-mb': Flags.integer({ description: 'Largest answer accepted from a server, in MiB [default: 32].', min: 1, helpGroup: 'CONNECTION' }),
  context: Flags.string({ description: 'Use a saved context (env PDSCTL_CONTEXT); see `pdsctl context`.', helpGroup: 'CONNECTION' }),
  'kube-namespace': Flags.string({ description: 'Reach the PDS in this Kubernetes namespace through kubectl port-forward.', helpGroup: 'KUBERNETES' }),
  'kube-service': Flags.string({ description: 'The Service that runs the PDS.', helpGroup: 'KUBERNETES' }),
  'kube-pod': Flags.string({ description: 'The Pod that runs the PDS (instead of a Service).', helpGroup: 'KUBERNETES' }),
  'kube-port': Flags.integer({ description: 'The PDS port on the Service or Pod [default: 3000].', helpGroup: 'KUBERNETES' }),
  'kube-context': Flags.string({ description: 'The kubeconfig context (KUBECONFIG is honoured).', helpGroup: 'KUBERNETES' }),
  'kube-secret': Flags.string({ description: 'Read the admin password from this Secret: NAME[:KEY] (key default adminPassword).', helpGroup: 'KUBERNETES' }),
  'kube-timeout': Flags.integer({ description: 'Seconds to wait for the port-forward and a Running pod [default: 30].', min: 1, helpGroup: 'KUBERNETES' }),
  kube: Flags.boolean({ description: 'Reach the PDS in Kubernetes (the context\'s namespace unless --kube-namespace), finding what is not named: the Service by the PDS\'s labels, the admin password in the Secret its Deployment reads.', helpGroup: 'KUBERNETES' }),
  kubectl: Flags.string({ description: 'Path to kubectl (env PDSCTL_KUBECTL).', helpGroup: 'KUBERNETES' }),
}
