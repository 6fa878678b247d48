/** Whether `root`'s (a file: URL ending in /) dist/ was stamped after every file under its src/ last changed. */
export function buildIsCurrent(root: URL): boolean;
