// Libraries only some components need (the HTTP client, the OTLP encoders, the Docker API client) are loaded when a
// component first uses them: a sidecar whose config writes a file does not carry an HTTP stack in memory.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** A getter that loads the package on its first call. */
export function lazyModule<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => {
    loaded ??= require(name) as T;
    return loaded;
  };
}
