// The official PDS image's tags and the @atproto/pds version each carries, both ways. The
// 0.5 line is published under 0.4.50NN tags, so a tag is not a version: every comparison
// of versions (k8s upgrade never downgrades) goes through this module.
//
// Facts, each read from the bluesky-social/pds repository (recorded 2026-12-01):
// - Tags come from git tags: .github/workflows/build-and-push-ghcr.yaml (commit
//   d023aa873c27668f1f22c980505c5de917088386, main of 2026-05-12) runs docker/metadata-action
//   with `type=semver,pattern={{version}}`, `type=semver,pattern={{major}}.{{minor}}` and
//   `type=sha,format=long`; PUBLISH.md (same commit): "The Docker image will be tagged as
//   `latest`, `0.4.999`, and `0.4`. Our self-hosters generally use the `0.4` tag";
//   compose.yaml (same commit): `ghcr.io/bluesky-social/pds:0.4`. So `0.4` and `latest`
//   float; `sha-<40 hex>` names a build of one commit.
// - The 0.4 line: tag 0.4.NNN carries @atproto/pds 0.4.NNN (commit
//   c5099a7a0c633cc89c8677176d9c9ccfc92bd885, git tag v0.4.219, 2026-04-15: service/package.json
//   "@atproto/pds": "0.4.219"), and its service/index.js sets `env.version ||= pkg.version`:
//   /xrpc/_health reports 0.4.NNN. The Dockerfile (last readable at d023aa8) sets no
//   PDS_VERSION (only PDS_PORT, NODE_ENV, UV_USE_IO_URING).
// - The 0.5 line: service/index.ts (commit e6603c45458ebc25b1d08c037202d49be4d7d838, whose
//   service/package.json pins "@atproto/pds": "0.5.26": PR #364 "Update PDS to 0.5.26") keeps
//   `DISTRO_VER = '0.4'` ("matches docker tag used in compose file, may deviate from
//   @atproto/pds version") and sets `env.version ||= ver(DISTRO_VER, pkg.version)`, where
//   ver('0.4', '0.5.1') is '0.4.5001': the minor, then the patch padded to three digits; a
//   version whose major is not 0, or whose minor is 0, is left as it is. So tag 0.4.5026
//   carries @atproto/pds 0.5.26, and its /xrpc/_health reports the tag, 0.4.5026, not 0.5.26
//   (unless PDS_VERSION is set in the pod's environment: readEnv reads it, and `||=` keeps
//   it). PR #352 (merged 2026-06): "we're still doing the faked 0.4.x thing with the tagged
//   images ... to avoid people needing to do a minor version upgrade for Watchtower"; PR #353
//   (open, 2026-06-22): "the new 0.5.6 release of @atproto/pds is tagged as 0.4.5006",
//   proposing `:latest` in the compose file instead.
// - Later lines follow the same rule until the distro changes it: 0.6.3 would be 0.4.6003,
//   1.0.0 would be 1.0.0. A pre-release (0.4.5026-rc1) is no tag form the repository shows,
//   and ver() would not round-trip it ('0.5.26-rc1' becomes '0.4.526-rc1'): its version is
//   unknown.

/**
 * The newest official image pdsctl can verify from the repository's files (PR #364,
 * commit e6603c45458ebc25b1d08c037202d49be4d7d838: service/package.json pins @atproto/pds
 * 0.5.26, published as 0.4.5026 by service/index.ts). `k8s upgrade` offers it and `k8s manifests` pins it. Update the tag,
 * the version, the date and the source together when a newer release is verified.
 */
export const KNOWN_PDS_IMAGE = {
  repository: 'ghcr.io/bluesky-social/pds',
  tag: '0.4.5026',
  pdsVersion: '0.5.26',
  recorded: '2026-12-01',
  source: 'bluesky-social/pds PR #364, commit e6603c4: service/package.json pins @atproto/pds 0.5.26, published as 0.4.5026 by service/index.ts',
} as const

export type TagKind = 'release' | 'floating' | 'build' | 'unknown'

export interface TagInfo {
  tag: string
  /**
   * release: the tag names one @atproto/pds version; floating: it moves to each new release
   * (`0.4`, `latest`); build: a build of one commit (`sha-…`); unknown: no form the
   * repository shows (a pre-release, a home-made tag).
   */
  kind: TagKind
  /** The @atproto/pds version the tag carries; null unless kind is release. */
  pdsVersion: string | null
  /** What /xrpc/_health of such an image reports (the tag itself, for a release); null when it cannot be told. */
  reports: string | null
  /** Why, in words (for messages). */
  why: string
}

/** An image reference taken apart: registry/repository, tag, digest. */
export interface ImageRef {
  repository: string
  tag: string | null
  /** `sha256:…` when the reference pins a digest: then the digest, not the tag, decides what runs. */
  digest: string | null
}

const NUM = '(0|[1-9]\\d*)'
const DISTRO_TAG = new RegExp(`^0\\.4\\.${NUM}$`)
const PLAIN_VERSION = new RegExp(`^${NUM}\\.${NUM}\\.${NUM}$`)

/** ghcr.io/bluesky-social/pds:0.4@sha256:… → {repository: ghcr.io/bluesky-social/pds, tag: 0.4, digest: sha256:…} */
export function parseImageRef(image: string): ImageRef {
  const at = image.indexOf('@')
  const name = at === -1 ? image : image.slice(0, at)
  const digest = at === -1 ? null : image.slice(at + 1) || null
  const slash = name.lastIndexOf('/')
  const colon = name.lastIndexOf(':')
  // A colon before the last slash is a registry's port (localhost:5000/pds), not a tag.
  return colon > slash ? { repository: name.slice(0, colon), tag: name.slice(colon + 1) || null, digest } : { repository: name, tag: null, digest }
}

/** 0.4.NNN → 0.4.NNN; 0.4.PNNN (P ≥ 1) → 0.P.NNN, the distro's encoding (service/index.ts ver()). */
function decodeDistroVersion(s: string): string | null {
  const m = DISTRO_TAG.exec(s)
  if (!m) return null
  const n = Number(m[1])
  return n < 1000 ? `0.4.${n}` : `0.${Math.floor(n / 1000)}.${n % 1000}`
}

/** What an image tag carries. */
export function parseImageTag(tag: string): TagInfo {
  const distro = decodeDistroVersion(tag)
  if (distro) {
    const line = distro.startsWith('0.4.') ? 'the 0.4 line, tagged with its own version' : `the ${distro.split('.').slice(0, 2).join('.')} line, published under a 0.4 tag (0.4.MNNN is 0.M.NNN)`
    return { tag, kind: 'release', pdsVersion: distro, reports: tag, why: line }
  }
  const plain = PLAIN_VERSION.exec(tag)
  if (plain && plain[1] !== '0') return { tag, kind: 'release', pdsVersion: tag, reports: tag, why: 'a release tagged with its own version' }
  if (tag === 'latest') return { tag, kind: 'floating', pdsVersion: null, reports: null, why: '`latest` moves to each new release' }
  if (new RegExp(`^${NUM}\\.${NUM}$`).test(tag)) return { tag, kind: 'floating', pdsVersion: null, reports: null, why: `\`${tag}\` moves to each new release of its line (the compose file's \`0.4\` now carries the 0.5 line)` }
  if (/^sha-[0-9a-f]{7,40}$/.test(tag)) return { tag, kind: 'build', pdsVersion: null, reports: null, why: `\`${tag}\` is a build of one commit: its PDS version is not in the tag` }
  return { tag, kind: 'unknown', pdsVersion: null, reports: null, why: `\`${tag}\` is not a release tag the PDS repository publishes (0.4.NNN, 0.4.50NN), so its PDS version cannot be told` }
}

/** The tag of an image reference, read as parseImageTag does (a digest-only reference is unknown). */
export function imageTagInfo(image: string): TagInfo & { digest: string | null } {
  const ref = parseImageRef(image)
  if (!ref.tag) return { tag: '', kind: 'unknown', pdsVersion: null, reports: null, why: ref.digest ? 'the image is pinned by digest: its PDS version is not in the reference' : 'the image has no tag', digest: ref.digest }
  return { ...parseImageTag(ref.tag), digest: ref.digest }
}

/** The official tag of an @atproto/pds version: 0.4.219 → 0.4.219, 0.5.26 → 0.4.5026, 1.2.3 → 1.2.3; null when not a version. */
export function imageTagOf(pdsVersion: string): string | null {
  const m = PLAIN_VERSION.exec(pdsVersion)
  if (!m) return null
  const [, major, minor, patch] = m
  if (major !== '0' || minor === '0' || minor === '4') return pdsVersion
  // ver(): minor then the patch padded to three digits; a patch past 999 would not round-trip.
  if (patch.length > 3) return null
  return `0.4.${minor}${patch.padStart(3, '0')}`
}

/**
 * The @atproto/pds version a /xrpc/_health answer means: an official image reports its tag
 * (0.4.5026 is 0.5.26); a PDS run from npm reports its package's version (0.5.35); null
 * when the answer is not a version at all.
 */
export function pdsVersionOfReport(reported: string): string | null {
  return decodeDistroVersion(reported) ?? (PLAIN_VERSION.test(reported) ? reported : null)
}

/** Numeric order of two x.y.z versions: -1, 0 or 1. */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < 3; i++) {
    if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) < (pb[i] ?? 0) ? -1 : 1
  }
  return 0
}

/** "PDS 0.5.26 (tag 0.4.5026)", "PDS 0.4.219", or the tag alone when its version is unknown. */
export function describeVersion(pdsVersion: string | null, tag: string | null): string {
  if (!pdsVersion) return tag ? `tag ${tag} (PDS version unknown)` : 'an unknown PDS version'
  return tag && tag !== pdsVersion ? `PDS ${pdsVersion} (tag ${tag})` : `PDS ${pdsVersion}`
}
