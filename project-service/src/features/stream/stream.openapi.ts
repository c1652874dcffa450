import type { OpenApiPathItem } from '@hosting/shared';

/** The OpenAPI paths of the live stream feature, spread into openapi/document.ts. */
export const streamPaths: Record<string, OpenApiPathItem> = {};
