export * from './postgres.js';
export * from './contract.js';
export * from './chaos-proxy.js';
export * from './identity-provider.js';
export * from './attack.js';
export * from './listen.js';
export * from './logs.js';
export * from './raw-http.js';
