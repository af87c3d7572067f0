// Cases that still fail because a fix elsewhere has not landed yet. Each is a real
// assertion, run as `todo` so the run stays green while the gap is visible; the summary
// line says when one starts passing (then delete it here). Never add a case here to hide
// a failure of this branch's own code.
const both = (id: string, why: string): Array<[string, string]> => [
  [id, why],
  [`${id} --json`, why],
]

export const EXPECTED_GAPS = new Map<string, string>([
])
