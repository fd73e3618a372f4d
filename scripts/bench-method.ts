// How much `npm run bench` measures: the sizes and how many times each contender runs. One
// place for bench.ts and for the test that holds docs/benchmarks.md's method to it.
export const BENCH_METHOD = {
  /** Filler of the two netinst-sized stand-ins, in MB. */
  smallMb: 300,
  largeMb: 650,
  /** Rounds at the larger size (each: the floor, a warm and a cold build); `--rounds` overrides it. */
  rounds: 5,
  /** Rounds at the smaller size, for the memory figures. */
  smallRounds: 3,
  /** Extract-and-rebuild runs, at the larger size only. */
  rebuilds: 3,
  /** Boots through each entry; `--boot-rounds` overrides it. */
  bootRounds: 3,
} as const;
