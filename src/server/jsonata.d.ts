/**
 * The part of JSONata 2.x's API that webhook templates use (server/webhook-template.ts), in the
 * shape of the package's own jsonata.d.ts, until the `jsonata` package is a dependency: then
 * delete this file.
 */
declare module "jsonata" {
  function jsonata(text: string): jsonata.Expression;
  namespace jsonata {
    interface JsonataError extends Error {
      code: string;
      position: number;
      token: string;
    }
    interface Expression {
      evaluate(input: unknown, bindings?: Record<string, unknown>): Promise<unknown>;
    }
  }
  export = jsonata;
}
