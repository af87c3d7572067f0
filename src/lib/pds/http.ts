// undici, loaded lean: its index also loads fetch, WebSocket, caches and more (~125 ms
// of start-up); pdsctl needs only the Agent and the request API (~70 ms). Both are plain
// CommonJS modules of the pinned undici; the client tests exercise them on every run.
import { createRequire } from 'node:module'
import type { Agent as UndiciAgent, Dispatcher } from 'undici'

const require = createRequire(import.meta.url)
export const Agent = require('undici/lib/dispatcher/agent.js') as typeof UndiciAgent
export type { UndiciAgent, Dispatcher }

export const requestVia = require('undici/lib/api/api-request.js') as (
  this: Dispatcher,
  opts: Dispatcher.RequestOptions,
) => Promise<Dispatcher.ResponseData>
