/** Finds the module that called into the SDK, so a task knows where it was defined. */
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const SDK_DIR = path.dirname(fileURLToPath(import.meta.url));

/** The file URL of the first stack frame outside Baton's SDK, or null. */
export function callerModuleUrl(): string | null {
  const original = Error.prepareStackTrace;
  try {
    Error.prepareStackTrace = (_error, frames) => frames;
    const holder: { stack?: NodeJS.CallSite[] } = {};
    Error.captureStackTrace(holder, callerModuleUrl);
    for (const frame of holder.stack ?? []) {
      const file = frame.getFileName();
      if (!file || file.startsWith("node:")) continue;
      const filePath = file.startsWith("file:") ? fileURLToPath(file) : file;
      if (path.dirname(filePath) === SDK_DIR) continue;
      return file.startsWith("file:") ? file : pathToFileURL(file).href;
    }
    return null;
  } finally {
    Error.prepareStackTrace = original;
  }
}
