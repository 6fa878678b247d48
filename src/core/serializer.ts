/**
 * The one serialiser for results, parameters and thread-pool arguments: devalue, which keeps
 * Date, Map, Set, BigInt, RegExp, URL, undefined, NaN, typed arrays, ArrayBuffer and cycles,
 * plus reducers here for Node Buffers and Errors. Values it cannot represent (functions, class
 * instances, symbols) raise a `SerializationError` that names where in the value they sit.
 */
import { parse, stringify } from "devalue";
import { SerializationError } from "./errors.ts";

export const SERIALIZER_NAME = "devalue/1";

const reducers = {
  Buffer: (value: unknown) => Buffer.isBuffer(value) && value.toString("base64"),
  Error: (value: unknown) =>
    value instanceof Error && { name: value.name, message: value.message, stack: value.stack ?? null },
};

const revivers = {
  Buffer: (value: string) => Buffer.from(value, "base64"),
  Error: (value: { name: string; message: string; stack: string | null }) => {
    const error = new Error(value.message);
    error.name = value.name;
    if (value.stack) error.stack = value.stack;
    return error;
  },
};

/** Serialises `value`; `what` names it in errors ("result of task fit"). */
export function serialize(value: unknown, what = "value"): string {
  try {
    return stringify(value, reducers);
  } catch (error) {
    const path = (error as { path?: string }).path;
    const where = path ? ` at ${path.startsWith(".") || path.startsWith("[") ? `value${path}` : path}` : "";
    throw new SerializationError(
      `${what} cannot be stored${where}: ${(error as Error).message}. Return plain data (objects, arrays, numbers, strings, Date, Map, Set, BigInt, typed arrays, Buffers), or set persistResult: false.`,
      { cause: error },
    );
  }
}

export function deserialize<T = unknown>(text: string): T {
  return parse(text, revivers) as T;
}
