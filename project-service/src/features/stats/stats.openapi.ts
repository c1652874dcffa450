import type { OpenApiPathItem } from '@hosting/shared';

/** The OpenAPI paths of the statistics feature, spread into openapi/document.ts. */
export const statsPaths: Record<string, OpenApiPathItem> = {};
