// Where pdsctl sends its requests: a base URL plus a way to let go of whatever was
// set up to reach it (a kubectl port-forward, for the Kubernetes target).

export interface Target {
  /** Base URL of the PDS, e.g. https://pds.example.com or http://127.0.0.1:41234 */
  readonly url: string
  /** Human description for status lines and errors ("https://pds.example.com", "svc/bluesky in namespace bluesky"). */
  readonly description: string
  /**
   * Called by the client when a connection to `url` failed. Returns true if the target
   * re-established itself (a new port-forward) so that an idempotent read may be retried
   * against the (possibly new) `url`; false if nothing can be done.
   */
  recover?(): Promise<boolean>
  /** False once whatever carries the connection (kubectl) has gone; absent for direct URLs. */
  alive?(): boolean
  /**
   * After a failed request: wait briefly for the carrier (kubectl) to exit and say why it
   * did (its last error line); undefined when it is still fine.
   */
  whyDropped?(): Promise<string | undefined>
  /** Release everything the target holds (stop kubectl). Safe to call twice. */
  dispose(): Promise<void>
}

export function directTarget(url: string): Target {
  return { url: url.replace(/\/+$/, ''), description: url.replace(/\/+$/, ''), dispose: async () => {} }
}
