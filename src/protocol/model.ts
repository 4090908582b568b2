/**
 * The shape tables generated from botocore's service-2.json (documentation stripped).
 * Types mirror the botocore model format one to one, so the generated tables need no
 * translation and a model patch is a plain JSON merge.
 */
export type ProtocolName =
  'json' | 'rest-json' | 'query' | 'ec2' | 'rest-xml' | 'smithy-rpc-v2-cbor';

export interface ServiceMetadata {
  apiVersion: string;
  endpointPrefix: string;
  protocol: ProtocolName;
  protocols?: ProtocolName[];
  jsonVersion?: string;
  targetPrefix?: string;
  signingName?: string;
  serviceId: string;
  globalEndpoint?: string;
  xmlNamespace?: string;
  timestampFormat?: TimestampFormat;
}

export type TimestampFormat = 'iso8601' | 'rfc822' | 'unixTimestamp';

export interface HttpBinding {
  method: string;
  requestUri: string;
  responseCode?: number;
}

export interface ShapeRef {
  shape: string;
  location?: 'header' | 'headers' | 'querystring' | 'uri' | 'statusCode';
  locationName?: string;
  queryName?: string;
  xmlNamespace?: { prefix?: string; uri: string };
  xmlAttribute?: boolean;
  flattened?: boolean;
  jsonvalue?: boolean;
  idempotencyToken?: boolean;
  hostLabel?: boolean;
  eventpayload?: boolean;
  timestampFormat?: TimestampFormat;
  deprecated?: boolean;
  streaming?: boolean;
}

export interface OperationModel {
  name: string;
  http: HttpBinding;
  input?: ShapeRef & { locationName?: string; xmlNamespace?: { uri: string } };
  output?: ShapeRef & { resultWrapper?: string };
  errors?: ShapeRef[];
  authtype?: string;
  endpoint?: { hostPrefix: string };
  httpChecksum?: Record<string, unknown>;
  /** The body may be compressed with these encodings (protocol/compression.ts). */
  requestcompression?: { encodings: string[] };
  deprecated?: boolean;
}

export type ShapeType =
  | 'structure'
  | 'list'
  | 'map'
  | 'string'
  | 'integer'
  | 'long'
  | 'float'
  | 'double'
  | 'boolean'
  | 'timestamp'
  | 'blob'
  | 'byte'
  | 'short'
  | 'bigInteger'
  | 'bigDecimal';

export interface Shape {
  type: ShapeType;
  members?: Record<string, ShapeRef>;
  required?: string[];
  payload?: string;
  member?: ShapeRef;
  key?: ShapeRef;
  value?: ShapeRef;
  flattened?: boolean;
  locationName?: string;
  enum?: string[];
  min?: number;
  max?: number;
  pattern?: string;
  sensitive?: boolean;
  streaming?: boolean;
  requiresLength?: boolean;
  timestampFormat?: TimestampFormat;
  exception?: boolean;
  fault?: boolean;
  error?: { code?: string; httpStatusCode?: number; senderFault?: boolean };
  event?: boolean;
  eventstream?: boolean;
  union?: boolean;
  document?: boolean;
  xmlNamespace?: { prefix?: string; uri: string };
  xmlOrder?: string[];
}

export interface ServiceModel {
  metadata: ServiceMetadata;
  operations: Record<string, OperationModel>;
  shapes: Record<string, Shape>;
  /** Stratus additions from codegen/patches/<svc>.json. */
  stratus?: {
    /** Error code AWS's front end uses for model-validation failures of this service. */
    validationErrorCode?: string;
  };
}
