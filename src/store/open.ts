/** Opens (and migrates) the store a database URL names. */
import { openKysely, type OpenOptions } from "./dialect.ts";
import { KyselyStore } from "./kysely-store.ts";
import { StoreOpenError } from "../core/errors.ts";

export async function openStore(url: string, options: OpenOptions & { migrate?: boolean } = {}): Promise<KyselyStore> {
  const opened = await openKysely(url, options);
  const { location } = opened;
  const store = new KyselyStore(opened.db, opened.dialect, location, opened);
  if (options.migrate !== false) {
    try {
      await store.migrate();
    } catch (error) {
      await store.close().catch(() => undefined);
      if (error instanceof StoreOpenError) throw error;
      throw new StoreOpenError(location, (error as Error).message, { cause: error });
    }
  }
  return store;
}
