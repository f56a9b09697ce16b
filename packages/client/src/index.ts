/** The Drover API client (see README). */
export const CLIENT_PACKAGE = '@drover/client';
