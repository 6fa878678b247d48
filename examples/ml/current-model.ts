/**
 * Which model the score and monitor flows use when none is given: the version the registry's
 * `production` alias points to (the train flow promotes through its gate; an automation may
 * roll it back).
 */
import { BatonError, loadModel, ModelAliasNotFoundError, ModelNotFoundError } from "../../src/index.ts";
import type { WeatherModel } from "./weather.ts";

export const MODEL_NAME = "weather";

export class NoTrainedModelError extends BatonError {
  override name = "NoTrainedModelError";
}

export async function currentModel(): Promise<WeatherModel & { version: number }> {
  try {
    const loaded = await loadModel<WeatherModel>(MODEL_NAME, { alias: "production" });
    return { ...loaded.value, version: loaded.version };
  } catch (error) {
    if (error instanceof ModelAliasNotFoundError || error instanceof ModelNotFoundError)
      throw new NoTrainedModelError(`no ${MODEL_NAME} model is in production: run \`npm run example\` (or the train deployment) first, or pass the model as a parameter`);
    throw error;
  }
}
