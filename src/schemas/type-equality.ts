/**
 * `true` when two types are the same, else `false`. `export const X_MATCHES_CORE: Equal<A, B> = true`
 * beside a schema makes the compiler refuse a schema that drifts from the domain type it
 * describes (the types of src/core stay plain TypeScript: core depends on nothing).
 */
export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
