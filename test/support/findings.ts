// Scan findings in tests on real engines: the shared Trivy report of debian-buster (one critical, one low finding)
// made the report of a locally imported test image, and how the findings joined to containers are read back.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OcsfEvent } from '../../src/ocsf/event.ts';
import { CORPORA } from './output.ts';

const REPORT = readFileSync(join(CORPORA, 'scan-reports', 'trivy-debian-buster.json'), 'utf8');
const REPORT_IMAGE = 'sha256:c2c03a296d2329a4f3ab72a7bf38b78a8a80108204d326b0139d6af700e152d1';
const REPORT_REFERENCE = /ghcr\.io\/aquasecurity\/trivy-test-images:debian-buster/g;

/** The shared report, about `image` instead (its id, and its repo digests when given: the CRI knows an image by
 * one), as the parsed document. */
// biome-ignore lint/suspicious/noExplicitAny: tests edit the report's JSON freely.
export function trivyReportOf(image: string, imageId: string, repoDigests?: string[]): Record<string, any> {
  const doc = JSON.parse(REPORT.replaceAll(REPORT_IMAGE, imageId).replace(REPORT_REFERENCE, image));
  if (repoDigests) doc.Metadata.RepoDigests = repoDigests;
  return doc;
}

export interface FindingResource {
  type: string;
  uid: string;
  name?: string;
  hostname?: string;
  namespace?: string;
  tags?: Array<{ name: string; value: string }>;
}

export const resourcesOf = (e: OcsfEvent) => (e.resources as FindingResource[] | undefined) ?? [];
export const containersOf = (e: OcsfEvent) => resourcesOf(e).filter((r) => r.type === 'container');
export const titleOf = (e: OcsfEvent) => (e.finding_info as { title?: string } | undefined)?.title ?? '';
