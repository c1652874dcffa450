/**
 * The one error model of both services. Every error a client may see is an AppError: it carries
 * the HTTP status, the contract's stable `name`, and a message that is safe to show. Anything
 * else that escapes a handler is a bug and becomes a 500 with a generic message.
 */

export interface FieldIssue {
  /** Where the problem is, e.g. `body.status`, `query.page`, `[3].payload.projectId`. */
  path: string;
  message: string;
}

export class AppError extends Error {
  readonly status: number;
  readonly expose = true;
  readonly issues: FieldIssue[] | undefined;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    name: string,
    message: string,
    options: { issues?: FieldIssue[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.status = status;
    this.name = name;
    this.issues = options.issues;
    this.headers = options.headers ?? {};
  }
}

export class ValidationError extends AppError {
  constructor(message: string, issues: FieldIssue[] = []) {
    super(400, 'ValidationError', message, { issues });
  }
}

/** A request that is well-formed but not allowed in the current state (the contract's 400 for cancel). */
export class BadRequestError extends AppError {
  constructor(message: string) {
    super(400, 'BadRequestError', message);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'Missing or invalid credentials') {
    super(401, 'UnauthorizedError', message, { headers: { 'WWW-Authenticate': 'Bearer' } });
  }
}

export class NotFoundError extends AppError {
  constructor(message: string) {
    super(404, 'NotFoundError', message);
  }
}

export class ConflictError extends AppError {
  constructor(message: string) {
    super(409, 'ConflictError', message);
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(message: string, retryAfterSeconds = 5, cause?: unknown) {
    super(503, 'ServiceUnavailableError', message, {
      headers: { 'Retry-After': String(retryAfterSeconds) },
      cause,
    });
  }
}

/** Stable names for statuses raised by Koa and its middleware (http-errors), so every body has a contract `name`. */
export const NAME_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'BadRequestError',
  401: 'UnauthorizedError',
  403: 'ForbiddenError',
  404: 'NotFoundError',
  405: 'MethodNotAllowedError',
  406: 'NotAcceptableError',
  409: 'ConflictError',
  413: 'PayloadTooLargeError',
  415: 'UnsupportedMediaTypeError',
  422: 'UnprocessableEntityError',
  429: 'TooManyRequestsError',
  500: 'InternalServerError',
  501: 'NotImplementedError',
  503: 'ServiceUnavailableError',
};
