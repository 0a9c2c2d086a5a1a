import { createHandler, defaultDeps } from './app.ts';

/** The Lambda entry point: dependencies are built once per cold start. */
export const handler = createHandler(defaultDeps());
