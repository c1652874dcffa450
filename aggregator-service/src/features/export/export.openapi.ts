import type { OpenApiPathItem } from '@hosting/shared';

/** The OpenAPI paths of the export, spread into openapi/document.ts. */
export const exportPaths: Record<string, OpenApiPathItem> = {};
