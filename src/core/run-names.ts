/** Friendly run names ("amber-heron"): easier to say and remember than a UUID. */
const ADJECTIVES = [
  "amber", "brave", "calm", "clever", "cosmic", "crimson", "daring", "eager", "fuzzy", "gentle", "golden", "happy",
  "icy", "jolly", "keen", "lively", "lucky", "mellow", "nimble", "olive", "proud", "quiet", "rapid", "silver",
  "steady", "swift", "tidy", "vivid", "witty", "zesty",
] as const;
const ANIMALS = [
  "badger", "beaver", "bison", "crane", "dingo", "eagle", "falcon", "ferret", "gecko", "heron", "ibis", "jackal",
  "koala", "lemur", "lynx", "marten", "narwhal", "ocelot", "otter", "panda", "puffin", "quokka", "raven", "salmon",
  "tapir", "toucan", "urchin", "walrus", "yak", "zebra",
] as const;

export function randomRunName(random: () => number = Math.random): string {
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  return `${pick(ADJECTIVES)}-${pick(ANIMALS)}`;
}
