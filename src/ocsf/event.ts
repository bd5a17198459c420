// The shape of an OCSF event as Outrider builds it. Only the attributes every class shares are typed; class
// specific objects are plain JSON, checked by the mappers' tests and by the independent validator.
import { OCSF_VERSION } from './catalog.ts';

export interface OcsfProduct {
  name: string;
  vendor_name?: string;
  version?: string;
}

export interface OcsfMetadata {
  version: string;
  product: OcsfProduct;
  profiles?: string[];
  log_name?: string;
  log_provider?: string;
  log_source?: string;
  log_format?: string;
  original_time?: string;
  original_event_uid?: string;
  correlation_uid?: string;
  uid?: string;
  labels?: string[];
  is_truncated?: boolean;
  untruncated_size?: number;
  [key: string]: unknown;
}

export interface OcsfEvent {
  class_uid: number;
  category_uid: number;
  activity_id: number;
  type_uid: number;
  severity_id: number;
  time: number;
  metadata: OcsfMetadata;
  message?: string;
  raw_data?: string;
  unmapped?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface OcsfContainer {
  uid?: string;
  name?: string;
  image?: {
    uid: string;
    name?: string;
    tag?: string;
    labels?: string[];
    tags?: Array<{ name: string; value: string }>;
  };
  hash?: { algorithm_id: number; algorithm?: string; value: string };
  runtime?: string;
  orchestrator?: string;
  pod_uuid?: string;
  labels?: string[];
  tags?: Array<{ name: string; value: string }>;
}

/** The `metadata` object every Outrider event starts from. */
export function baseMetadata(product: OcsfProduct, logName: string): OcsfMetadata {
  return { version: OCSF_VERSION, product, log_name: logName };
}

/** Adds profiles to `metadata.profiles` once each (profiles gate attributes such as `device` and `container`). */
export function addProfiles(event: OcsfEvent, ...profiles: string[]): void {
  event.metadata.profiles ??= [];
  const list = event.metadata.profiles;
  for (const p of profiles) if (!list.includes(p)) list.push(p);
}
