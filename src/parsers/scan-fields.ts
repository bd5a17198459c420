// Defensive readers of scanner JSON shared by the Trivy and Grype parsers: wrong types are skipped (undefined or
// empty), long texts and lists cut, dates accepted only when plausible.
import { parseImageReference } from '../enrich/docker-inspect.ts';
import type { ScannedImage, ScanSeverity } from './scan-reports.ts';

const MAX_TEXT = 8192;
const MAX_LIST = 64;
/** Most references kept per finding. */
const MAX_REFERENCES = 32;
const SHA256 = /^sha256:[0-9a-f]{64}$/;
/** An archive path given to the scanner (`trivy image --input x.tar`) is no image reference. */
const ARCHIVE = /\.(?:tar|tar\.gz|tgz|tar\.zst)$/;

export type Obj = Record<string, unknown>;

export function obj(v: unknown): Obj | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
}

export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** A non-empty string, cut at `max` characters. */
export function text(v: unknown, max = MAX_TEXT): string | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  return v.length > max ? `${v.slice(0, max)}…` : v;
}

/** The strings of a list, at most `max` of them, each cut. */
export function texts(v: unknown, max = MAX_LIST): string[] {
  const out: string[] = [];
  for (const item of arr(v)) {
    const s = text(item, 2048);
    if (s !== undefined && !out.includes(s)) out.push(s);
    if (out.length >= max) break;
  }
  return out;
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** RFC 3339 → epoch ms, only for plausible dates (Grype writes 0001-01-01 for "none"). */
export function time(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const ms = Date.parse(v);
  return Number.isFinite(ms) && ms >= 1e11 && ms < 1e13 ? ms : undefined;
}

export function severityWord(v: unknown): ScanSeverity {
  const s = typeof v === 'string' ? v.toLowerCase() : '';
  return s === 'negligible' || s === 'low' || s === 'medium' || s === 'high' || s === 'critical' ? s : 'unknown';
}

/** The package-manager type of a purl (`pkg:apk/alpine/musl@1.2` → `apk`). */
export function purlType(purl: string | undefined): string | undefined {
  if (!purl?.startsWith('pkg:')) return undefined;
  const slash = purl.indexOf('/', 4);
  return slash > 4 ? purl.slice(4, slash).toLowerCase() : undefined;
}

/** A purl qualifier (`?arch=x86_64&distro=…`). */
export function purlQualifier(purl: string | undefined, key: string): string | undefined {
  const q = purl?.indexOf('?') ?? -1;
  if (!purl || q < 0) return undefined;
  for (const pair of purl.slice(q + 1).split('&')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq) === key) {
      try {
        return decodeURIComponent(pair.slice(eq + 1));
      } catch {
        return pair.slice(eq + 1);
      }
    }
  }
  return undefined;
}

/** Operating-system package types (everything else is an application dependency). */
export const OS_PACKAGE_TYPES = new Set(['apk', 'deb', 'dpkg', 'rpm', 'alpm', 'portage', 'nix']);

/** `CVSS:3.1/AV:N/…` → `3.1`. */
export function versionOfVector(vector: string | undefined): string | undefined {
  if (!vector?.startsWith('CVSS:')) return undefined;
  const slash = vector.indexOf('/');
  return slash > 5 ? vector.slice(5, slash) : undefined;
}

/** URLs from one or more places of a record, each once, at most MAX_REFERENCES. */
export function references(...lists: unknown[][]): string[] {
  const out: string[] = [];
  for (const list of lists)
    for (const url of texts(list, MAX_REFERENCES)) {
      if (out.length >= MAX_REFERENCES) return out;
      if (!out.includes(url)) out.push(url);
    }
  return out;
}

/**
 * The image a report names: its id and manifest digest (kept when they are sha256 digests), its `name@sha256:…`
 * repo digests, and repository and tag from the first of `names` that is an image reference (not a path or archive).
 */
export function scannedImage(f: { id: unknown; manifestDigest?: unknown; repoDigests: unknown; names: unknown[] }) {
  const repoDigests = texts(f.repoDigests, 16).filter((d) => d.includes('@sha256:'));
  const named = [...texts(f.names, 16), ...repoDigests].find(
    (r) => !r.startsWith('/') && !ARCHIVE.test(r) && r.includes(':'),
  );
  const ref = named ? parseImageReference(named) : {};
  const image: ScannedImage = { repoDigests };
  const id = text(f.id, 80);
  if (id && SHA256.test(id)) image.id = id;
  const manifest = text(f.manifestDigest, 80);
  if (manifest && SHA256.test(manifest)) image.manifestDigest = manifest;
  if (ref.name) image.name = ref.name;
  if (ref.tag) image.tag = ref.tag;
  return image;
}
