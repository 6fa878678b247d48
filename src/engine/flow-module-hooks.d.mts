/** Registers the flow-module hooks (after tsx's); `batonUrl` is the URL of the Baton entry this process runs. */
export function registerFlowModuleHooks(batonUrl: string): void;
