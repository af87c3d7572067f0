/** The Node release inside the single executable (scripts/build-binary.mjs). */
export const SEA_NODE_VERSION: string
