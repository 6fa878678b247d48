/** The smallest Baton pipeline: `npx baton run examples/hello.ts --param 'names=["Ada","Grace"]'`. */
import { flow, getRunLogger, task } from "../src/index.ts";

const greet = task(async function greet(name: string) {
  getRunLogger().info("greeting %s", name);
  return `Hello, ${name}!`;
}, { retries: 2 });

const shout = task(async function shout(greetings: string[]) {
  return greetings.map((g) => g.toUpperCase());
});

export const hello = flow(async function hello(params: { names?: string[] }) {
  const greetings = greet.map(params.names ?? ["world"]);
  return shout(greetings);
});
