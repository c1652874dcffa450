import { z } from 'zod';
import { errorResponse, type ApiResponse } from '@hosting/shared';
import type { ZodOpenApiRequestBodyObject } from 'zod-openapi';
import { noInputBody } from '../features/deployments/deployments.schema.js';

/** Pieces of project-service's route tables that several features share. */

/** The headers of a page of a list (http/pagination.ts writes them). */
export const pageHeaders = {
  Link: z.string().meta({
    description: 'The pagination links: `first`, `prev previous` (not on page 1), `next` (not on the last page), `last`.',
    examples: [
      '<http://localhost:3000/projects?page=1>; rel="first", <http://localhost:3000/projects?page=1>; rel="prev previous", <http://localhost:3000/projects?page=3>; rel="next", <http://localhost:3000/projects?page=3>; rel="last"',
    ],
    header: { id: 'Link' },
  }),
  'X-Total-Count': z
    .int()
    .min(0)
    .meta({ description: 'How many items all pages hold together.', header: { id: 'X-Total-Count' } }),
};

/** The body of an operation that takes no input. */
export const emptyRequestBody: ZodOpenApiRequestBodyObject = {
  id: 'Empty',
  required: false,
  description: 'Nothing, or `{}`: this operation takes no input, and any field is refused with a 400 naming it.',
  content: { 'application/json': { schema: noInputBody } },
};

/** The 404 of an operator route for a user's token: the same answer as a route that does not exist. */
export function operatorsOnly(path: string): ApiResponse {
  return errorResponse("A user's token (JWT mode): operators only, answered as an unknown route (`NotFoundError`).", {
    status: 404,
    message: `No route for GET ${path}`,
  });
}
