import { SESv2Client } from '@aws-sdk/client-sesv2';

/** Built once per process. */
export const ses = new SESv2Client({});
