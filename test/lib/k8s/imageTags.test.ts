// The official image's tags ↔ the @atproto/pds version each carries (imageTags.ts), with
// the odd tags an operator's Deployment may hold.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { compareVersions, describeVersion, imageTagInfo, imageTagOf, KNOWN_PDS_IMAGE, parseImageRef, parseImageTag, pdsVersionOfReport } from '../../../src/lib/k8s/imageTags.js'
import { DEFAULT_IMAGE_TAG, PDS_IMAGE } from '../../../src/lib/k8s/manifests.js'
import { KNOWN_PDS_IMAGE as UPGRADE_KNOWN } from '../../../src/lib/k8s/upgrade.js'

describe('image tags and PDS versions', () => {
  test('release tags: 0.4.NNN is the 0.4 line, 0.4.MNNN is 0.M.NNN (the distro\'s ver()), both reported as the tag', () => {
    const cases: Array<[string, string]> = [
      ['0.4.219', '0.4.219'],
      ['0.4.0', '0.4.0'],
      ['0.4.999', '0.4.999'],
      ['0.4.5001', '0.5.1'],
      ['0.4.5006', '0.5.6'],
      ['0.4.5026', '0.5.26'],
      ['0.4.5100', '0.5.100'],
      ['0.4.6003', '0.6.3'],
      ['0.4.4219', '0.4.219'],
      ['1.0.0', '1.0.0'],
      ['2.3.14', '2.3.14'],
    ]
    for (const [tag, version] of cases) {
      const t = parseImageTag(tag)
      assert.equal(t.kind, 'release', tag)
      assert.equal(t.pdsVersion, version, tag)
      assert.equal(t.reports, tag, `${tag}: the image reports its tag on /xrpc/_health`)
    }
    assert.match(parseImageTag('0.4.5026').why, /0\.5 line, published under a 0\.4 tag/)
    assert.match(parseImageTag('0.4.219').why, /0\.4 line/)
  })

  test('and back: the tag that carries a version (what the image then reports)', () => {
    const cases: Array<[string, string | null]> = [
      ['0.4.219', '0.4.219'],
      ['0.5.26', '0.4.5026'],
      ['0.5.6', '0.4.5006'],
      ['0.5.1', '0.4.5001'],
      ['0.5.100', '0.4.5100'],
      ['0.6.3', '0.4.6003'],
      ['1.0.0', '1.0.0'],
      ['0.0.5', '0.0.5'],
      ['0.5.1234', null],
      ['latest', null],
      ['0.5', null],
    ]
    for (const [version, tag] of cases) assert.equal(imageTagOf(version), tag, version)
    for (const v of ['0.4.219', '0.5.26', '0.5.999', '0.6.3', '1.0.0']) assert.equal(parseImageTag(imageTagOf(v)!).pdsVersion, v, `${v} round-trips`)
  })

  test('odd tags: floating, builds, pre-releases, home-made, empty', () => {
    for (const floating of ['0.4', 'latest', '0.5', '1.0']) {
      const t = parseImageTag(floating)
      assert.equal(t.kind, 'floating', floating)
      assert.equal(t.pdsVersion, null)
      assert.equal(t.reports, null)
    }
    assert.match(parseImageTag('0.4').why, /moves to each new release/)
    assert.match(parseImageTag('latest').why, /`latest` moves/)
    const sha = parseImageTag('sha-0123456789abcdef0123456789abcdef01234567')
    assert.deepEqual([sha.kind, sha.pdsVersion], ['build', null])
    assert.match(sha.why, /a build of one commit/)
    for (const odd of ['0.4.5026-rc1', 'v0.4.219', '0.4.0219', '0.5.26', '0.3.1', '0.4.219.1', 'main', 'stable', '04.219', '']) {
      const t = parseImageTag(odd)
      assert.equal(t.kind, 'unknown', odd)
      assert.equal(t.pdsVersion, null, odd)
      assert.equal(t.reports, null, odd)
    }
    assert.match(parseImageTag('0.4.5026-rc1').why, /not a release tag the PDS repository publishes/)
  })

  test('image references: repository, tag and digest, with registry ports', () => {
    const cases: Array<[string, string, string | null, string | null]> = [
      ['ghcr.io/bluesky-social/pds:0.4.219', 'ghcr.io/bluesky-social/pds', '0.4.219', null],
      ['ghcr.io/bluesky-social/pds', 'ghcr.io/bluesky-social/pds', null, null],
      ['registry.local:5000/pds:0.4', 'registry.local:5000/pds', '0.4', null],
      ['registry.local:5000/pds', 'registry.local:5000/pds', null, null],
      ['ghcr.io/bluesky-social/pds:0.4.5026@sha256:abcd', 'ghcr.io/bluesky-social/pds', '0.4.5026', 'sha256:abcd'],
      ['ghcr.io/bluesky-social/pds@sha256:abcd', 'ghcr.io/bluesky-social/pds', null, 'sha256:abcd'],
    ]
    for (const [image, repository, tag, digest] of cases) assert.deepEqual(parseImageRef(image), { repository, tag, digest }, image)
    // A digest alone says nothing of the version; a tag beside a digest is read as the tag.
    const digestOnly = imageTagInfo('ghcr.io/bluesky-social/pds@sha256:abcd')
    assert.deepEqual([digestOnly.kind, digestOnly.pdsVersion, digestOnly.digest], ['unknown', null, 'sha256:abcd'])
    assert.match(digestOnly.why, /pinned by digest/)
    const both = imageTagInfo('ghcr.io/bluesky-social/pds:0.4.5026@sha256:abcd')
    assert.deepEqual([both.kind, both.pdsVersion, both.digest], ['release', '0.5.26', 'sha256:abcd'])
    assert.equal(imageTagInfo('ghcr.io/bluesky-social/pds').why, 'the image has no tag')
  })

  test('what /xrpc/_health reports, read as a PDS version: the image\'s tag form, or a plain version', () => {
    assert.equal(pdsVersionOfReport('0.4.5026'), '0.5.26')
    assert.equal(pdsVersionOfReport('0.4.219'), '0.4.219')
    assert.equal(pdsVersionOfReport('0.5.35'), '0.5.35', 'a PDS run from npm reports its package version')
    assert.equal(pdsVersionOfReport('1.2.3'), '1.2.3')
    for (const junk of ['', 'dev', '0.4', 'latest', '0.5.26-rc1', '0.4.526-rc1']) assert.equal(pdsVersionOfReport(junk), null, junk)
  })

  test('versions compare as numbers, never as strings', () => {
    assert.equal(compareVersions('0.4.219', '0.5.26'), -1)
    assert.equal(compareVersions('0.5.26', '0.4.219'), 1)
    assert.equal(compareVersions('0.5.6', '0.5.26'), -1, '"0.5.6" > "0.5.26" as strings')
    assert.equal(compareVersions('0.4.99', '0.4.219'), -1)
    assert.equal(compareVersions('0.5.26', '0.5.26'), 0)
    assert.equal(compareVersions('1.0.0', '0.5.999'), 1)
    // The tags themselves would mislead: "0.4.219" > "0.4.2" and 0.4.5026 (0.5.26) vs 0.4.219.
    assert.equal(compareVersions(parseImageTag('0.4.5026').pdsVersion!, parseImageTag('0.4.219').pdsVersion!), 1)
  })

  test('describing a version names the tag when it differs', () => {
    assert.equal(describeVersion('0.5.26', '0.4.5026'), 'PDS 0.5.26 (tag 0.4.5026)')
    assert.equal(describeVersion('0.4.219', '0.4.219'), 'PDS 0.4.219')
    assert.equal(describeVersion(null, 'latest'), 'tag latest (PDS version unknown)')
    assert.equal(describeVersion(null, null), 'an unknown PDS version')
  })

  test('the known newest image: one constant for k8s upgrade and k8s manifests, with its date and source', () => {
    assert.equal(UPGRADE_KNOWN, KNOWN_PDS_IMAGE)
    assert.equal(DEFAULT_IMAGE_TAG, KNOWN_PDS_IMAGE.tag)
    assert.equal(PDS_IMAGE, KNOWN_PDS_IMAGE.repository)
    assert.equal(KNOWN_PDS_IMAGE.repository, 'ghcr.io/bluesky-social/pds')
    const t = parseImageTag(KNOWN_PDS_IMAGE.tag)
    assert.equal(t.kind, 'release')
    assert.equal(t.pdsVersion, KNOWN_PDS_IMAGE.pdsVersion)
    assert.equal(imageTagOf(KNOWN_PDS_IMAGE.pdsVersion), KNOWN_PDS_IMAGE.tag)
    assert.match(KNOWN_PDS_IMAGE.recorded, /^\d{4}-\d{2}-\d{2}$/)
    assert.match(KNOWN_PDS_IMAGE.source, /bluesky-social\/pds/)
  })
})
