// undici, loaded lean: its index also loads fetch, WebSocket, caches and more (~125 ms
// of start-up); pdsctl needs only the Agent and the request API (~70 ms). Both are plain
// CommonJS modules of the pinned undici; the client tests exercise them on every run.
//
// undici's Client requires its HTTP/2 half (client-h2.js) up front, and that loads
// node:http2 (~7 ms of start-up) although a PDS is reached over HTTP/1.1 unless TLS
// negotiates h2. A stand-in takes its place in the module cache and loads the real module
// the first time a connection does negotiate h2 (test/lib/pds/http.test.ts checks both).
import { createRequire, Module } from 'node:module'
import type { Agent as UndiciAgent, Dispatcher } from 'undici'

const require = createRequire(import.meta.url)
const h2Path = require.resolve('undici/lib/dispatcher/client-h2.js')
if (!require.cache[h2Path]) {
  let real: ((...args: unknown[]) => unknown) | undefined
  const standIn = new Module(h2Path)
  standIn.filename = h2Path
  standIn.loaded = true
  standIn.exports = function connectH2(this: unknown, ...args: unknown[]) {
    if (!real) {
      delete require.cache[h2Path]
      real = require(h2Path) as (...args: unknown[]) => unknown
    }
    return real.apply(this, args)
  }
  require.cache[h2Path] = standIn
}

export const Agent = require('undici/lib/dispatcher/agent.js') as typeof UndiciAgent
export type { UndiciAgent, Dispatcher }

export const requestVia = require('undici/lib/api/api-request.js') as (
  this: Dispatcher,
  opts: Dispatcher.RequestOptions,
) => Promise<Dispatcher.ResponseData>

/** Whether node:http2 has been loaded into this process (for the test of the stand-in above). */
export const http2Loaded = (): boolean => ((process as unknown as { moduleLoadList?: string[] }).moduleLoadList ?? []).includes('NativeModule http2')
